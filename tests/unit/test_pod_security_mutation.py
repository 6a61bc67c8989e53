"""The pod-security-baseline mutation labels restricted plans' namespaces one level too weak, and
names the controls whose rows of the plan x control table it must turn red (pure)."""

from __future__ import annotations

from provisioning.model.fences import ENFORCE
from provisioning.model.mutations import RED_CONTROLS, Mutation
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.privileges import FORBIDDEN_BY_LEVEL, Case
from provisioning.model.tenancy import Plan, PodSecurityLevel, Tenant

MUTATION = Mutation.POD_SECURITY_BASELINE


def _enforced(level: PodSecurityLevel, mutation: Mutation | None) -> str:
    namespace = tenant_manifests(Tenant("blue", "p"), Plan("p", pod_security=level), "r", mutation)[0]
    return str(namespace["metadata"]["labels"][ENFORCE])


def test_only_restricted_namespaces_enforce_one_level_less() -> None:
    assert _enforced(PodSecurityLevel.RESTRICTED, None) == "restricted"
    assert _enforced(PodSecurityLevel.RESTRICTED, MUTATION) == "baseline"
    assert _enforced(PodSecurityLevel.BASELINE, MUTATION) == "baseline"


def test_the_red_rows_are_the_cases_restricted_adds_to_baseline() -> None:
    admitted_now = FORBIDDEN_BY_LEVEL[PodSecurityLevel.RESTRICTED] - FORBIDDEN_BY_LEVEL[PodSecurityLevel.BASELINE]
    assert {c.control for c in admitted_now} == RED_CONTROLS[MUTATION]
    assert {c for c in Case if c.control in RED_CONTROLS[MUTATION]} == admitted_now
