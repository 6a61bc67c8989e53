"""Credentials for tenant identities on clusters the suite did not build (kubeconfig, pks, bosh):
client certificates the cluster itself issues through its CertificateSigningRequest API
(`provisioning.kube.csr`), and impersonation by the admin only as the explicit fallback.

The targets file decides per product: `identities_via_csr` (default true) asks the cluster for
certificates; a backend allows the fallback where the product offers nothing else (pks, bosh) or
the targets file asks for it (kubeconfig's `impersonate_missing_identities`). Once a cluster
refuses one CSR, the remaining identities of that cluster are not tried again.

Every impersonated credential says why (`Credential.fallback_reason`): the CSR refusal (forbidden,
not served, denied, not signed within the deadline), `identities_via_csr: false`, or an identity whose
authenticator gets no certificate. The run output, the records and the Allure labels show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import InfrastructureError
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.kube import client as kube
from provisioning.kube import csr
from provisioning.model.tenancy import Authenticator, Identity


class NoCredentials(InfrastructureError):
    """Identities left without credentials: the cluster refused CSRs and impersonation is not allowed."""


@dataclass(frozen=True)
class IdentityPolicy:
    """How identities without credentials of their own get some on one product."""

    via_csr: bool = True  # the targets file's identities_via_csr
    impersonation_fallback: bool = False  # impersonate when CSRs are off or refused
    where: str = "products[0]"  # the product's field path, for error lines
    fix: str = "allow impersonation as the fallback"  # what else gives identities credentials
    timeout: float = kube.DEFAULT_TIMEOUT  # per API call
    issue_timeout: float | None = None  # approval to certificate; None: csr.DEFAULT_ISSUE_TIMEOUT
    expiration_seconds: int = csr.DEFAULT_EXPIRATION_SECONDS


def impersonated(identity: Identity, reason: str) -> Credential:
    """The admin impersonating `identity`: its user and every one of its groups; `reason` says why it
    has no credential of its own (e.g. "no CSR certificate for blue-admin: the CSR was denied: ...")."""
    return Credential(impersonate=(identity.user, identity.groups), fallback_reason=reason)


def _fallback_reason(identity: Identity, refused: csr.CsrRefused | None) -> str:
    """Why `identity` is impersonated: the cluster's refusal of the first CSR (the same for every identity
    after it: they are not asked again), or an authenticator that gets no certificate."""
    if identity.authenticator is not Authenticator.CERTIFICATE or refused is None:
        return f"{identity.authenticator.value} identities get no certificate through the CSR API"
    return str(refused)


def issue(handle: ClusterHandle, identities: tuple[Identity, ...], policy: IdentityPolicy) -> dict[str, Credential]:
    """Credentials for `identities` on `handle`'s cluster, keyed by user: certificates through the CSR API
    (certificate identities only), else the impersonation fallback if `policy` allows it.
    Raises NoCredentials naming the refusal and the fix when it does not; kube.ApiFailure for API errors."""
    if not identities:
        return {}
    if not policy.via_csr:
        if not policy.impersonation_fallback:
            raise NoCredentials(
                f"{policy.where}.identities_via_csr is false and impersonation is not allowed: no credentials "
                f"for {', '.join(i.user for i in identities)} (fix: set identities_via_csr: true, or {policy.fix})"
            )
        reason = f"{policy.where}.identities_via_csr is false (certificates are not asked for)"
        return {i.user: impersonated(i, reason) for i in identities}
    issued: dict[str, Credential] = {}
    refused: csr.CsrRefused | None = None
    api = kube.from_kubeconfig(handle.admin_kubeconfig, handle.context, timeout=policy.timeout)
    try:
        for identity in identities:
            if refused is None and identity.authenticator is Authenticator.CERTIFICATE:
                try:
                    certificate = csr.mint(
                        api,
                        identity.login,
                        identity.claimed_groups,
                        expiration_seconds=policy.expiration_seconds,
                        issue_timeout=policy.issue_timeout or csr.DEFAULT_ISSUE_TIMEOUT,
                    )
                except csr.CsrRefused as exc:
                    refused = exc
                else:
                    issued[identity.user] = Credential(cert_pem=certificate.cert_pem, key_pem=certificate.key_pem)
                    continue
            if not policy.impersonation_fallback:
                reason = refused.reason if refused else f"{identity.authenticator.value} identities get no certificate"
                raise NoCredentials(
                    f"cluster {handle.name}: no credentials for {identity.user}: {reason} (fix: {policy.fix})"
                )
            issued[identity.user] = impersonated(identity, _fallback_reason(identity, refused))
    finally:
        api.close()
    return issued
