"""Steps of the provisioning checks: what onboarding created, read back from the clusters."""

from __future__ import annotations

import allure
import pytest
from pytest_bdd import scenarios, then, when

from fixtures.onboarding_objects import plan_differences
from fixtures.readback import TenantObjects, read_onboarding, read_tenant_namespaces
from provisioning.model.tenancy import Placement, Role, role_group
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

scenarios("provisioning")


@when("the onboarding objects of every shared tenant are read back as the cluster admin", target_fixture="onboarded")
def read_back(tenancy: ProvisionedTenancy) -> list[TenantObjects]:
    return read_onboarding(tenancy)


@then("every shared tenant has exactly the onboarding objects its plan implies")
def exactly_the_plans_objects(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    if not onboarded:
        pytest.skip(f"not applicable: product {tenancy.product.name} has no shared tenant in the targets file")
    lines, differences = plan_differences(onboarded, tenancy)
    allure.attach("\n".join(lines), name="onboarding objects per plan", attachment_type=allure.attachment_type.TEXT)
    assert not differences, "\n".join([*differences, "", *lines])


@then("every shared tenant's namespace enforces its plan's pod-security level")
def enforces_plan_level(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    for observed in onboarded:
        plan = tenancy.product.plan(tenancy.tenant(observed.tenant).plan)
        assert observed.namespace_labels.get("pod-security.kubernetes.io/enforce") == plan.pod_security.value


@then("on clusters authorized by RBAC every shared tenant has bindings for its admins, developers and viewers")
def rbac_bindings(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    for observed in onboarded:
        authenticators = tenancy.cluster_of(observed.tenant).authenticators  # e.g. certificates and OIDC
        expected = (
            {(role.cluster_role, role_group(observed.tenant, role, a)) for role in Role for a in authenticators}
            if observed.authorization == "rbac"
            else set()
        )
        assert observed.binding_groups == expected


@when("the clusters of the tenancy are listed", target_fixture="clusters")
def list_clusters(tenancy: ProvisionedTenancy) -> list[ProvisionedCluster]:
    if not any(t.placement is Placement.DEDICATED for t in tenancy.tenants):
        pytest.skip(f"not applicable: product {tenancy.product.name} has no dedicated tenant in the targets file")
    return tenancy.clusters


@then("every dedicated tenant is the only tenant on its cluster")
def dedicated_alone(clusters: list[ProvisionedCluster]) -> None:
    for provisioned in clusters:
        if any(t.placement is Placement.DEDICATED for t in provisioned.tenants):
            assert len(provisioned.tenants) == 1, provisioned.handle.name


@then("no two tenants of different placements share a cluster")
def placements_apart(clusters: list[ProvisionedCluster]) -> None:
    names = [c.handle.name for c in clusters]
    assert len(names) == len(set(names))
    for provisioned in clusters:
        assert len({t.placement for t in provisioned.tenants}) == 1


@when(
    "the tenant namespaces on every cluster of the product are listed as the cluster admin",
    target_fixture="namespaces_by_cluster",
)
def tenant_namespaces(tenancy: ProvisionedTenancy) -> dict[str, set[str]]:
    if {t.placement for t in tenancy.tenants} != {Placement.SHARED, Placement.DEDICATED}:
        pytest.skip(f"not applicable: product {tenancy.product.name} has no mixed tenancy in the targets file")
    return read_tenant_namespaces(tenancy)


@then("the tenant namespaces on each cluster are exactly its tenants' namespaces")
def namespaces_where_they_belong(namespaces_by_cluster: dict[str, set[str]], tenancy: ProvisionedTenancy) -> None:
    expected = {c.handle.name: {t.namespace for t in c.tenants} for c in tenancy.clusters}
    assert namespaces_by_cluster == expected


@then("the shared tenants share one cluster and every dedicated tenant has one of its own")
def shared_and_dedicated(tenancy: ProvisionedTenancy) -> None:
    shared = [c for c in tenancy.clusters if any(t.placement is Placement.SHARED for t in c.tenants)]
    dedicated = [t for t in tenancy.tenants if t.placement is Placement.DEDICATED]
    assert len(shared) == 1
    assert {t.name for t in shared[0].tenants} == {t.name for t in tenancy.tenants if t.placement is Placement.SHARED}
    assert len(tenancy.clusters) == 1 + len(dedicated)
