"""The `kubeconfig:` section of a product the suite reaches through a kubeconfig file (`backend: kubeconfig`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from pydantic import Field

from harness.errors import ConfigError
from provisioning.backends.section import SectionSpec
from provisioning.fields import EnvName, Spec


class IdentitySpec(Spec):
    """Where a tenant identity's credentials come from on a cluster the suite does not create."""

    context: str | None = None  # a context of the product's kubeconfig file
    token_env: EnvName | None = None  # an environment variable holding a bearer token


class KubeconfigSpec(SectionSpec):
    """Clusters that already exist: the shared tenants' context, one context per dedicated tenant, and the
    credentials of tenant identities (`<tenant>-admin`, ...)."""

    path_fields: ClassVar[tuple[str, ...]] = ("path",)
    redacted_fields: ClassVar[tuple[str, ...]] = ()
    cluster_name_limit: ClassVar[tuple[int, str] | None] = None  # the clusters exist; their names are the provider's

    path: str
    context: str | None = None
    tenant_contexts: dict[str, str] = Field(default_factory=dict)
    identities: dict[str, IdentitySpec] = Field(default_factory=dict)
    impersonate_missing_identities: bool = False

    def tenant_problems(self, label: str, where: str, tenant: str, placement: str) -> Iterable[ConfigError]:
        """A dedicated tenant needs its own cluster, so its own context in `tenant_contexts`."""
        if placement == "dedicated" and tenant not in self.tenant_contexts:
            yield ConfigError(
                label,
                f"{where}.placement",
                f'dedicated tenant "{tenant}" has no context (add it to kubeconfig.tenant_contexts)',
            )
