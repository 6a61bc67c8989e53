"""Steps of the wiring smoke check: the plans of the tenants, looked up, compared and decided as every
check is (`checks.verdicts`)."""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from checks.tenancy import plan_levels_table
from checks.verdicts import decide, requirement_comparison
from provisioning.model.tenancy import Plan, Product, Tenant

scenarios("smoke")


@when("the plans of the tenants are looked up in the product's catalog", target_fixture="plans")
def look_up_plans(tenants: tuple[Tenant, ...], product: Product) -> dict[str, Plan]:
    return {t.name: product.plan(t.plan) for t in tenants}


@then(parsers.parse("every plan found has one of these pod-security levels:"))
def plans_have_levels(plans: dict[str, Plan], datatable: list[list[str]]) -> None:
    levels = [row[0] for row in datatable[1:]]
    decide(requirement_comparison(plan_levels_table(plans, levels)), "plans and their levels")
