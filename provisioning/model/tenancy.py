"""Products, plans, tenants and identities, and how tenants are placed on clusters.

Everything here is a frozen dataclass built from a validated targets file; the
functions compute facts that follow from the model (namespaces, identities,
cluster placements) and never touch a cluster.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


class Placement(enum.StrEnum):
    """Where a tenant's workloads live."""

    SHARED = "shared"  # a namespace on a cluster shared with other tenants
    DEDICATED = "dedicated"  # a cluster of its own


class PodSecurityLevel(enum.StrEnum):
    """Pod Security Standards level enforced on a tenant namespace."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"


class AuthorizationMode(enum.StrEnum):
    """How the product's API server authorizes tenant requests."""

    RBAC = "rbac"
    ABAC = "abac"


class Role(enum.StrEnum):
    """A tenant identity's role inside its tenant, mapped to a built-in ClusterRole."""

    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"

    @property
    def cluster_role(self) -> str:
        return {Role.ADMIN: "admin", Role.DEVELOPER: "edit", Role.VIEWER: "view"}[self]


class Authenticator(enum.StrEnum):
    """How an identity proves who it is to the API server."""

    CERTIFICATE = "certificate"  # a client certificate (or the product's static token): names as issued
    OIDC = "oidc"  # an ID token of the product's OIDC issuer: the API server prefixes its names

    @property
    def prefix(self) -> str:
        """What the API server puts before the user and group names this authenticator vouches for;
        with a prefix no issuer can name a `system:` user or group."""
        return "oidc:" if self is Authenticator.OIDC else ""


CERTIFICATE_ONLY: tuple[Authenticator, ...] = (Authenticator.CERTIFICATE,)


@dataclass(frozen=True)
class Quota:
    """ResourceQuota hard limits and LimitRange defaults of a plan (Kubernetes quantities)."""

    hard: Mapping[str, str] = field(default_factory=dict)
    default_limits: Mapping[str, str] = field(default_factory=dict)
    default_requests: Mapping[str, str] = field(default_factory=dict)


SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")  # every Service type Kubernetes knows


@dataclass(frozen=True)
class Plan:
    """A t-shirt size a product offers: size, quotas and what its pods may do."""

    name: str
    workers: int = 1
    allow_privileged: bool = False
    pod_security: PodSecurityLevel = PodSecurityLevel.RESTRICTED
    authorization: AuthorizationMode = AuthorizationMode.RBAC
    quota: Quota = field(default_factory=Quota)
    control_plane_egress: bool = False  # tenant pods may open connections to the API server
    datastore: str = ""  # the vSphere datastore its volumes' disks must be in ("" where not vSphere)
    service_types: tuple[str, ...] = SERVICE_TYPES  # the Service types its tenants may create (ClusterIP always)
    external_ips: tuple[str, ...] = ()  # CIDRs its tenants may give Services as externalIPs (none by default)


def role_group(tenant: str, role: Role, authenticator: Authenticator = Authenticator.CERTIFICATE) -> str:
    """The group of a tenant's identities in `role`, as the API server sees it."""
    return f"{authenticator.prefix}{tenant}:{role.value}s"


@dataclass(frozen=True)
class Identity:
    """A tenant user as the API server sees it (`user`, `groups`); an OIDC identity is the same person
    as the certificate identity of its tenant and role, vouched for by the product's issuer."""

    user: str
    tenant: str
    role: Role
    authenticator: Authenticator = Authenticator.CERTIFICATE

    @property
    def login(self) -> str:
        """The name the credential carries (the issuer's login); the API server adds the prefix."""
        return self.user.removeprefix(self.authenticator.prefix)

    @property
    def claimed_groups(self) -> tuple[str, ...]:
        """The groups the credential carries (certificate O fields, the ID token's groups claim)."""
        return (role_group(self.tenant, self.role), f"{self.tenant}:members")

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.authenticator.prefix + group for group in self.claimed_groups)


@dataclass(frozen=True)
class Tenant:
    """A customer of the platform, on one plan of one product."""

    name: str
    plan: str
    placement: Placement = Placement.SHARED
    namespaces: tuple[str, ...] = ()  # the provider's namespaces (onboarding: existing); none: the suite's own

    @property
    def namespace(self) -> str:
        """Where the checks work: the first of the provider's namespaces, else the suite's `tenant-<name>`."""
        return self.namespaces[0] if self.namespaces else f"tenant-{self.name}"

    @property
    def identities(self) -> tuple[Identity, ...]:
        """The tenant's certificate identities: admin, developer, viewer."""
        return self.identities_for(CERTIFICATE_ONLY)

    def identities_for(self, authenticators: Iterable[Authenticator]) -> tuple[Identity, ...]:
        """The tenant's identities under each of `authenticators`, in that order."""
        return tuple(
            Identity(f"{a.prefix}{self.name}-{role.value}", self.name, role, a) for a in authenticators for role in Role
        )


@dataclass(frozen=True)
class Product:
    """A Kubernetes-as-a-service product under test and its plan catalog."""

    name: str
    backend: str
    plans: tuple[Plan, ...]

    def plan(self, name: str) -> Plan:
        for plan in self.plans:
            if plan.name == name:
                return plan
        known = ", ".join(p.name for p in self.plans) or "none"
        raise KeyError(f'unknown plan "{name}" for product "{self.name}" (one of: {known})')


@dataclass(frozen=True)
class ClusterPlacement:
    """One cluster to provision for a product and the tenants that live on it."""

    product: str
    name: str
    placement: Placement
    tenants: tuple[Tenant, ...]


@dataclass(frozen=True)
class TenancyModel:
    """Which tenants of which product share which cluster."""

    products: tuple[Product, ...]
    tenants: Mapping[str, tuple[Tenant, ...]]  # product name -> its tenants

    def product(self, name: str) -> Product:
        for product in self.products:
            if product.name == name:
                return product
        known = ", ".join(p.name for p in self.products)
        raise KeyError(f'unknown product "{name}" (one of: {known})')

    def clusters(self, product: str, prefix: str = "") -> tuple[ClusterPlacement, ...]:
        """The clusters a product needs: one shared cluster (if any tenant is shared)
        then one dedicated cluster per dedicated tenant, in declaration order.
        `prefix` keeps the cluster names of concurrent suites on one lab apart."""
        tenants = self.tenants.get(product, ())
        shared = tuple(t for t in tenants if t.placement is Placement.SHARED)
        placements: list[ClusterPlacement] = []
        if shared:
            placements.append(ClusterPlacement(product, f"{prefix}{product}-shared", Placement.SHARED, shared))
        placements.extend(
            ClusterPlacement(product, f"{prefix}{product}-{t.name}", Placement.DEDICATED, (t,))
            for t in tenants
            if t.placement is Placement.DEDICATED
        )
        return tuple(placements)

    def all_clusters(self) -> Iterator[ClusterPlacement]:
        for product in self.products:
            yield from self.clusters(product.name)
