"""What a check expects of a tenant comes from the model of its plan: the smallest valid plan (no quota,
no limits, no control-plane egress, baseline) promises only the fences every tenant gets, the richest
promises them all, and a privileged plan does not promise the host-path fence."""

from __future__ import annotations

import types

from checks.matrix import Cell
from checks.storage.separation import PLAN_RULE, Parties, expected_cell
from provisioning.model.needs import promises_limits
from provisioning.model.onboarding import onboarding_objects
from provisioning.model.tenancy import Plan, PodSecurityLevel, Product, Quota, Tenant

SMALLEST = Plan("smallest", pod_security=PodSecurityLevel.BASELINE)
RICHEST = Plan(
    "richest",
    pod_security=PodSecurityLevel.RESTRICTED,
    control_plane_egress=True,
    quota=Quota(hard={"pods": "10"}, default_requests={"cpu": "50m"}, default_limits={"cpu": "250m"}),
)
PRIVILEGED = Plan("privileged", allow_privileged=True, pod_security=PodSecurityLevel.PRIVILEGED)
EVERY_TENANT = {
    ("Namespace", "tenant-blue"),
    ("NetworkPolicy", "default-deny"),
    ("NetworkPolicy", "allow-same-tenant"),
    ("NetworkPolicy", "allow-dns"),
}


def _namespaced(plan: Plan) -> set[tuple[str, str]]:
    return {o for o in onboarding_objects(Tenant("blue", plan.name), plan) if o[0] != "RoleBinding"}


def test_the_smallest_plan_promises_no_quota_limit_range_or_control_plane_egress() -> None:
    assert _namespaced(SMALLEST) == EVERY_TENANT
    assert not promises_limits(SMALLEST)


def test_the_richest_plan_promises_every_onboarding_object() -> None:
    assert _namespaced(RICHEST) == EVERY_TENANT | {
        ("NetworkPolicy", "allow-control-plane"),
        ("ResourceQuota", "tenant-quota"),
        ("LimitRange", "tenant-limits"),
    }
    assert promises_limits(RICHEST)
    assert promises_limits(Plan("defaults only", quota=Quota(default_requests={"cpu": "50m"})))


def _host_path_pod(plan: Plan) -> Cell:
    tenancy = types.SimpleNamespace(product=Product("p", "lab", (plan,)), tenant=lambda name: Tenant(name, plan.name))
    workspace = types.SimpleNamespace(tenancy=tenancy)
    action = "runs a pod with a host path volume"
    return expected_cell(workspace, Parties("blue", "green"), "another tenant", action, PLAN_RULE)


def test_a_host_path_pod_is_expected_refused_only_where_the_plan_forbids_it() -> None:
    assert _host_path_pod(SMALLEST) is Cell.DENIED
    assert _host_path_pod(RICHEST) is Cell.DENIED
    assert _host_path_pod(PRIVILEGED) is Cell.ALLOWED
