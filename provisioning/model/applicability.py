"""Which scenarios apply to a product's tenancy, read from the tags of their feature and scenario (pure).

A feature tagged `@shared_cluster` concerns tenants that share a cluster (a namespace each); one tagged
`@dedicated_cluster` concerns tenants with a cluster of their own; a feature with both tags concerns
either kind. A scenario applies when the product's tenancy in the targets file has a tenant of a
placement its tags name, and meets every `@needs_*` tag (provisioning.model.needs: two tenants on a
cluster, what a plan promises, a private registry, an identity broker, ...); otherwise it is not
applicable, with the reason, and never a pass (the report's n/a). Every fact read here is in the targets
file: the plugin decides before the scenario's first step, so nothing is provisioned for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from provisioning.model.needs import ProductFacts, unmet
from provisioning.model.tenancy import Placement, Tenant

PLACEMENT_TAGS = {"shared_cluster": Placement.SHARED, "dedicated_cluster": Placement.DEDICATED}


def not_placed(tags: Collection[str], tenants: Iterable[Tenant], product: str) -> str | None:
    """Why a scenario with these feature and scenario `tags` does not apply to `product`, whose tenants
    are `tenants`, by placement; None when it applies (also when its tags name no placement)."""
    wanted = {PLACEMENT_TAGS[tag] for tag in tags if tag in PLACEMENT_TAGS}
    if not wanted or wanted & {tenant.placement for tenant in tenants}:
        return None
    kinds = " or ".join(sorted(placement.value for placement in wanted))
    return f"not applicable: product {product} has no {kinds} tenant in the targets file"


def not_applicable(tags: Collection[str], facts: ProductFacts) -> str | None:
    """Why a scenario with these `tags` does not apply to the product of `facts`: its placement first,
    then its first unmet need ("not applicable: ..."); None when it applies."""
    return not_placed(tags, facts.tenants, facts.product.name) or unmet(tags, facts)
