"""Tenant identities on clusters the suite did not build (pks, bosh, kubeconfig) get client certificates
the cluster issues through its CSR API: the product APIs are the local fakes of fake_apis.py, the
cluster's CSR API the local fake of fake_kube_csr.py (tests/lab/test_csr_identities.py does it on a
real cluster). Impersonation is the explicit fallback, with every group, and says so."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from provisioning.backends.csr_identities import NoCredentials
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.kube import csr
from provisioning.model.tenancy import AuthorizationMode, Identity
from tests.contract.fake_apis import Answer, PksApi
from tests.contract.fake_kube_csr import CSRS, KubeCsrApi
from tests.contract.targets_helpers import backend_and_request, product_settings

pytestmark = pytest.mark.contract

PKS_ENV = {"PKS_USER": "alana", "PKS_PASSWORD": "pks-secret-pw"}
BOSH_ENV = {"BOSH_CLIENT": "ci-director", "BOSH_CLIENT_SECRET": "bosh-secret-pw"}
KUBO = Path(__file__).parent / "kubo"


class PksWithCluster(PksApi):
    """The PKS fake whose binds hand out a kubeconfig of the local CSR API server."""

    def __init__(self, kube_url: str) -> None:
        super().__init__(polls=0)
        self.kube_url = kube_url

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        answer = super().handle(method, path, query, headers, body)
        if path.endswith("/binds") and answer.status == 201:
            answer.body["clusters"][0]["cluster"]["server"] = self.kube_url
        return answer


@pytest.fixture
def kube_api() -> Iterator[tuple[KubeCsrApi, str]]:
    api = KubeCsrApi()
    with api.serve() as url:
        yield api, url


def _pks_product(url: str, via_csr: str = "") -> str:
    return f"""\
    - name: p
      backend: pks
      pks:
        {{api_url: "{url}", uaa_url: "{url}", username_env: PKS_USER, password_env: PKS_PASSWORD, poll_seconds: 0.01}}
      plans: [{{name: small}}]
      {via_csr}
    """


def _bosh_product(url: str, via_csr: str = "") -> str:
    return f"""\
    - name: p
      backend: bosh
      bosh:
        director_url: "{url}"
        client_env: BOSH_CLIENT
        client_secret_env: BOSH_CLIENT_SECRET
        manifest: kubo/cfcr.yml
      plans: [{{name: small}}]
      {via_csr}
    """


def _kubeconfig_file(directory: Path, url: str) -> Path:
    path = directory / "cluster.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": url}}],
                "users": [{"name": "admin", "user": {"token": "cluster-admin-token"}}],
                "contexts": [{"name": "admin@c", "context": {"cluster": "c", "user": "admin"}}],
                "current-context": "admin@c",
            }
        )
    )
    return path


def _identities(request: Any) -> tuple[Identity, ...]:
    return tuple(i for t in request.placement.tenants for i in t.identities)


def _handle(kubeconfig: Path, url: str, backend: str) -> ClusterHandle:
    return ClusterHandle("bk-p-shared", "p", url, b"", kubeconfig, AuthorizationMode.RBAC, backend)


def _assert_certificates(issued: dict[str, Credential], identities: tuple[Identity, ...], fake: KubeCsrApi) -> None:
    assert sorted(issued) == sorted(i.user for i in identities)
    for identity in identities:
        credential = issued[identity.user]
        assert credential.origin == "real"
        assert credential.impersonate is None
        assert credential.cert_pem is not None
        cert = x509.load_pem_x509_certificate(credential.cert_pem)
        assert cert.issuer == fake.ca.subject, "issued by the cluster's signer"
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [identity.user]
        organizations = {str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)}
        assert organizations == set(identity.groups), "every group, in the certificate"
    assert len(fake.issued) == len(identities)
    assert fake.csrs == {}, "no CSR object is left on the cluster"


def test_pks_identities_get_certificates_through_the_clusters_csr_api(
    kube_api: tuple[KubeCsrApi, str], tmp_path: Path
) -> None:
    fake, kube_url = kube_api
    pks = PksWithCluster(kube_url)
    with pks.serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _pks_product(url), PKS_ENV))
        assert backend.capabilities.mints_certificates
        handle = backend.provision(request)
        try:
            identities = _identities(request)
            issued = backend.credentials(handle, identities)
        finally:
            backend.release(handle)
    _assert_certificates(issued, identities, fake)
    assert ("POST", CSRS) in fake.requests


def test_pks_falls_back_to_impersonation_with_every_group_when_the_cluster_refuses(tmp_path: Path) -> None:
    fake = KubeCsrApi(forbid=True)
    with fake.serve() as kube_url, PksWithCluster(kube_url).serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _pks_product(url), PKS_ENV))
        handle = backend.provision(request)
        try:
            identities = _identities(request)
            issued = backend.credentials(handle, identities)
        finally:
            backend.release(handle)
    assert {u: c.impersonate for u, c in issued.items()} == {i.user: (i.user, i.groups) for i in identities}
    assert all(c.origin == "impersonated" for c in issued.values())
    assert [r for r in fake.requests if r == ("POST", CSRS)] == [("POST", CSRS)], "refused once, not asked again"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(KUBO, tmp_path / "kubo")
    return tmp_path


def test_bosh_identities_get_certificates_through_the_clusters_csr_api(
    kube_api: tuple[KubeCsrApi, str], workdir: Path
) -> None:
    fake, kube_url = kube_api
    settings = product_settings(workdir, _bosh_product("https://director.example.com:25555"), BOSH_ENV)
    backend, request = backend_and_request(settings)
    identities = _identities(request)
    issued = backend.credentials(_handle(_kubeconfig_file(workdir, kube_url), kube_url, "bosh"), identities)
    _assert_certificates(issued, identities, fake)


def test_bosh_with_identities_via_csr_false_impersonates_without_asking(
    kube_api: tuple[KubeCsrApi, str], workdir: Path
) -> None:
    fake, kube_url = kube_api
    product = _bosh_product("https://director.example.com:25555", "identities_via_csr: false")
    backend, request = backend_and_request(product_settings(workdir, product, BOSH_ENV))
    assert not backend.capabilities.mints_certificates
    identities = _identities(request)
    issued = backend.credentials(_handle(_kubeconfig_file(workdir, kube_url), kube_url, "bosh"), identities)
    assert all(c.impersonate == (u, next(i.groups for i in identities if i.user == u)) for u, c in issued.items())
    assert fake.requests == [], "the cluster's CSR API is not used"


def _kubeconfig_product(path: Path, impersonate: bool) -> str:
    return f"""\
    - name: p
      backend: kubeconfig
      kubeconfig: {{path: {path}, impersonate_missing_identities: {str(impersonate).lower()}}}
      plans: [{{name: small}}]
    """


def _kubeconfig_backend(tmp_path: Path, url: str, impersonate: bool) -> tuple[Any, Any, Path]:
    path = _kubeconfig_file(tmp_path, url)
    backend, request = backend_and_request(product_settings(tmp_path, _kubeconfig_product(path, impersonate), {}))
    return backend, request, path


def test_kubeconfig_identities_without_credentials_get_certificates(
    kube_api: tuple[KubeCsrApi, str], tmp_path: Path
) -> None:
    fake, kube_url = kube_api
    backend, request, _path = _kubeconfig_backend(tmp_path, kube_url, impersonate=False)
    handle = backend.provision(request)
    identities = _identities(request)
    _assert_certificates(backend.credentials(handle, identities), identities, fake)


def test_kubeconfig_refused_csrs_without_the_fallback_are_one_clear_error(tmp_path: Path) -> None:
    fake = KubeCsrApi(forbid=True)
    with fake.serve() as kube_url:
        backend, request, _path = _kubeconfig_backend(tmp_path, kube_url, impersonate=False)
        handle = backend.provision(request)
        with pytest.raises(NoCredentials) as refused:
            backend.credentials(handle, _identities(request))
    text = str(refused.value)
    assert "no credentials for blue-admin: the admin may not create CertificateSigningRequests" in text
    assert (
        "fix: name its credentials in products[0].kubeconfig.identities, or set impersonate_missing_identities" in text
    )


def test_kubeconfig_refused_csrs_with_the_fallback_impersonate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csr, "DEFAULT_ISSUE_TIMEOUT", 0.5)
    fake = KubeCsrApi(signer=False)
    with fake.serve() as kube_url:
        backend, request, _path = _kubeconfig_backend(tmp_path, kube_url, impersonate=True)
        handle = backend.provision(request)
        issued = backend.credentials(handle, _identities(request)[:1])
    assert [c.origin for c in issued.values()] == ["impersonated"]
    assert fake.csrs == {}, "the unsigned CSR is deleted"
