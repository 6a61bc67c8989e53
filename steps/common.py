"""Steps shared by every area, loaded once from the root conftest (never imported by tests)."""

from __future__ import annotations

from pytest_bdd import given

from provisioning.model.tenancy import Product, TenancyModel, Tenant
from provisioning.tenancy import ProvisionedTenancy


@given("the tenancy of the product under test", target_fixture="tenants")
def tenancy_of_product(product: Product, tenancy_model: TenancyModel) -> tuple[Tenant, ...]:
    return tenancy_model.tenants.get(product.name, ())


@given("the provisioned tenancy of the product under test")
def provisioned_tenancy(tenancy: ProvisionedTenancy) -> ProvisionedTenancy:
    return tenancy
