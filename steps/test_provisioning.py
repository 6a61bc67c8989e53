"""Steps of the provisioning checks: what onboarding created, read back from the clusters.

The When steps read (checks.readback), the Then steps compare requirement tables
(checks.tenancy) and decide (`checks.verdicts`). Under `onboarding: existing` the objects read
back are the provider's fences, judged against the declared plan (the `provider_*` tables)."""

from __future__ import annotations

from pytest_bdd import scenarios, then, when

from checks.readback import (
    ProviderFences,
    TenantObjects,
    read_onboarding,
    read_provider_fences,
    read_tenant_namespaces,
)
from checks.tenancy import (
    alone_table,
    apart_table,
    bindings_table,
    declared_plans,
    layout_table,
    namespaces_table,
    plan_objects_table,
    pod_security_table,
    provider_bindings_table,
    provider_plan_table,
    provider_pod_security_table,
)
from checks.verdicts import decide, requirement_comparison
from harness.settings import Settings
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

scenarios("provisioning")


@when("the onboarding objects of every shared tenant are read back as the cluster admin", target_fixture="onboarded")
def read_back(tenancy: ProvisionedTenancy, settings: Settings) -> list[TenantObjects] | list[ProviderFences]:
    if settings.targets.product_spec(tenancy.product.name).onboarding == "existing":
        return read_provider_fences(tenancy)
    return read_onboarding(tenancy)


def _provider(onboarded: list[TenantObjects] | list[ProviderFences]) -> list[ProviderFences]:
    return [o for o in onboarded if isinstance(o, ProviderFences)]


def _suite(onboarded: list[TenantObjects] | list[ProviderFences]) -> list[TenantObjects]:
    return [o for o in onboarded if isinstance(o, TenantObjects)]


@then("every shared tenant has exactly the onboarding objects its plan implies")
def exactly_the_plans_objects(
    onboarded: list[TenantObjects] | list[ProviderFences], tenancy: ProvisionedTenancy, settings: Settings
) -> None:
    if provider := _provider(onboarded):
        declared = declared_plans(settings.targets.model, tenancy.product.name)
        decide(requirement_comparison(provider_plan_table(provider, declared)), "the provider's fences")
        return
    decide(requirement_comparison(plan_objects_table(_suite(onboarded), tenancy)), "onboarding objects per plan")


@then("every shared tenant's namespace enforces its plan's pod-security level")
def enforces_plan_level(
    onboarded: list[TenantObjects] | list[ProviderFences], tenancy: ProvisionedTenancy, settings: Settings
) -> None:
    if provider := _provider(onboarded):
        declared = declared_plans(settings.targets.model, tenancy.product.name)
        decide(requirement_comparison(provider_pod_security_table(provider, declared)), "pod-security levels")
        return
    decide(requirement_comparison(pod_security_table(_suite(onboarded), tenancy)), "pod-security levels")


@then("on clusters authorized by RBAC every shared tenant has bindings for its admins, developers and viewers")
def rbac_bindings(onboarded: list[TenantObjects] | list[ProviderFences], tenancy: ProvisionedTenancy) -> None:
    if provider := _provider(onboarded):
        roles = {i.user: i.role for c in tenancy.clusters for i in c.identities}
        table = provider_bindings_table(provider, roles)
        if table.rows:
            decide(requirement_comparison(table), "role bindings")
        # else every shared tenant's cluster authorizes otherwise (ABAC): the step's own condition holds for
        # none, the provider's grants are judged by the rbac checks' requests, and the scenario's verdict is
        # its fences' and pod-security levels' (a skip here would hide them)
        return
    decide(requirement_comparison(bindings_table(_suite(onboarded), tenancy)), "role bindings")


@when("the clusters of the tenancy are listed", target_fixture="clusters")
def list_clusters(tenancy: ProvisionedTenancy) -> list[ProvisionedCluster]:
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
    return read_tenant_namespaces(tenancy)  # of a mixed tenancy (@needs_mixed_tenancy)


@then("the tenant namespaces on each cluster are exactly its tenants' namespaces")
def namespaces_where_they_belong(namespaces_by_cluster: dict[str, set[str]], tenancy: ProvisionedTenancy) -> None:
    decide(requirement_comparison(namespaces_table(namespaces_by_cluster, tenancy)), "tenant namespaces")


@then("the shared tenants share one cluster and every dedicated tenant has one of its own")
def shared_and_dedicated(tenancy: ProvisionedTenancy) -> None:
    decide(requirement_comparison(layout_table(tenancy)), "clusters of the tenancy")
