"""What a scenario needs of a product's tenancy, from its `@needs_*` tags (provisioning.model.needs), and
the plugin's facts of a targets file (fixtures.plugin.product_facts): each need met and unmet."""

from __future__ import annotations

import re
import tomllib

import pytest

from fixtures.plugin import product_facts
from harness.settings import DEFAULT_TARGETS, build_settings
from provisioning.model.needs import (
    NEEDS,
    ProductFacts,
    applicable,
    serves_private_registry,
    sets_storage_quotas,
    unmet,
)
from provisioning.model.tenancy import Placement, Plan, PodSecurityLevel, Product, Quota, Tenant
from tests.support import ROOT

BARE = Plan("bare", pod_security=PodSecurityLevel.PRIVILEGED)  # promises nothing, forbids nothing
RICH = Plan(
    "rich",
    pod_security=PodSecurityLevel.BASELINE,
    service_types=("ClusterIP",),
    quota=Quota(hard={"requests.storage": "1Gi", "persistentvolumeclaims": "2", "configmaps": "3"}),
)
PRODUCT = Product("pks", "lab", (BARE, RICH))


def tenant(name: str, plan: Plan = BARE, placement: Placement = Placement.SHARED) -> Tenant:
    return Tenant(name, plan.name, placement)


def facts(*tenants: Tenant, broker: bool = False, registry: bool = False) -> ProductFacts:
    return ProductFacts(PRODUCT, tenants, broker=broker, private_registry=registry)


def reason(tag: str, product: ProductFacts) -> str | None:
    return unmet({tag, "check_x_001"}, product)


ONE = facts(tenant("blue"))
TWO = facts(tenant("blue"), tenant("green"))
MIXED = facts(tenant("blue"), tenant("red", placement=Placement.DEDICATED))
RICH_SHARED = facts(tenant("blue", RICH), tenant("green"))
RICH_DEDICATED = facts(tenant("blue"), tenant("red", RICH, Placement.DEDICATED))

# tag -> (facts that meet it, facts that do not, the reason of those that do not)
CASES = {
    "needs_identity_broker": (
        facts(tenant("blue"), broker=True),
        ONE,
        "not applicable: product pks names no identity broker in the targets file (broker:)",
    ),
    "needs_two_tenants_on_a_cluster": (TWO, MIXED, "not applicable: fewer than two tenants share a cluster"),
    "needs_two_clusters": (MIXED, TWO, "not applicable: product pks has a single cluster in the targets file"),
    "needs_mixed_tenancy": (MIXED, TWO, "not applicable: product pks has no mixed tenancy in the targets file"),
    "needs_node_port_allowed": (
        facts(tenant("blue"), tenant("green", RICH)),
        RICH_SHARED,
        "not applicable: the plan of blue, which would expose a node port, allows none",
    ),
    "needs_plan_forbidding_host_namespaces": (
        RICH_SHARED,
        RICH_DEDICATED,
        "not applicable: no shared tenant's plan forbids host namespaces",
    ),
    "needs_plan_limits": (
        RICH_DEDICATED,
        TWO,
        "not applicable: no tenant's plan sets a quota or default requests or limits",
    ),
    "needs_plan_object_counts": (
        RICH_DEDICATED,
        TWO,
        "not applicable: no tenant's plan sets an object count (configmaps, secrets, services)",
    ),
    "needs_plan_storage_quotas": (
        RICH_SHARED,
        RICH_DEDICATED,
        "not applicable: no shared tenant's plan sets requests.storage and persistentvolumeclaims quotas",
    ),
    "needs_private_registry": (
        facts(tenant("blue"), registry=True),
        ONE,
        "not applicable: no private registry (fix: give the product an images section with a pull_secret)",
    ),
}


def test_every_need_has_a_case() -> None:
    assert set(CASES) == set(NEEDS)


@pytest.mark.parametrize("tag", sorted(CASES))
def test_a_need_met_applies(tag: str) -> None:
    assert reason(tag, CASES[tag][0]) is None


@pytest.mark.parametrize("tag", sorted(CASES))
def test_a_need_unmet_is_not_applicable_with_its_reason(tag: str) -> None:
    _, unmet_facts, why = CASES[tag]
    assert reason(tag, unmet_facts) == why


def test_tags_that_name_no_need_always_apply() -> None:
    assert unmet({"rbac", "shared_cluster", "check_rbac_001"}, facts()) is None


def test_the_first_unmet_need_in_the_table_gives_the_reason() -> None:
    tags = {"needs_two_tenants_on_a_cluster", "needs_private_registry", "needs_identity_broker"}
    assert unmet(tags, ONE) == CASES["needs_identity_broker"][2]
    assert unmet(tags, facts(tenant("blue"), broker=True)) == CASES["needs_two_tenants_on_a_cluster"][2]
    assert unmet(tags, facts(tenant("a"), tenant("b"), broker=True)) == CASES["needs_private_registry"][2]


def test_a_private_registry_is_one_that_needs_a_login_or_the_labs() -> None:
    assert serves_private_registry("lab", images=False, login=False)
    assert not serves_private_registry("kubeconfig", images=False, login=False)
    assert serves_private_registry("kubeconfig", images=True, login=True)
    assert not serves_private_registry("lab", images=True, login=False)


def test_applicable_returns_what_a_step_found_and_refuses_nothing() -> None:
    assert applicable(["blue"], "needs_two_tenants_on_a_cluster") == ["blue"]
    assert applicable(0, "needs_x") == 0
    for nothing in (None, [], {}, ()):
        with pytest.raises(LookupError, match="fix: tag the scenario @needs_x"):
            applicable(nothing, "needs_x")


def test_every_need_tag_of_a_feature_is_a_registered_need() -> None:
    used = {
        tag for path in (ROOT / "features").rglob("*.feature") for tag in re.findall(r"@(needs_\w+)", path.read_text())
    }
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    registered = {line.split(":")[0] for line in markers if line.startswith("needs_")}
    assert used == set(NEEDS) == registered


def test_the_example_targets_facts() -> None:
    settings = build_settings(targets_path=DEFAULT_TARGETS, environment={})
    cfcr, pks = (product_facts(settings, name) for name in ("cfcr", "pks"))
    assert cfcr.private_registry  # the lab's registry
    assert not cfcr.broker  # no broker: section
    assert [t.name for t in pks.tenants] == ["blue", "green", "red"]
    assert unmet({"needs_mixed_tenancy"}, cfcr) is not None
    assert unmet({"needs_mixed_tenancy", "needs_two_clusters", "needs_plan_object_counts"}, pks) is None


def test_only_a_product_naming_a_broker_meets_the_federation_checks_need() -> None:
    example = build_settings(targets_path=DEFAULT_TARGETS, environment={})
    for name in ("pks", "cfcr"):
        why = unmet({"needs_identity_broker"}, product_facts(example, name))
        assert why == f"not applicable: product {name} names no identity broker in the targets file (broker:)"
    brokered = build_settings(targets_path=ROOT / "tests" / "lab" / "data" / "targets_broker.yaml", environment={})
    assert unmet({"needs_identity_broker"}, product_facts(brokered, "pks")) is None


def test_a_storage_quota_promise_sets_both_the_bytes_and_the_number_of_claims() -> None:
    assert sets_storage_quotas(RICH)
    assert not sets_storage_quotas(BARE)
    assert not sets_storage_quotas(Plan("bytes only", quota=Quota(hard={"requests.storage": "1Gi"})))
