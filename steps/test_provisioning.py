"""Steps of the provisioning checks: what onboarding created, read back from the clusters.

The When steps read (fixtures.readback), the Then steps compare requirement tables
(fixtures.tenancy_checks) and decide (`fixtures.verdicts`)."""

from __future__ import annotations

import pytest
from pytest_bdd import scenarios, then, when

from fixtures.readback import TenantObjects, read_onboarding, read_tenant_namespaces
from fixtures.tenancy_checks import (
    alone_table,
    apart_table,
    bindings_table,
    layout_table,
    namespaces_table,
    plan_objects_table,
    pod_security_table,
)
from fixtures.verdicts import decide, requirement_comparison
from provisioning.model.tenancy import Placement
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

scenarios("provisioning")


@when("the onboarding objects of every shared tenant are read back as the cluster admin", target_fixture="onboarded")
def read_back(tenancy: ProvisionedTenancy) -> list[TenantObjects]:
    return read_onboarding(tenancy)


@then("every shared tenant has exactly the onboarding objects its plan implies")
def exactly_the_plans_objects(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    if not onboarded:
        pytest.skip(f"not applicable: product {tenancy.product.name} has no shared tenant in the targets file")
    decide(requirement_comparison(plan_objects_table(onboarded, tenancy)), "onboarding objects per plan")


@then("every shared tenant's namespace enforces its plan's pod-security level")
def enforces_plan_level(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    decide(requirement_comparison(pod_security_table(onboarded, tenancy)), "pod-security levels")


@then("on clusters authorized by RBAC every shared tenant has bindings for its admins, developers and viewers")
def rbac_bindings(onboarded: list[TenantObjects], tenancy: ProvisionedTenancy) -> None:
    decide(requirement_comparison(bindings_table(onboarded, tenancy)), "role bindings")


@when("the clusters of the tenancy are listed", target_fixture="clusters")
def list_clusters(tenancy: ProvisionedTenancy) -> list[ProvisionedCluster]:
    if not any(t.placement is Placement.DEDICATED for t in tenancy.tenants):
        pytest.skip(f"not applicable: product {tenancy.product.name} has no dedicated tenant in the targets file")
    return tenancy.clusters


@then("every dedicated tenant is the only tenant on its cluster")
def dedicated_alone(clusters: list[ProvisionedCluster]) -> None:
    decide(requirement_comparison(alone_table(clusters)), "dedicated tenants")


@then("no two tenants of different placements share a cluster")
def placements_apart(clusters: list[ProvisionedCluster]) -> None:
    decide(requirement_comparison(apart_table(clusters)), "placements per cluster")


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
    decide(requirement_comparison(namespaces_table(namespaces_by_cluster, tenancy)), "tenant namespaces")


@then("the shared tenants share one cluster and every dedicated tenant has one of its own")
def shared_and_dedicated(tenancy: ProvisionedTenancy) -> None:
    decide(requirement_comparison(layout_table(tenancy)), "clusters of the tenancy")
