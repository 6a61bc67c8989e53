"""The RBAC checks' engines the steps call (issue 18): the attempts asked from the feature's table, and the
tenant admin's delegated role, without a cluster (its verdicts: test_rbac_delegation_verdicts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.matrix import Cell
from checks.rbac.attempts import attempt_questions, table_rows
from checks.rbac.delegation import delegated_role
from checks.rbac.discovery import ApiResource
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.tenancy import AuthorizationMode, Tenant
from provisioning.tenancy import ProvisionedCluster

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "watch", "create", "delete"))
BINDINGS = ApiResource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, ("list", "create"))
HANDLE = ClusterHandle("pks-shared", "pks", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "lab")
CLUSTER = ProvisionedCluster(HANDLE, (Tenant("blue", "small"), Tenant("green", "small")))


def test_table_rows_are_stripped_and_keyed_by_the_header() -> None:
    rows = table_rows([[" attempt ", "action"], [" the provider's limit range ", " delete "]])
    assert rows == [{"attempt": "the provider's limit range", "action": "delete"}]
    with pytest.raises(ValueError, match=r"shorter|longer"):
        table_rows([["attempt", "action"], ["only one cell"]])


def test_every_identity_makes_every_attempt_against_the_other_tenant_after_the_controls() -> None:
    rows = [
        {"attempt": "bind cluster-admin in its namespace"},
        {"attempt": "the provider's limit range", "action": "delete"},
    ]
    questions = attempt_questions(CLUSTER, [PODS], rows)
    identities = [i for t in CLUSTER.tenants for i in CLUSTER.identities_of(t)]
    controls, attempts = questions[: len(identities)], questions[len(identities) :]
    assert {q.scope for q in controls} == {"control"}
    assert all(q.expected is Cell.ALLOWED for q in controls)
    assert len(attempts) == len(identities) * len(rows)
    assert all(q.expected is Cell.DENIED and q.scope == "attempt" for q in attempts)
    assert [q.probe.column for q in attempts[:2]] == [
        "bind cluster-admin in its namespace",
        "delete the provider's limit range",
    ]
    blue_delete = attempts[1].probe
    assert blue_delete.method == "DELETE"
    assert "/namespaces/tenant-blue/limitranges/" in blue_delete.path


def test_an_unknown_attempt_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        attempt_questions(CLUSTER, [PODS], [{"attempt": "become root"}])


def test_the_delegated_role_grants_one_verb_to_the_developers_groups() -> None:
    role, binding = delegated_role(
        "caas-delegated-list-rolebindings",
        "tenant-blue",
        {"run": "r"},
        BINDINGS.group,
        "rolebindings",
        "list",
        ["g1", "g2"],
    )
    assert role["rules"] == [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["list"]}
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert [s["name"] for s in binding["subjects"]] == ["g1", "g2"]
    assert (
        role["metadata"]
        == binding["metadata"]
        == {
            "name": "caas-delegated-list-rolebindings",
            "namespace": "tenant-blue",
            "labels": {"run": "r"},
        }
    )
