"""The contract every cluster backend fulfils (lab, kubeconfig, pks, bosh, osb)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.redaction import register
from provisioning.model.tenancy import (
    CERTIFICATE_ONLY,
    Authenticator,
    AuthorizationMode,
    ClusterPlacement,
    Identity,
    Plan,
)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; checks that need more are reported as not applicable."""

    creates_clusters: bool
    mints_certificates: bool
    restarts_api_server: bool  # e.g. to apply ABAC policy or token-file changes, as an operator would
    enforces_network_policy: bool | None = None  # None: unknown until observed
    # How tenant identities can authenticate; onboarding binds the groups of each and the checks ask as each.
    authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY


@dataclass(frozen=True)
class ClusterRequest:
    """One cluster to provision: where it goes, on which plan, for which run."""

    placement: ClusterPlacement
    plan: Plan
    run_id: str


@dataclass(frozen=True)
class Credential:
    """How an identity authenticates: a client certificate, or a bearer token. Never logged."""

    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    token: str | None = None
    kubeconfig: Path | None = None  # a kubeconfig file and context that authenticate the identity
    context: str | None = None
    impersonate: tuple[str, tuple[str, ...]] | None = None  # fallback: the admin, impersonating
    fallback_reason: str = ""  # with `impersonate`: why the identity has no credential of its own

    def __post_init__(self) -> None:
        register(self.key_pem, self.token)

    def __repr__(self) -> str:
        kind = (
            "certificate"
            if self.cert_pem
            else "token"
            if self.token
            else "kubeconfig"
            if self.kubeconfig
            else "impersonation"
            if self.impersonate
            else "none"
        )
        return f"Credential(<{kind}>)"

    @property
    def impersonated(self) -> bool:
        """True when the identity is the admin impersonating it (the explicit fallback): what is observed
        through it is the admin's request with the identity's name and groups, not the tenant's own."""
        return self.impersonate is not None

    @property
    def origin(self) -> str:
        """`impersonated` or `real`: how observations made with this credential are labelled (the
        Allure label `credential`, the RBAC matrix's identity rows)."""
        return "impersonated" if self.impersonated else "real"

    @property
    def origin_detail(self) -> str:
        """`real`, or `impersonated: <why>` (e.g. "impersonated: no CSR certificate for tenant-blue-admin:
        approved, but not signed within 60 s ..."): what the run output, the records and the scenario's
        Allure labels say about an identity observed through the fallback."""
        if not self.impersonated:
            return "real"
        return f"impersonated: {self.fallback_reason or 'no reason recorded'}"


@dataclass(frozen=True)
class ClusterHandle:
    """A provisioned cluster: where its API is, its CA, and the admin's kubeconfig."""

    name: str
    product: str
    server: str
    ca_pem: bytes = field(repr=False)
    admin_kubeconfig: Path
    authorization: AuthorizationMode
    backend: str
    context: str | None = None


class ClusterBackend(Protocol):
    """Creates and releases clusters, and gives tenant identities real credentials."""

    name: str

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do."""
        ...

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        """Create (or look up) the cluster and return when it is ready for tenants."""
        ...

    def release(self, handle: ClusterHandle) -> None:
        """Remove what `provision` created (nothing for clusters the backend does not own)."""
        ...

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        """Real credentials for the identities, keyed by user name; applied to the cluster if needed."""
        ...
