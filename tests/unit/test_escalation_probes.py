"""The escalation attempts and attempts on the provider's objects (checks/rbac/escalation.py), as the
features name them: each is one real request, dry-run wherever the API allows it (a refused attempt must
leave nothing behind, and so must one a broken product lets through), with the review attributes of the
same request (Kubernetes' RequestInfo: a namespace's own requests are attributed to that namespace).

The provider's objects are the ones onboarding creates (provisioning/model/onboarding.py).
"""

from __future__ import annotations

import pytest

from checks.rbac.access import ABSENT, Probe
from checks.rbac.escalation import ESCALATIONS, PROVIDER_OBJECTS, Context, change_provider_object
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.tenancy import Authenticator, Placement, Tenant
from tests.support import ROOT

FEATURES = ROOT / "features"
BLUE = Tenant("blue", "small", Placement.SHARED)
GREEN = Tenant("green", "medium", Placement.SHARED)
ADMIN = BLUE.identities_for((Authenticator.CERTIFICATE,))[0]
OIDC_ADMIN = BLUE.identities_for((Authenticator.OIDC,))[0]
CONTEXT = Context(ADMIN, BLUE, GREEN)


def feature_rows(path: str) -> list[list[str]]:
    lines = [line.strip() for line in (FEATURES / path).read_text().splitlines()]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    return rows[1:]


def every_attempt() -> list[tuple[str, Probe]]:
    made = [(attempt, build(CONTEXT, attempt)) for attempt, build in ESCALATIONS.items()]
    made += [
        (f"{action} {what}", change_provider_object(CONTEXT, what, action))
        for what in PROVIDER_OBJECTS
        for action in ("change", "delete")
    ]
    return made


def test_every_escalation_the_feature_names_has_its_probe_and_no_other() -> None:
    assert [row[0] for row in feature_rows("rbac/escalation.feature")] == list(ESCALATIONS)


@pytest.mark.parametrize("feature", ["rbac/provider_objects.feature", "rbac/cluster_scope.feature"])
def test_every_provider_object_the_features_name_has_its_probe(feature: str) -> None:
    for what, action in feature_rows(feature):
        assert what in PROVIDER_OBJECTS
        assert action in ("change", "delete")


def test_the_provider_objects_are_the_ones_onboarding_creates() -> None:
    model = load_targets(DEFAULT_TARGETS).model
    product = model.product("pks")
    tenant = model.tenants["pks"][0]
    made = {(m["kind"], m["metadata"]["name"]) for m in tenant_manifests(tenant, product.plan(tenant.plan), "run-1")}
    kinds = {
        "rolebindings": "RoleBinding",
        "networkpolicies": "NetworkPolicy",
        "resourcequotas": "ResourceQuota",
        "limitranges": "LimitRange",
        "namespaces": "Namespace",
    }
    for collection, name, _group in PROVIDER_OBJECTS.values():
        kind = kinds[collection.rsplit("/", 1)[1]]
        assert (kind, name.format(ns=tenant.namespace)) in made


@pytest.mark.parametrize(("column", "probe"), every_attempt(), ids=[c for c, _ in every_attempt()])
def test_every_attempt_that_writes_is_a_dry_run(column: str, probe: Probe) -> None:
    assert probe.user == probe.row == "blue-admin"
    if probe.method == "GET":
        return
    if probe.attributes.get("subresource") == "exec":
        assert probe.attributes["name"] == ABSENT, "exec cannot be a dry run: it aims at a pod that does not exist"
        return
    assert probe.query.get("dryRun") == "All", f"{column}: {probe.method} {probe.path} without dryRun"


@pytest.mark.parametrize(("column", "probe"), every_attempt(), ids=[c for c, _ in every_attempt()])
def test_the_review_attributes_are_those_of_the_request_sent(column: str, probe: Probe) -> None:
    attributes = probe.attributes
    if attributes["namespace"]:
        assert f"/namespaces/{attributes['namespace']}" in probe.path, column
    if attributes["verb"] in ("impersonate", "bind"):
        # the request reads pods or nodes, or creates a binding; the review asks the right the API server
        # checks on top (impersonate users/groups/..., bind the role referenced)
        return
    assert f"/{attributes['resource']}" in probe.path, column
    if attributes.get("subresource"):
        assert f"/{attributes['subresource']}" in probe.path, column
    assert not attributes.get("name") or attributes["name"] in probe.path, column
    expected_method = {"create": "POST", "escalate": "POST", "update": "PUT", "patch": "PATCH"}
    expected_method |= {"delete": "DELETE", "get": "GET"}
    assert probe.method == expected_method[attributes["verb"]], column


def test_cluster_admin_is_bound_to_the_identitys_own_members_group_as_the_api_server_names_it() -> None:
    probe = ESCALATIONS["bind cluster-admin in its namespace"](CONTEXT, "c")
    assert probe.body is not None
    assert probe.body["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "blue:members"}
    ]
    assert probe.body["roleRef"]["name"] == "cluster-admin"
    assert probe.path == "/apis/rbac.authorization.k8s.io/v1/namespaces/tenant-blue/rolebindings"
    assert probe.attributes == {
        "verb": "bind",
        "resource": "clusterroles",
        "namespace": "tenant-blue",
        "group": "rbac.authorization.k8s.io",
        "name": "cluster-admin",
    }, "the review asks for the bind right on the role the binding references"
    oidc = ESCALATIONS["bind cluster-admin cluster-wide"](Context(OIDC_ADMIN, BLUE, GREEN), "c")
    assert oidc.user == "oidc:blue-admin"
    assert oidc.body is not None
    assert oidc.body["subjects"][0]["name"] == "oidc:blue:members"
    assert "namespace" not in oidc.body["metadata"]


def test_impersonation_attempts_send_the_headers_they_are_about() -> None:
    headers = {column: ESCALATIONS[column](CONTEXT, column).headers for column in ESCALATIONS}
    assert headers["impersonate another tenant's admin"] == {"Impersonate-User": "green-admin"}
    assert headers["impersonate the system:masters group"] == {
        "Impersonate-User": "blue-admin",
        "Impersonate-Group": "system:masters",
    }
    assert headers["act as another tenant's service account"] == {
        "Impersonate-User": "system:serviceaccount:tenant-green:default"
    }
    assert headers["impersonate another tenant admin's uid"]["Impersonate-Uid"] == "uid-of-green-admin"
    assert headers["impersonate a user extra"]["Impersonate-Extra-Scopes"] == "admin"


def test_changing_the_pod_security_labels_patches_the_namespace_to_privileged() -> None:
    probe = change_provider_object(CONTEXT, "its namespace's pod-security labels", "change")
    assert (probe.method, probe.path) == ("PATCH", "/api/v1/namespaces/tenant-blue")
    assert probe.content_type == "application/merge-patch+json"
    assert probe.body == {
        "metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged", "changed-by": "tenant"}}
    }
    assert probe.attributes == {
        "verb": "patch",
        "resource": "namespaces",
        "namespace": "tenant-blue",
        "group": "",
        "name": "tenant-blue",
    }
    deleted = change_provider_object(CONTEXT, "the provider's network policies", "delete")
    assert (deleted.method, deleted.path) == (
        "DELETE",
        "/apis/networking.k8s.io/v1/namespaces/tenant-blue/networkpolicies/default-deny",
    )
    assert deleted.attributes["group"] == "networking.k8s.io"
    assert deleted.body is None
