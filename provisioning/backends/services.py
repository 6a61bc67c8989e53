"""The environment services a check engine uses besides the product's clusters, as small interfaces: a
private registry the tenants' images can go to (RegistrySource) and an identity broker whose tenants' IdPs
the suite can fill with users and whose tokens the product's clusters trust (IdentityBroker).

The engines in checks/ judge clusters the suite did not build, so they name these interfaces only; which
implementation serves a product is chosen by its backend and targets-file sections
(provisioning.backends.product_services), and the embedded lab's implementations live in
provisioning.backends.lab_services (the lab is below the backends). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeAlias

from harness.errors import InfrastructureError
from provisioning.images.pull_secret import DockerConfig


@dataclass(frozen=True)
class PrivateRegistry:
    """Where tenants' private repositories go: `location` (HOST[:PORT][/PATH]), the login that may push
    and pull there, the registry's CA file (None: the system's) and what it is, for the evidence."""

    location: str
    login: DockerConfig = field(repr=False)
    ca_file: Path | None
    what: str

    def repository(self, run_id: str, owner: str) -> str:
        """The owner's private repository of this run: <location>/<run id>/<owner>-private (`owner`: a
        tenant's name, with its product's where products share the registry)."""
        return f"{self.location}/{run_id.lower()}/{owner}-private"


class RegistrySource(Protocol):
    """A private registry a product's nodes pull from, served on demand."""

    def serve(self) -> PrivateRegistry:
        """The registry, serving (started first where the environment runs it); InfrastructureError when
        it does not serve."""
        ...


@dataclass(frozen=True)
class ProductRegistry:
    """RegistrySource of a product's own `images` registry with its pull secret: it serves already."""

    location: str
    login: DockerConfig = field(repr=False)
    ca_file: Path | None = None

    def serve(self) -> PrivateRegistry:
        return PrivateRegistry(self.location, self.login, self.ca_file, f"the product's registry {self.location}")


class BrokeredIdps(Protocol):
    """A broker set up for a run: logins through it and membership changes at each tenant's IdP."""

    def id_token(self, tenant: str, login: str) -> str:
        """A brokered ID token of `login` at `tenant`'s IdP (an error of the broker's when it gives none)."""
        ...

    def membership(self, tenant: str, login: str, groups: Iterable[str], *, add: bool) -> None:
        """Put `login` at `tenant`'s IdP into `groups` (add) or take it out, as the customer's
        administrator would; InfrastructureError naming a user or group the IdP does not have."""
        ...


# What IdentityBroker.federate takes, named once for the interface and its implementations:
TenantIdps: TypeAlias = Iterable[tuple[str, str]]  # each tenant's IdP: (tenant, protocol `oidc` or `saml`)
IdpUsers: TypeAlias = Mapping[str, Mapping[str, Sequence[str]]]  # tenant -> login -> its groups at the IdP
ClusterTenants: TypeAlias = Iterable[tuple[str, Sequence[str]]]  # (a cluster handle's name, the tenants it serves)


class IdentityBroker(Protocol):
    """The administration of an identity broker and of the product's trust in it."""

    def federate(
        self, idps: TenantIdps, users: IdpUsers, clusters: ClusterTenants, *, tenant_prefix: bool = True
    ) -> BrokeredIdps:
        """Make each tenant's IdP of `idps` ((tenant, protocol), protocol `oidc` or `saml`) anew with
        `users[tenant]` (login -> its groups at the IdP; passwords are made here), and make the API
        servers of `clusters` (each a cluster handle's name and the tenants it serves) trust the broker
        for their tenants' users only (groups without the tenant with `tenant_prefix=False`). Raises
        what the broker or a cluster raises (InfrastructureError, WaitTimeout, ...)."""
        ...


@dataclass(frozen=True)
class NoBroker:
    """IdentityBroker of a broker the suite cannot drive: every federation raises, naming why."""

    why: str

    def federate(
        self, idps: TenantIdps, users: IdpUsers, clusters: ClusterTenants, *, tenant_prefix: bool = True
    ) -> BrokeredIdps:
        raise InfrastructureError(self.why)
