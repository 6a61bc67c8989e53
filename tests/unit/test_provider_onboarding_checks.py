"""check_provisioning_001 and check_rbac_004 under `onboarding: existing`, without a cluster: the provider's fences
judged against the declared plan (a fence the plan does not promise is no failure), the attempts on the
provider's objects by the names its fences carry, and the delegation granted to the developers as their
credentials authenticate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks.matrix import Cell
from checks.rbac.access import classify_failure
from checks.rbac.attempts import attempt_questions
from checks.rbac.delegation import delegated_role
from checks.rbac.discovery import ApiResource
from checks.rbac.escalation import provider_object_names
from checks.readback import ProviderFences
from checks.tenancy import (
    promise_breaches,
    provider_bindings_table,
    provider_plan_table,
    provider_pod_security_table,
)
from provisioning.backends.protocol import ClusterHandle
from provisioning.kube.client import ApiFailure
from provisioning.model.fences import NamespaceFences
from provisioning.model.onboarding import RUN_ID, ServiceEndpoints
from provisioning.model.tenancy import AuthorizationMode, PodSecurityLevel, Quota, Role, Tenant
from provisioning.model.tenancy import Plan as PlanModel
from provisioning.tenancy import ProvisionedCluster

API = ServiceEndpoints(addresses=("10.0.0.1",), ports=(("TCP", 6443),))
SMALL = PlanModel(
    "small",
    pod_security=PodSecurityLevel.RESTRICTED,
    quota=Quota(hard={"pods": "10"}, default_limits={"cpu": "250m"}, default_requests={"cpu": "50m"}),
)
MEDIUM = PlanModel("medium", pod_security=PodSecurityLevel.BASELINE)
QUOTA_ONLY = Quota(hard={"pods": "1"})


def _obj(name: str, **more: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **more.pop("meta", {})}, **more}


INGRESS = _obj("guard-in", spec={"podSelector": {}, "policyTypes": ["Ingress"]})
EGRESS = _obj(
    "guard-out", spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {}}]}]}
)
QUOTA = _obj("budget", spec={"hard": {"pods": "10", "services": "5"}})
LIMITS = _obj(
    "defaults", spec={"limits": [{"type": "Container", "default": {"cpu": "250m"}, "defaultRequest": {"cpu": "50m"}}]}
)
BINDING = _obj(
    "acme-admin-blue",
    roleRef={"kind": "ClusterRole", "name": "admin"},
    subjects=[{"kind": "User", "name": "blue-admin"}],
)


def _fences(
    namespace: str, level: str, *objects: dict[str, Any], **kinds: tuple[dict[str, Any], ...]
) -> NamespaceFences:
    return NamespaceFences(namespace, {"pod-security.kubernetes.io/enforce": level}, network_policies=objects, **kinds)


def _found(tenant: str, fences: NamespaceFences, **reviews: Any) -> ProviderFences:
    return ProviderFences(tenant, "rbac", fences, API, dict(reviews))


BLUE = _found(
    "blue", _fences("acme-blue", "restricted", INGRESS, EGRESS, resource_quotas=(QUOTA,), limit_ranges=(LIMITS,))
)
GREEN = _found("green", _fences("acme-green", "baseline", INGRESS))  # no egress isolation


def _cells(matrix: Any) -> dict[str, tuple[Cell, str]]:
    column = matrix.columns[0]
    return {row: (matrix[row, column], matrix.evidence[(row, column)]) for row in matrix.rows}


def test_a_quota_the_plan_does_not_name_is_a_note_and_a_missing_one_a_breach() -> None:
    effective = PlanModel("small", quota=Quota(hard={"pods": "10", "services": "5"}))
    breaches, notes = promise_breaches(SMALL, effective)
    assert notes == ["quota.hard: not in the plan, found {'services': '5'}"]
    assert breaches == [
        "quota.default_limits: declared {'cpu': '250m'}, found {}",
        "quota.default_requests: declared {'cpu': '50m'}, found {}",
    ]
    assert promise_breaches(MEDIUM, PlanModel("medium", pod_security=PodSecurityLevel.BASELINE, quota=QUOTA_ONLY)) == (
        [],
        ["quota.hard: not in the plan, found {'pods': '1'}"],
    )


def test_the_provider_plan_table_fails_only_the_tenant_its_fences_leave_open() -> None:
    cells = _cells(provider_plan_table([BLUE, GREEN], {"blue": SMALL, "green": MEDIUM}))
    assert cells["blue"][0] is Cell.ALLOWED, cells["blue"]
    assert "quota.hard: not in the plan, found {'services': '5'}" in cells["blue"][1]
    assert cells["green"][0] is Cell.DENIED
    assert "control_plane_egress: declared False, found True" in cells["green"][1]
    assert "isolates egress" in cells["green"][1]
    assert "isolates ingress" not in cells["green"][1]


def test_pod_security_is_judged_against_the_declared_level_not_the_effective_one() -> None:
    cells = _cells(provider_pod_security_table([BLUE, GREEN], {"blue": SMALL, "green": SMALL}))
    assert cells["blue"][0] is Cell.ALLOWED
    assert cells["green"][0] is Cell.DENIED  # baseline found, restricted declared


def test_bindings_give_each_identity_its_role_as_its_credentials_authenticate() -> None:
    fences = _fences("acme-blue", "restricted", role_bindings=(BINDING,))
    roles = {"blue-admin": Role.ADMIN, "blue-viewer": Role.VIEWER}
    found = _found("blue", fences, **{"blue-admin": ("blue-admin", ("acme:blue",)), "blue-viewer": ("blue-viewer", ())})
    cell, evidence = _cells(provider_bindings_table([found], roles))["blue"]
    assert cell is Cell.DENIED
    assert "'blue-viewer': 'no tenant role'" in evidence
    only_admin = _found("blue", fences, **{"blue-admin": ("blue-admin", ())})
    assert _cells(provider_bindings_table([only_admin], roles))["blue"][0] is Cell.ALLOWED
    unanswered = _found("blue", fences, **{"blue-admin": "the SelfSubjectReview of blue-admin's credentials: 503"})
    assert _cells(provider_bindings_table([unanswered], roles))["blue"][0] is Cell.ERROR  # never a denial


def test_the_provider_objects_attempted_are_the_providers_own_and_never_the_runs() -> None:
    ours = _obj("caas-probe-policy", meta={"labels": {RUN_ID: "r1"}})
    fences = _fences("acme-blue", "restricted", ours, INGRESS, role_bindings=(BINDING,))
    names = provider_object_names(fences)
    assert names["the provider's network policies"] == "guard-in"
    assert names["the provider's role bindings"] == "acme-admin-blue"
    assert "the provider's resource quota" not in names  # acme made none here: nothing to attempt
    assert names["its namespace"] == "{ns}"


PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "watch", "create", "delete"))
HANDLE = ClusterHandle(
    "acme", "acme", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "kubeconfig"
)
CLUSTER = ProvisionedCluster(HANDLE, (Tenant("blue", "small", namespaces=("acme-blue",)), Tenant("green", "medium")))


def test_an_attempt_on_a_kind_the_provider_made_none_of_is_not_asked() -> None:
    rows = [
        {"attempt": "the provider's role bindings", "action": "delete"},
        {"attempt": "the provider's resource quota", "action": "change"},
    ]
    names = {"blue": {"the provider's role bindings": "acme-admin-blue", "the provider's resource quota": "budget"}}
    attempts = [q for q in attempt_questions(CLUSTER, [PODS], rows, names) if q.scope == "attempt"]
    blue = [q.probe for q in attempts if q.identity.tenant == "blue"]
    assert len(blue) == 2 * 3
    assert not [q for q in attempts if q.identity.tenant == "green"]
    assert blue[0].path.endswith("/namespaces/acme-blue/rolebindings/acme-admin-blue")
    assert blue[0].column == "delete the provider's role bindings (acme-admin-blue)"
    assert blue[1].path.endswith("/namespaces/acme-blue/resourcequotas/budget")


def test_the_delegation_binds_the_authenticated_users_when_asked() -> None:
    _, binding = delegated_role("r", "acme-blue", {}, "", "pods", "list", [], ["blue-developer"])
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "blue-developer"}]


def test_a_404_is_the_authorizers_yes_and_the_evidence_says_admission_never_saw_it() -> None:
    cell, evidence = classify_failure(ApiFailure(404, "Not Found"))
    assert cell is Cell.ALLOWED
    assert evidence.startswith("authorized (404: ")
    assert "the object does not exist, so admission never saw it" in evidence
