"""Tenants' service accounts as identities of the access matrix (checks/rbac/service_accounts.py and
checks/rbac/matrix.py's service_account_questions): the names and groups the API server gives them
(kubernetes.io, "Service account tokens"), the builder account a tenant binds to `view` in its own
namespace, the probes every account is asked and what the model requires of them: the builder reads its
own namespace (the positive control), nothing else is open to any account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checks.matrix import Cell
from checks.rbac import matrix as rbac
from checks.rbac import service_accounts as sa
from checks.rbac.discovery import ApiResource
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle
from provisioning.kube import client as kube
from provisioning.model.tenancy import AuthorizationMode, Placement, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

BLUE = Tenant("blue", "small", Placement.SHARED)
GREEN = Tenant("green", "medium", Placement.SHARED)
PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "create"))
SECRETS = ApiResource("", "v1", "secrets", "Secret", True, ("get", "list"))
NODES = ApiResource("", "v1", "nodes", "Node", False, ("list",))
SSAR = ApiResource(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ("create",)
)
RESOURCES = [PODS, SECRETS, NODES, SSAR]


def test_a_service_account_is_named_and_grouped_as_the_api_server_does() -> None:
    account = sa.ServiceAccount("blue", "tenant-blue", "caas-builder")
    assert account.user == "system:serviceaccount:tenant-blue:caas-builder"
    assert account.groups == ("system:serviceaccounts", "system:serviceaccounts:tenant-blue")


def test_every_tenant_has_its_default_and_its_builder_account() -> None:
    assert [a.user for a in sa.service_accounts([BLUE, GREEN])] == [
        "system:serviceaccount:tenant-blue:default",
        "system:serviceaccount:tenant-blue:caas-builder",
        "system:serviceaccount:tenant-green:default",
        "system:serviceaccount:tenant-green:caas-builder",
    ]


def test_the_tenant_binds_its_builder_to_view_in_its_own_namespace_only() -> None:
    account, binding = sa.tenant_grants(BLUE, "run-1")
    assert (account["kind"], account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "ServiceAccount",
        "caas-builder",
        "tenant-blue",
    )
    assert account["metadata"]["labels"]["caas-conformance.io/run-id"] == "run-1"
    assert binding["kind"] == "RoleBinding", "a ClusterRoleBinding would open every namespace"
    assert binding["metadata"]["namespace"] == "tenant-blue"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "caas-builder", "namespace": "tenant-blue"}]


def test_an_account_is_asked_every_verb_everywhere_and_the_relabel_of_its_namespace() -> None:
    account = sa.ServiceAccount("blue", "tenant-blue", "default")
    probes = sa.account_probes(account, RESOURCES, ["tenant-blue", "tenant-green", "kube-system"])
    columns = [p.column for p in probes]
    assert len(probes) == 3 * (3 + 2) + 1 + 1
    assert "kube-system: list secrets" in columns
    assert "(cluster): list nodes" in columns
    assert not [c for c in columns if "selfsubjectaccessreviews" in c], "self reviews are no boundary"
    relabel = probes[-1]
    assert relabel.column == "relabel its own namespace"
    assert (relabel.method, relabel.path, relabel.query) == (
        "PATCH",
        "/api/v1/namespaces/tenant-blue",
        {"dryRun": "All"},
    )
    assert relabel.attributes == {
        "verb": "patch",
        "group": "",
        "resource": "namespaces",
        "namespace": "tenant-blue",
        "name": "tenant-blue",
    }
    assert {p.user for p in probes} == {p.row for p in probes} == {account.user}


def test_a_token_is_asked_of_the_token_request_api_for_the_shortest_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, Any]] = []

    def request(_api: Any, method: str, path: str, body: Any = None) -> Any:
        sent.append((method, path, body))
        return {"status": {"token": "eyJ.fake"}}

    monkeypatch.setattr(kube, "request", request)
    token = sa.request_token(object(), sa.ServiceAccount("blue", "tenant-blue", "caas-builder"))
    assert token == "eyJ.fake"
    [(method, path, body)] = sent
    assert (method, path) == ("POST", "/api/v1/namespaces/tenant-blue/serviceaccounts/caas-builder/token")
    assert body["kind"] == "TokenRequest"
    assert body["spec"]["expirationSeconds"] == sa.TOKEN_SECONDS == 600


def test_extra_identities_give_the_observer_each_accounts_maker_and_groups() -> None:
    accounts = sa.service_accounts([BLUE])

    def maker() -> object:
        return object()

    extra = sa.extra_identities({a.user: maker for a in accounts}, accounts)
    assert set(extra) == {a.user for a in accounts}
    assert extra[accounts[0].user] == (maker, accounts[0].groups)


def test_the_model_requires_the_builder_to_read_its_own_namespace_and_nothing_else_to_be_open() -> None:
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab"
    )
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    cluster = ProvisionedCluster(handle, model.tenants["pks"][:2])
    tenancy.clusters.append(cluster)
    accounts = sa.service_accounts(cluster.tenants)
    questions = rbac.service_account_questions(tenancy, cluster, RESOURCES, ["kube-system"], accounts)
    assert {q.scope for q in questions} == {"serviceaccount"}
    allowed = {(q.probe.row, q.probe.column) for q in questions if q.expected is Cell.ALLOWED}
    builder = "system:serviceaccount:tenant-blue:caas-builder"
    green_builder = "system:serviceaccount:tenant-green:caas-builder"
    assert allowed == {
        (builder, "tenant-blue: get pods"),
        (builder, "tenant-blue: list pods"),
        (green_builder, "tenant-green: get pods"),
        (green_builder, "tenant-green: list pods"),
    }, "view reads pods (not secrets, never creates) in its own namespace; the default accounts get nothing"
