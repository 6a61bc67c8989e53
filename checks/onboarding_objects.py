"""What onboarding created for each shared tenant, read back (checks.readback), against what its plan
implies (provisioning.model.onboarding.onboarding_objects, the manifests onboarding applies). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from checks.readback import TenantObjects
from provisioning.model.onboarding import onboarding_objects
from provisioning.tenancy import ProvisionedTenancy

UNCOMPARED = "RoleBinding"  # bindings are judged by their groups (the provisioning RBAC step)


def plan_differences(onboarded: Iterable[TenantObjects], tenancy: ProvisionedTenancy) -> tuple[list[str], list[str]]:
    """-> (one line a tenant: its plan, the (kind, name) expected and observed; one line a tenant whose
    objects differ: what is missing and what is extra). RoleBindings are left out of both sides. Raises
    KeyError for a tenant or plan the tenancy does not know."""
    lines, differences = [], []
    for observed in onboarded:
        tenant = tenancy.tenant(observed.tenant)
        plan = tenancy.product.plan(tenant.plan)
        authenticators = tenancy.cluster_of(tenant.name).authenticators
        expected = {o for o in onboarding_objects(tenant, plan, authenticators) if o[0] != UNCOMPARED}
        seen = {o for o in observed.objects if o[0] != UNCOMPARED}
        lines.append(f"{tenant.name} on plan {plan.name}: expected {sorted(expected)}, observed {sorted(seen)}")
        if seen != expected:
            differences.append(
                f"tenant {tenant.name}: missing {sorted(expected - seen)}, extra {sorted(seen - expected)}"
            )
    return lines, differences
