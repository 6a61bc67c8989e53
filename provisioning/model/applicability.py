"""Which scenarios apply to a product's tenancy, read from the placement tags of their feature (pure).

A feature tagged `@shared_cluster` concerns tenants that share a cluster (a namespace each); one tagged
`@dedicated_cluster` concerns tenants with a cluster of their own; a feature with both tags concerns
either kind. A scenario applies when the product's tenancy in the targets file has a tenant of a
placement its tags name; otherwise it is not applicable, with the reason, and never a pass (the report's
n/a). Finer conditions (two tenants on one cluster, what a plan promises, a private registry) stay with
the checks that need them, which read them from the same model.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from provisioning.model.tenancy import Placement, Tenant

PLACEMENT_TAGS = {"shared_cluster": Placement.SHARED, "dedicated_cluster": Placement.DEDICATED}


def not_applicable(tags: Collection[str], tenants: Iterable[Tenant], product: str) -> str | None:
    """Why a scenario with these feature and scenario `tags` does not apply to `product`, whose tenants
    are `tenants`; None when it applies (also when its tags name no placement)."""
    wanted = {PLACEMENT_TAGS[tag] for tag in tags if tag in PLACEMENT_TAGS}
    if not wanted or wanted & {tenant.placement for tenant in tenants}:
        return None
    kinds = " or ".join(sorted(placement.value for placement in wanted))
    return f"not applicable: product {product} has no {kinds} tenant in the targets file"
