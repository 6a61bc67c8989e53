"""Steps of the wiring smoke check."""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from provisioning.model.tenancy import Plan, Product, Tenant

scenarios("smoke")


@when("the plans of the tenants are looked up in the product's catalog", target_fixture="plans")
def look_up_plans(tenants: tuple[Tenant, ...], product: Product) -> list[Plan]:
    return [product.plan(t.plan) for t in tenants]


@then(parsers.parse("every plan found has one of these pod-security levels:"))
def plans_have_levels(plans: list[Plan], datatable: list[list[str]]) -> None:
    allowed = {row[0] for row in datatable[1:]}
    assert plans, "the product has no tenants in the targets file"
    assert {p.pod_security.value for p in plans} <= allowed
