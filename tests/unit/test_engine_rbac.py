"""Pure parts of the RBAC engine that no other unit test names (issue 18): which probe a feature row makes
(attempts.attempt_probe), what is a watch (access.is_watch), what is asked without credentials
(non_resource.anonymous_probes), which subresource cells the model requires (matrix.subresource_questions),
why a created access review is no answer (reviews.not_an_answer: never read as a denial), and how the
credential matrices name their columns and impersonation fallbacks (credentials.cluster_column,
fallback_reasons).

The subresource expectations follow Kubernetes' default roles (admin and edit: pods/exec; view: pods/log
and namespaces/status, no exec; no default role grants namespaces/finalize) as
provisioning/model/access.py models them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from checks.matrix import Cell
from checks.rbac import matrix as rbac
from checks.rbac.access import ABSENT, Probe, is_watch, resource_probe
from checks.rbac.attempts import attempt_probe
from checks.rbac.credentials import cluster_column, fallback_reasons
from checks.rbac.discovery import ApiResource, ApiSubresource
from checks.rbac.escalation import Context
from checks.rbac.non_resource import ANONYMOUS_RESOURCES, PATHS, anonymous_probes
from checks.rbac.reviews import not_an_answer
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.model.access import ANONYMOUS
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "watch", "create", "delete"))
SECRETS = ApiResource("", "v1", "secrets", "Secret", True, ("get", "list", "watch"))
NAMESPACES = ApiResource("", "v1", "namespaces", "Namespace", False, ("get", "list"))
NODES = ApiResource("", "v1", "nodes", "Node", False, ("get", "list"))
EXEC = ApiSubresource(PODS, "exec", "PodExecOptions", ("get", "create"))
LOG = ApiSubresource(PODS, "log", "Pod", ("get",))
FINALIZE = ApiSubresource(NAMESPACES, "finalize", "Namespace", ("update",))
STATUS = ApiSubresource(NAMESPACES, "status", "Namespace", ("get", "patch"))
PROXY = ApiSubresource(NODES, "proxy", "NodeProxyOptions", ("get",))


def _shared(name: str = "pks-shared") -> tuple[ProvisionedTenancy, ProvisionedCluster]:
    """pks's shared cluster of the default targets file: tenants blue and green, certificate identities."""
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(name, "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab")
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    cluster = ProvisionedCluster(handle, model.tenants["pks"][:2])
    tenancy.clusters.append(cluster)
    return tenancy, cluster


TENANCY, CLUSTER = _shared()
BLUE, GREEN = CLUSTER.tenants
BLUE_ADMIN = CLUSTER.identities_of(BLUE)[0]


# --- attempts: a feature row -> its probe ----------------------------------------------------------------


def test_a_row_without_an_action_is_the_escalation_it_names() -> None:
    context = Context(BLUE_ADMIN, BLUE, GREEN)
    probe = attempt_probe(context, {"attempt": "bind cluster-admin in its namespace"})
    assert (probe.user, probe.row, probe.column) == ("blue-admin", "blue-admin", "bind cluster-admin in its namespace")
    assert (probe.method, probe.path) == (
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/tenant-blue/rolebindings",
    )
    assert probe.query == {"dryRun": "All"}
    assert probe.admission_fences is False


def test_a_row_with_an_action_changes_or_deletes_the_providers_object_in_the_own_namespace() -> None:
    context = Context(BLUE_ADMIN, BLUE, GREEN)
    change = attempt_probe(context, {"attempt": "the provider's resource quota", "action": "change"})
    assert change.column == "change the provider's resource quota"
    assert (change.method, change.path) == ("PATCH", "/api/v1/namespaces/tenant-blue/resourcequotas/tenant-quota")
    assert change.attributes["verb"] == "patch"
    assert change.admission_fences is False, "the suite's own onboarding: only its PROTECTION policy fences"
    delete = attempt_probe(context, {"attempt": "its namespace", "action": "delete"})
    assert (delete.method, delete.path, delete.column) == (
        "DELETE",
        "/api/v1/namespaces/tenant-blue",
        "delete its namespace",
    )


def test_a_providers_own_object_name_is_in_the_column_and_any_admission_refusal_is_its_fence() -> None:
    context = Context(BLUE_ADMIN, BLUE, GREEN)
    probe = attempt_probe(context, {"attempt": "the provider's limit range", "action": "delete"}, "limits-{ns}")
    assert probe.column == "delete the provider's limit range (limits-tenant-blue)"
    assert probe.path == "/api/v1/namespaces/tenant-blue/limitranges/limits-tenant-blue"
    assert probe.attributes["name"] == "limits-tenant-blue"
    assert probe.admission_fences is True


@pytest.mark.parametrize(
    "row",
    [{"attempt": "become root"}, {"attempt": "the provider's secrets", "action": "delete"}, {"action": "delete"}],
)
def test_an_attempt_the_suite_does_not_know_is_a_key_error(row: dict[str, str]) -> None:
    with pytest.raises(KeyError):
        attempt_probe(Context(BLUE_ADMIN, BLUE, GREEN), row)


# --- is_watch ---------------------------------------------------------------------------------------------


def test_only_a_get_asking_watch_true_is_a_watch() -> None:
    assert is_watch(resource_probe("blue-viewer", "blue-viewer", PODS, "watch", "tenant-blue")) is True
    assert is_watch(resource_probe("blue-viewer", "blue-viewer", PODS, "list", "tenant-blue")) is False
    assert is_watch(resource_probe("blue-viewer", "blue-viewer", PODS, "get", "tenant-blue")) is False
    posted = Probe("u", "u", "c", {}, "POST", "/api/v1/pods", query={"watch": "true"})
    assert is_watch(posted) is False, "only a GET starts a watch"
    assert is_watch(replace(posted, method="GET", query={"watch": "1"})) is False, "the probe asks watch=true"


# --- anonymous_probes -------------------------------------------------------------------------------------


def test_without_credentials_every_path_then_a_list_of_each_resource_is_asked() -> None:
    probes = anonymous_probes([PODS, SECRETS, NAMESPACES])
    assert [p.column for p in probes] == [
        *(f"get {p}" for p in PATHS),
        "kube-system: list secrets",
        "(cluster): list namespaces",
        "(cluster): list pods",
    ]
    assert len(probes) == len(PATHS) + len(ANONYMOUS_RESOURCES)
    assert all(p.anonymous and p.user == ANONYMOUS and p.row == ANONYMOUS for p in probes), (
        "a 401 is the refusal asked for, sent without credentials"
    )
    secrets = probes[len(PATHS)]
    assert (secrets.method, secrets.path, secrets.query) == (
        "GET",
        "/api/v1/namespaces/kube-system/secrets",
        {"limit": "1"},
    )
    assert (probes[0].method, probes[0].path, probes[0].attributes) == (
        "GET",
        "/metrics",
        {"verb": "get", "path": "/metrics"},
    )


def test_anonymous_probes_need_every_resource_they_list() -> None:
    with pytest.raises(KeyError):
        anonymous_probes([PODS, NAMESPACES])  # no secrets discovered


# --- subresource_questions --------------------------------------------------------------------------------


def _cells(questions: list[rbac.Question]) -> dict[tuple[str, str], Cell]:
    return {(q.probe.row, q.probe.column): q.expected for q in questions}


def test_every_identity_asks_every_subresource_verb_in_every_namespace_or_cluster_wide() -> None:
    questions = rbac.subresource_questions(TENANCY, CLUSTER, [EXEC, LOG, FINALIZE, STATUS, PROXY], ["kube-system"])
    namespaces = 3  # tenant-blue, tenant-green, kube-system
    assert len(questions) == 6 * ((2 + 1 + 1 + 2) * namespaces + 1)
    assert {q.scope for q in questions} == {"subresource"}
    columns = {q.probe.column for q in questions}
    assert "(cluster): get nodes/proxy" in columns
    assert "tenant-green: update namespaces/finalize" in columns, "a namespace's own subresource, of each namespace"
    assert not [c for c in columns if c.startswith("(cluster):") and "nodes" not in c]


def test_subresource_cells_follow_the_default_roles_in_the_own_namespace_and_deny_elsewhere() -> None:
    got = _cells(rbac.subresource_questions(TENANCY, CLUSTER, [EXEC, LOG, FINALIZE, STATUS, PROXY], ["kube-system"]))
    assert got["blue-admin", "tenant-blue: create pods/exec"] is Cell.ALLOWED
    assert got["blue-developer", "tenant-blue: create pods/exec"] is Cell.ALLOWED
    assert got["blue-viewer", "tenant-blue: create pods/exec"] is Cell.DENIED, "view has no exec"
    assert got["blue-viewer", "tenant-blue: get pods/log"] is Cell.ALLOWED
    assert got["blue-viewer", "tenant-blue: get namespaces/status"] is Cell.ALLOWED
    assert got["blue-admin", "tenant-blue: patch namespaces/status"] is Cell.DENIED
    assert got["blue-admin", "tenant-blue: update namespaces/finalize"] is Cell.DENIED
    elsewhere = {
        cell
        for (row, column), cell in got.items()
        if (row.startswith("blue-") and not column.startswith("tenant-blue:"))
        or (row.startswith("green-") and not column.startswith("tenant-green:"))
    }
    assert elsewhere == {Cell.DENIED}, "other tenants' namespaces, kube-system and the nodes' proxy"


def test_a_namespaces_subresource_is_asked_of_that_namespace_by_name() -> None:
    [status] = [
        q.probe
        for q in rbac.subresource_questions(TENANCY, CLUSTER, [STATUS], [])
        if q.probe.row == "blue-viewer" and q.probe.column == "tenant-green: get namespaces/status"
    ]
    assert status.path == "/api/v1/namespaces/tenant-green/status"
    assert (status.attributes["namespace"], status.attributes["name"]) == ("tenant-green", "tenant-green")
    [exec_probe] = [
        q.probe
        for q in rbac.subresource_questions(TENANCY, CLUSTER, [EXEC], [])
        if q.probe.row == "blue-admin" and q.probe.column == "tenant-blue: create pods/exec"
    ]
    assert exec_probe.path == f"/api/v1/namespaces/tenant-blue/pods/{ABSENT}/exec"


def test_no_subresources_discovered_is_no_question() -> None:
    assert rbac.subresource_questions(TENANCY, CLUSTER, [], ["kube-system"]) == []


# --- not_an_answer: what a created review must hold --------------------------------------------------------


@pytest.mark.parametrize("allowed", [True, False])
def test_a_status_with_a_boolean_allowed_is_an_answer(allowed: bool) -> None:
    assert not_an_answer({"kind": "SubjectAccessReview", "status": {"allowed": allowed}}) is None


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ([], "the body is not a JSON object: []"),
        ("denied", 'the body is not a JSON object: "denied"'),
        (None, "the body is not a JSON object: null"),
        ({"kind": "SubjectAccessReview"}, 'no status object: {"kind": "SubjectAccessReview"}'),
        ({"status": "denied"}, 'no status object: {"status": "denied"}'),
        ({"status": {}}, 'status.allowed is missing or not a boolean: {"status": {}}'),
        ({"status": {"denied": True}}, "status.allowed is missing or not a boolean"),
        ({"status": {"allowed": "false"}}, "status.allowed is missing or not a boolean"),
        ({"status": {"allowed": 0}}, "status.allowed is missing or not a boolean"),
        ({"status": {"allowed": None}}, "status.allowed is missing or not a boolean"),
    ],
)
def test_anything_else_is_no_answer_never_a_denial(answer: object, why: str) -> None:
    text = not_an_answer(answer)
    assert text is not None
    assert text.startswith("no review answer: ")
    assert why in text


def test_what_came_back_is_cut_at_300_characters() -> None:
    answer = {"status": {"reason": "x" * 1000}}
    text = not_an_answer(answer)
    assert text == f"no review answer: status.allowed is missing or not a boolean: {json.dumps(answer)[:300]}"


# --- credential matrices: columns and fallback reasons ----------------------------------------------------


def test_a_credential_column_is_the_clusters_handle_name() -> None:
    _tenancy, cluster = _shared("pks-blue-7f3a")
    assert cluster_column(cluster) == "pks-blue-7f3a"


def _impersonated(reason: str) -> Credential:
    return Credential(impersonate=("cluster-admin", ("system:masters",)), fallback_reason=reason)


def test_fallback_reasons_name_the_users_of_each_distinct_reason() -> None:
    tenancy, cluster = _shared()
    no_csr = "no CSR certificate for blue-admin: not signed within 60 s"
    cluster.credentials.update(
        {
            "green-admin": _impersonated(no_csr),
            "blue-admin": _impersonated(no_csr),
            "blue-viewer": _impersonated(""),
            "blue-developer": Credential(cert_pem=b"-----BEGIN CERTIFICATE-----"),
        }
    )
    assert fallback_reasons(tenancy) == [
        f"blue-admin, green-admin: {no_csr}",
        "blue-viewer: no reason recorded",
    ], "a real credential is no fallback"


def test_fallback_reasons_span_every_cluster_and_are_empty_without_impersonation() -> None:
    tenancy, cluster = _shared()
    assert fallback_reasons(tenancy) == []
    cluster.credentials["blue-admin"] = Credential(cert_pem=b"-----BEGIN CERTIFICATE-----")
    assert fallback_reasons(tenancy) == []
    _other_tenancy, dedicated = _shared("pks-red")
    dedicated.credentials["red-admin"] = _impersonated("OIDC issuer unreachable")
    tenancy.clusters.append(dedicated)
    assert fallback_reasons(tenancy) == ["red-admin: OIDC issuer unreachable"]
