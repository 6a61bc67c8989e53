"""Minting a client certificate through the CertificateSigningRequest API, against a local server
that answers as the API does (tests/contract/fake_kube_csr.py): the request's subject, approval,
the wait, the lifetime, every refusal as CsrRefused, and the CSR deleted whatever happened."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.redaction import redact
from provisioning.kube import client as kube
from provisioning.kube import csr
from tests.contract.fake_kube_csr import KubeCsrApi

GROUPS = ("caas:blue:viewers", "blue:members")


@pytest.fixture
def served() -> Iterator[tuple[KubeCsrApi, Any]]:
    fake = KubeCsrApi(polls=2)
    with fake.serve() as url:
        api = kube.api_client(kube.Cluster(url, b""), token="admin-token-of-the-test", timeout=5)
        try:
            yield fake, api
        finally:
            api.close()


def test_the_request_carries_the_user_as_cn_and_each_group_as_o() -> None:
    pem = csr.signing_request("blue-viewer", GROUPS, ec.generate_private_key(ec.SECP256R1()))
    subject = x509.load_pem_x509_csr(pem).subject
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["blue-viewer"]
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == list(GROUPS)


def test_object_names_are_dns_subdomains_and_never_repeat() -> None:
    first, second = csr.object_name("oidc:Blue-Admin"), csr.object_name("oidc:Blue-Admin")
    assert first.startswith("caas-oidc-blue-admin-")
    assert first != second


def test_mints_a_short_lived_certificate_for_the_identity_and_deletes_the_csr(served: tuple[KubeCsrApi, Any]) -> None:
    fake, api = served
    issued = csr.mint(api, "blue-viewer", GROUPS, expiration_seconds=3600)
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    assert cert.issuer == fake.ca.subject, "signed by the cluster, not by the suite"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "blue-viewer"
    assert sorted(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)) == sorted(
        GROUPS
    )
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(minutes=55) < lifetime <= datetime.timedelta(hours=1)
    assert fake.csrs == {}, "the CSR is deleted once the certificate is issued"
    methods = [m for m, p in fake.requests if p.startswith(csr.CSRS)]
    assert methods[:2] == ["POST", "PUT"]
    assert methods[-1] == "DELETE"
    assert methods.count("GET") == 3
    assert not any(b"PRIVATE KEY" in body for body in fake.bodies), "the private key never leaves the process"
    assert b"PRIVATE KEY" in issued.key_pem
    assert "PRIVATE" not in repr(issued)
    assert redact(issued.key_pem.decode()) != issued.key_pem.decode(), "the key is a registered secret"


def test_the_default_lifetime_is_a_day(served: tuple[KubeCsrApi, Any]) -> None:
    _fake, api = served
    cert = x509.load_pem_x509_certificate(csr.mint(api, "blue-admin", GROUPS).cert_pem)
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=23) < lifetime <= datetime.timedelta(hours=24)


def test_an_admin_without_the_verb_is_a_refusal_with_the_reason() -> None:
    fake = KubeCsrApi(forbid=True)
    with fake.serve() as url:
        api = kube.api_client(kube.Cluster(url, b""), token="admin-token-of-the-test", timeout=5)
        with pytest.raises(csr.CsrRefused, match=r"blue-admin: the admin may not create CertificateSigningRequests"):
            csr.mint(api, "blue-admin", GROUPS)
        api.close()


def test_an_admission_policy_refusing_the_approval_with_422_is_a_refusal_and_the_csr_is_deleted() -> None:
    fake = KubeCsrApi(policy="no-csr-approval")
    with fake.serve() as url:
        api = kube.api_client(kube.Cluster(url, b""), token="admin-token-of-the-test", timeout=5)
        with pytest.raises(csr.CsrRefused, match=r"may not approve for signer .*ValidatingAdmissionPolicy 'no-csr"):
            csr.mint(api, "blue-admin", GROUPS)
        api.close()
    assert fake.csrs == {}


def test_a_failed_csr_is_a_refusal_and_is_deleted() -> None:
    fake = KubeCsrApi(fail="O=system:masters is not allowed")
    with fake.serve() as url:
        api = kube.api_client(kube.Cluster(url, b""), token="admin-token-of-the-test", timeout=5)
        with pytest.raises(csr.CsrRefused, match=r"the CSR was failed: O=system:masters is not allowed"):
            csr.mint(api, "blue-admin", GROUPS)
        api.close()
    assert fake.csrs == {}


def test_no_signer_is_a_refusal_after_the_deadline_and_the_csr_is_deleted() -> None:
    fake = KubeCsrApi(signer=False)
    with fake.serve() as url:
        api = kube.api_client(kube.Cluster(url, b""), token="admin-token-of-the-test", timeout=5)
        with pytest.raises(
            csr.CsrRefused, match=r"approved, but no certificate within 0.5s: the cluster has no signer"
        ):
            csr.mint(api, "blue-admin", GROUPS, issue_timeout=0.5)
        api.close()
    assert fake.csrs == {}


def test_a_lifetime_under_the_apis_minimum_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="at least 600"):
        csr.mint(object(), "blue-admin", GROUPS, expiration_seconds=60)
