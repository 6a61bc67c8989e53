"""Client certificates for tenant identities, issued by the cluster through its CertificateSigningRequest API.

The suite makes the key pair here (ECDSA P-256, with `cryptography`), sends only the request
(CN = user, one O per group: how the API server's x509 authenticator reads them), approves it
as the admin through the `approval` subresource, waits for `status.certificate` and deletes the
CSR object. The signer is `kubernetes.io/kube-apiserver-client` (Kubernetes docs, "Certificates
and Certificate Signing Requests": client certificates the API server trusts; never approved
automatically); `expirationSeconds` keeps the certificate short-lived (24 h by default; the
signer may shorten it, not lengthen it). The private key never leaves the process except into
the credential it returns, registered as a secret for redaction.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.errors import InfrastructureError
from harness.redaction import register
from harness.wait import StopTrying, WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.onboarding import MANAGED_BY

SIGNER = "kubernetes.io/kube-apiserver-client"
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
DEFAULT_EXPIRATION_SECONDS = 24 * 3600
MIN_EXPIRATION_SECONDS = 600  # the API's minimum for spec.expirationSeconds
DEFAULT_ISSUE_TIMEOUT = 60.0  # seconds from approval to status.certificate; a signing controller takes < 5 s


class CsrRefused(InfrastructureError):
    """The cluster does not issue client certificates through the CSR API; `reason` says why
    (forbidden, API not served, denied or failed, no signer answering within the deadline)."""

    def __init__(self, user: str, reason: str) -> None:
        self.user = user
        self.reason = reason
        super().__init__(f"no CSR certificate for {user}: {reason}")


@dataclass(frozen=True)
class IssuedCertificate:
    """A client certificate the cluster signed and its private key (PEM). Never logged."""

    cert_pem: bytes
    key_pem: bytes
    not_after: str  # ISO 8601, UTC

    def __post_init__(self) -> None:
        register(self.key_pem)

    def __repr__(self) -> str:
        return f"IssuedCertificate(<pem>, not_after={self.not_after})"


def signing_request(user: str, groups: tuple[str, ...], key: ec.EllipticCurvePrivateKey) -> bytes:
    """A PKCS#10 request (PEM) with CN=`user` and one O per group, in order, signed by `key`."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    subject = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, user)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def object_name(user: str) -> str:
    """A CSR object name for `user`: a DNS subdomain (lower case, `:` and others become `-`) with a
    random suffix, so two runs minting for the same user never meet."""
    base = re.sub(r"[^a-z0-9.-]+", "-", user.lower()).strip("-.")[:200] or "identity"
    return f"caas-{base}-{secrets.token_hex(4)}"


def csr_object(name: str, request_pem: bytes, expiration_seconds: int) -> dict[str, Any]:
    """The CertificateSigningRequest (certificates.k8s.io/v1) asking `SIGNER` for a client certificate."""
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name, "labels": {MANAGED_BY: "caas-conformance"}},
        "spec": {
            "request": base64.b64encode(request_pem).decode(),
            "signerName": SIGNER,
            "expirationSeconds": expiration_seconds,
            "usages": ["digital signature", "client auth"],
        },
    }


def _refusal(user: str, step: str, failure: kube.ApiFailure) -> CsrRefused | kube.ApiFailure:
    """A refusal (`answers.classify` says denied: the authorizer, or an admission policy or webhook,
    also when it answers 422) or 404/405 (not served) is the cluster's answer; anything else stays an
    API failure."""
    if answers.classify(failure.status, failure.message).kind is answers.Kind.DENIED:
        return CsrRefused(user, f"the admin may not {step} ({failure.message}; fix: grant it, or use impersonation)")
    if failure.status in (404, 405):
        return CsrRefused(user, f"the cluster does not serve certificates.k8s.io/v1 ({failure.status} on {step})")
    return failure


def _condition(csr: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (csr.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status", "True") == "True":
            return dict(condition)
    return None


def mint(
    api: Any,
    user: str,
    groups: tuple[str, ...],
    *,
    expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
    issue_timeout: float = DEFAULT_ISSUE_TIMEOUT,
) -> IssuedCertificate:
    """Have the cluster behind the admin client `api` sign a client certificate for `user` in `groups`.

    Creates the CSR, approves it, waits up to `issue_timeout` seconds for the certificate and deletes
    the CSR whatever happened. Raises CsrRefused when the cluster will not issue (403/404 on a step,
    Denied or Failed, nothing signed in time) and kube.ApiFailure for other API errors.
    """
    if expiration_seconds < MIN_EXPIRATION_SECONDS:
        raise ValueError(f"expiration_seconds must be at least {MIN_EXPIRATION_SECONDS} (the API's minimum)")
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    register(key_pem)
    name = object_name(user)
    try:
        created = kube.request(
            api, "POST", CSRS, body=csr_object(name, signing_request(user, groups, key), expiration_seconds)
        )
    except kube.ApiFailure as failure:
        raise _refusal(user, "create CertificateSigningRequests", failure) from None
    try:
        cert_pem = _approve_and_wait(api, user, name, created, issue_timeout)
    finally:
        kube.delete_if_present(api, f"{CSRS}/{name}")
    return _checked(user, groups, key, cert_pem, key_pem)


def _approve_and_wait(api: Any, user: str, name: str, created: dict[str, Any], issue_timeout: float) -> bytes:
    status = created.setdefault("status", {})
    status["conditions"] = [
        *(status.get("conditions") or []),
        {
            "type": "Approved",
            "status": "True",
            "reason": "CaasConformanceApproved",
            "message": "a tenant identity of a caas-conformance run, approved by the run's admin",
        },
    ]
    try:
        kube.request(api, "PUT", f"{CSRS}/{name}/approval", body=created)
    except kube.ApiFailure as failure:
        raise _refusal(user, f"approve for signer {SIGNER}", failure) from None

    def fetch() -> dict[str, Any]:
        csr: dict[str, Any] = kube.request(api, "GET", f"{CSRS}/{name}")
        for kind in ("Denied", "Failed"):
            condition = _condition(csr, kind)
            if condition is not None:
                why = condition.get("message") or condition.get("reason") or "no message"
                raise StopTrying(f"the CSR was {kind.lower()}: {why}")
        return csr

    try:
        csr = wait_until(
            fetch,
            lambda c: bool((c.get("status") or {}).get("certificate")),
            timeout=issue_timeout,
            what=f"the signer {SIGNER} to issue the certificate of CSR {name}",
            interval=0.2,
            max_interval=2.0,
            retry_on=(kube.ApiFailure,),
        )
    except StopTrying as stop:
        raise CsrRefused(user, str(stop)) from None
    except WaitTimeout:
        raise CsrRefused(
            user,
            f"approved, but no certificate within {issue_timeout:g}s: the cluster has no signer for {SIGNER} "
            "(e.g. a managed control plane, or a controller-manager without --cluster-signing-* files)",
        ) from None
    return base64.b64decode(csr["status"]["certificate"])


def _checked(
    user: str, groups: tuple[str, ...], key: ec.EllipticCurvePrivateKey, cert_pem: bytes, key_pem: bytes
) -> IssuedCertificate:
    """The issued certificate, if it is for our key and carries the subject we asked for."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise CsrRefused(user, "the signer returned no PEM certificate") from None
    if cert.public_key() != key.public_key():
        raise CsrRefused(user, "the issued certificate is for another key")
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    organizations = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    if names != [user] or sorted(organizations) != sorted(groups):
        raise CsrRefused(user, f"the signer changed the subject (CN {names}, O {list(organizations)})")
    return IssuedCertificate(cert_pem, key_pem, cert.not_valid_after_utc.isoformat())
