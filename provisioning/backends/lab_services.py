"""The embedded lab's environment services (provisioning.backends.services): the lab registry as a
private registry (provisioning.lab.registry), the lab's Keycloak as the identity broker
(provisioning.lab.keycloak_tenants) and what the lab profile a cluster started with says of its API
server's admission plugins. Both servers are started once per lab home and left running, under a lock of
the lab home (xdist workers of one run that both find one stopped start it once).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from provisioning.backends.services import BrokeredIdps, ClusterTenants, IdpUsers, PrivateRegistry, TenantIdps
from provisioning.lab import cluster, keycloak_tenants, registry
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import PROFILES, profile_under
from provisioning.model.mutations import Mutation

REGISTRY_UP = 60.0  # seconds for the lab registry to serve once started


@dataclass(frozen=True)
class LabRegistrySource:
    """RegistrySource of the lab registry of the lab home `home`."""

    home: Path

    def serve(self) -> PrivateRegistry:
        """The lab registry, started if it is not serving. InfrastructureError when it does not serve
        within REGISTRY_UP seconds; filelock.Timeout when another process holds the lock longer than the
        registry's start may take."""
        with FileLock(str(self.home / "registry.lock"), timeout=REGISTRY_UP + 30):
            served = registry.up(self.home, timeout=REGISTRY_UP)
        return PrivateRegistry(registry.LOCATION, served.login(), served.ca_file, f"the lab registry {registry.HOST}")


@dataclass(frozen=True)
class LabBroker:
    """IdentityBroker of the lab's Keycloak of the lab home `home`, trusted by the home's lab clusters."""

    home: Path

    def federate(
        self, idps: TenantIdps, users: IdpUsers, clusters: ClusterTenants, *, tenant_prefix: bool = True
    ) -> BrokeredIdps:
        """keycloak_tenants.federate for the lab clusters named in `clusters` (ConfigError for a name of
        no lab cluster), with the IdPs keycloak_tenants.customers makes (KeyError for a protocol other
        than oidc and saml); the errors of both."""
        made = keycloak_tenants.customers(idps, users)
        paths = LabPaths(self.home)
        layouts = [(cluster.attach(paths, name).layout, tenants) for name, tenants in clusters]
        return keycloak_tenants.federate(self.home, made, layouts, tenant_prefix=tenant_prefix)


def admission_plugins(profile: str, mutation: Mutation | None) -> tuple[str, ...]:
    """The admission plugins the API server of a lab cluster of `profile` starts with under `mutation`
    (provisioning.lab.profiles; KeyError for a profile the lab does not have)."""
    return tuple(PROFILES[profile_under(profile, mutation)].admission_plugins)
