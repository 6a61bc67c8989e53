"""A scenario's applicability from its feature's placement tags, then its `@needs_*` tags
(provisioning.model.applicability)."""

from __future__ import annotations

from provisioning.model.applicability import not_applicable, not_placed
from provisioning.model.needs import ProductFacts
from provisioning.model.tenancy import Placement, Plan, Product, Tenant


def tenant(name: str, placement: Placement) -> Tenant:
    return Tenant(name=name, plan="small", placement=placement)


SHARED = [tenant("blue", Placement.SHARED), tenant("green", Placement.SHARED)]
DEDICATED = [tenant("red", Placement.DEDICATED)]


def facts(name: str, tenants: list[Tenant]) -> ProductFacts:
    return ProductFacts(Product(name, "lab", (Plan("small"),)), tuple(tenants))


def test_a_scenario_applies_where_the_tenancy_has_a_placement_its_tags_name() -> None:
    assert not_placed({"storage", "shared_cluster", "check_storage_001"}, SHARED, "cfcr") is None
    assert not_placed({"dedicated_cluster"}, [*SHARED, *DEDICATED], "pks") is None
    assert not_placed({"shared_cluster", "dedicated_cluster"}, DEDICATED, "pks") is None


def test_a_scenario_without_a_placement_tag_always_applies() -> None:
    assert not_placed({"smoke", "check_smoke_001"}, [], "cfcr") is None


def test_a_missing_placement_is_not_applicable_with_the_reason() -> None:
    assert (
        not_placed({"dedicated_cluster", "check_provisioning_002"}, SHARED, "cfcr")
        == "not applicable: product cfcr has no dedicated tenant in the targets file"
    )
    assert (
        not_placed({"shared_cluster"}, DEDICATED, "pks")
        == "not applicable: product pks has no shared tenant in the targets file"
    )
    assert (
        not_placed({"shared_cluster", "dedicated_cluster"}, [], "x")
        == "not applicable: product x has no dedicated or shared tenant in the targets file"
    )


def test_the_placement_is_read_before_the_needs() -> None:
    tags = {"dedicated_cluster", "needs_two_clusters"}
    assert not_applicable(tags, facts("cfcr", SHARED)) == (
        "not applicable: product cfcr has no dedicated tenant in the targets file"
    )
    assert not_applicable(tags, facts("pks", DEDICATED)) == (
        "not applicable: product pks has a single cluster in the targets file"
    )
    assert not_applicable(tags, facts("pks", [*SHARED, *DEDICATED])) is None
    assert not_applicable({"smoke"}, facts("cfcr", [])) is None
