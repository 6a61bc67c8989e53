"""What the targets file says of a product that the RBAC checks read: its own namespaces and documented
public reads (ProviderScope), and whether its tenancy is the provider's own (`onboarding: existing`)."""

from __future__ import annotations

from checks.rbac.matrix import ProviderScope
from harness.settings import Settings
from provisioning.model.access import PublicRead


def provider_scope(settings: Settings, product_name: str) -> ProviderScope:
    """The product's own namespaces (`provider_namespaces`), its documented public reads (`public_reads`)
    and the non-resource paths it documents as readable by tenants and without credentials
    (`non_resource_reads`, `anonymous_reads`; None when the targets file says nothing), from the
    targets file."""
    spec = settings.targets.product_spec(product_name)
    reads = tuple(
        PublicRead(r.namespace, r.resource, tuple(r.verbs), r.group, tuple(r.names)) for r in spec.public_reads
    )
    documented = (spec.non_resource_reads, spec.anonymous_reads)
    paths = [None if d is None else tuple(d) for d in documented]
    return ProviderScope(tuple(spec.provider_namespaces), reads, paths[0], paths[1])


def provider_onboarding(settings: Settings, product_name: str) -> bool:
    """Whether the product's tenancy is the provider's own (`onboarding: existing` in the targets file)."""
    return settings.targets.product_spec(product_name).onboarding == "existing"
