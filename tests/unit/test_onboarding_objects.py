"""Onboarding's objects read back against what each shared tenant's plan implies (issue 18: the
provisioning step's comparison), without a cluster."""

from __future__ import annotations

from pathlib import Path

from checks.onboarding_objects import plan_differences
from checks.readback import TenantObjects
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.onboarding import onboarding_objects
from provisioning.model.tenancy import AuthorizationMode, Plan, Product, Quota, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

BLUE, GREEN = Tenant("blue", "small"), Tenant("green", "medium")
PLANS = (Plan("small"), Plan("medium", quota=Quota(hard={"pods": "10"})))
HANDLE = ClusterHandle("pks-shared", "pks", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "lab")
TENANCY = ProvisionedTenancy(Product("pks", "lab", PLANS), "run", [ProvisionedCluster(HANDLE, (BLUE, GREEN))])


def _read_back(tenant: Tenant, plan: Plan, drop: str = "", add: tuple[str, str] | None = None) -> TenantObjects:
    objects = {o for o in onboarding_objects(tenant, plan) if o[0] != drop}
    objects |= {add} if add else set()
    objects.add(("RoleBinding", "left-out"))  # bindings are judged by the RBAC step, never here
    return TenantObjects(tenant.name, "rbac", {}, frozenset(objects), frozenset())


def test_the_objects_the_plans_imply_differ_in_nothing() -> None:
    lines, differences = plan_differences([_read_back(BLUE, PLANS[0]), _read_back(GREEN, PLANS[1])], TENANCY)
    assert differences == []
    assert [line.split(":")[0] for line in lines] == ["blue on plan small", "green on plan medium"]
    assert "RoleBinding" not in "".join(lines)


def test_a_missing_and_an_extra_object_are_named() -> None:
    green = _read_back(GREEN, PLANS[1], drop="ResourceQuota", add=("ConfigMap", "extra"))
    _, differences = plan_differences([green], TENANCY)
    assert len(differences) == 1
    assert differences[0].startswith("tenant green: missing [('ResourceQuota', ")
    assert differences[0].endswith("extra [('ConfigMap', 'extra')]")
