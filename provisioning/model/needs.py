"""What a scenario needs of a product's tenancy beyond a placement, read from its `@needs_*` tags (pure).

A check that judges two tenants against each other needs two tenants on one cluster; one that holds a
plan to a promise needs a plan that makes it; a federation check needs an identity broker. Each need is
a predicate of what the targets file says of the product (`ProductFacts`): its plans, its tenants (laid
out on clusters as `TenancyModel.clusters` lays them) and two facts of its sections. The plugin reads a
scenario's tags before its first step, so a product that lacks what the scenario needs provisions
nothing for it and reports it not applicable with the reason (the report's n/a), never a pass.
`NEEDS` is evaluated in its order; the first unmet need gives the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from provisioning.model.object_limits import count_probes
from provisioning.model.privileges import forbidden_case
from provisioning.model.tenancy import Placement, Plan, Product, TenancyModel, Tenant

# the quota keys of a plan's storage promise: bytes of claims and the number of claims (check_storage_005)
STORAGE_QUOTA_KEYS = ("requests.storage", "persistentvolumeclaims")

T = TypeVar("T")


@dataclass(frozen=True)
class ProductFacts:
    """What a scenario's needs read of one product in the targets file.

    `tenants`: its tenants in declaration order; `broker`: it names an identity broker (`broker:`);
    `private_registry`: its nodes pull the suite's images from a registry that needs a login
    (`serves_private_registry`)."""

    product: Product
    tenants: tuple[Tenant, ...]
    broker: bool = False
    private_registry: bool = False

    def shared(self) -> tuple[Tenant, ...]:
        """The tenants that share the product's shared cluster, in declaration order."""
        return tuple(t for t in self.tenants if t.placement is Placement.SHARED)

    def plans(self, tenants: Collection[Tenant]) -> list[Plan]:
        return [self.product.plan(t.plan) for t in tenants]

    def clusters(self) -> int:
        """How many clusters the tenancy has (one shared cluster, one per dedicated tenant)."""
        return len(TenancyModel((self.product,), {self.product.name: self.tenants}).clusters(self.product.name))


def serves_private_registry(backend: str, images: bool, login: bool) -> bool:
    """Whether the product's nodes pull the suite's images from a registry that needs a login: its
    `images` registry when that section names a `pull_secret` (`login`); without an `images` section the
    embedded lab's registry (backend `lab`); else none. checks.privileged.private_images.private_registry
    finds the registry this says there is."""
    return login if images else backend == "lab"


def promises_limits(plan: Plan) -> bool:
    """Whether the plan promises any limit (a quota, default requests or default limits): a plan that
    sets none promises nothing check_privileged_005 could observe."""
    quota = plan.quota
    return bool(quota.hard or quota.default_requests or quota.default_limits)


def _node_port_allowed(facts: ProductFacts) -> bool:
    """The first shared tenant's plan allows NodePort Services (it exposes check_network_006's port)."""
    shared = facts.shared()
    return not shared or "NodePort" in facts.product.plan(shared[0].plan).service_types


def _node_port_reason(facts: ProductFacts) -> str:
    return f"the plan of {facts.shared()[0].name}, which would expose a node port, allows none"


def sets_storage_quotas(plan: Plan) -> bool:
    """Whether the plan's quota sets both STORAGE_QUOTA_KEYS (check_storage_005 fills both)."""
    return all(key in plan.quota.hard for key in STORAGE_QUOTA_KEYS)


Need = tuple[Callable[[ProductFacts], bool], Callable[[ProductFacts], str]]  # (is met, why not)

NEEDS: dict[str, Need] = {
    "needs_identity_broker": (
        lambda f: f.broker,
        lambda f: f"product {f.product.name} names no identity broker in the targets file (broker:)",
    ),
    "needs_two_tenants_on_a_cluster": (
        lambda f: len(f.shared()) >= 2,
        lambda f: "fewer than two tenants share a cluster",
    ),
    "needs_two_clusters": (
        lambda f: f.clusters() >= 2,
        lambda f: f"product {f.product.name} has a single cluster in the targets file",
    ),
    "needs_mixed_tenancy": (
        lambda f: {t.placement for t in f.tenants} == set(Placement),
        lambda f: f"product {f.product.name} has no mixed tenancy in the targets file",
    ),
    "needs_node_port_allowed": (_node_port_allowed, _node_port_reason),
    "needs_plan_forbidding_host_namespaces": (
        lambda f: any(forbidden_case(plan) is not None for plan in f.plans(f.shared())),
        lambda f: "no shared tenant's plan forbids host namespaces",
    ),
    "needs_plan_limits": (
        lambda f: any(promises_limits(plan) for plan in f.plans(f.tenants)),
        lambda f: "no tenant's plan sets a quota or default requests or limits",
    ),
    "needs_plan_object_counts": (
        lambda f: any(count_probes(plan) for plan in f.plans(f.tenants)),
        lambda f: "no tenant's plan sets an object count (configmaps, secrets, services)",
    ),
    "needs_plan_storage_quotas": (
        lambda f: any(sets_storage_quotas(plan) for plan in f.plans(f.shared())),
        lambda f: "no shared tenant's plan sets {} and {} quotas".format(*STORAGE_QUOTA_KEYS),
    ),
    "needs_private_registry": (
        lambda f: f.private_registry,
        lambda f: "no private registry (fix: give the product an images section with a pull_secret)",
    ),
}


def unmet(tags: Collection[str], facts: ProductFacts) -> str | None:
    """The reason of the first need in `NEEDS` that `tags` name and `facts` do not meet ("not applicable:
    ..."); None when every named need is met (also when `tags` name none)."""
    for tag, (met, why_not) in NEEDS.items():
        if tag in tags and not met(facts):
            return f"not applicable: {why_not(facts)}"
    return None


def applicable(value: T | None, tag: str) -> T:
    """`value` as a step found it (a cluster, pods, a table), which every product meeting the need `tag`
    has: the plugin skipped the scenario otherwise. None or an empty collection means the scenario lacks
    the tag: LookupError naming it (an ERROR, never a pass)."""
    if value is None or (isinstance(value, Collection) and not value):
        raise LookupError(f"the step needs what @{tag} promises and found none (fix: tag the scenario @{tag})")
    return value
