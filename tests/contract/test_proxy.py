"""Every backend's HTTP client goes through the target's proxy, with proxy authentication (real tinyproxy)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.http import HttpFailure
from provisioning.lab import pki
from tests.contract.broker_fixtures import PASSWORD, USER, RecordingClusters, served_broker
from tests.contract.fake_apis import BoshApi, PksApi
from tests.contract.targets_helpers import backend_and_request, product_settings
from tests.contract.tinyproxy import PROXY_PASSWORD, PROXY_USER, RunningProxy, tinyproxy

pytestmark = [pytest.mark.contract, pytest.mark.proxy]

PROXY_ENV = {"PROXY_USER": PROXY_USER, "PROXY_PASSWORD": PROXY_PASSWORD}


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RunningProxy]:
    if shutil.which("tinyproxy") is None:
        pytest.fail("tinyproxy is not installed (fix: make system)")
    with tinyproxy(tmp_path) as running:
        yield running


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1: the fake APIs speak HTTPS as the products do."""
    ca = pki.new_ca("contract-ca")
    server = pki.issue(ca, "127.0.0.1", ip_addresses=("127.0.0.1",), server=True, client=False)
    paths = (tmp_path / "server.crt", tmp_path / "server.key", tmp_path / "ca.crt")
    paths[0].write_bytes(server.cert_pem)
    paths[1].write_bytes(server.key_pem)
    paths[2].write_bytes(ca.cert_pem)
    return paths


def _proxy_yaml(proxy: RunningProxy) -> str:
    return f'proxy: {{url: "{proxy.url}", username_env: PROXY_USER, password_env: PROXY_PASSWORD}}'


def _pks(url: str, proxy: RunningProxy, ca_file: str) -> str:
    return f"""\
    - name: p
      backend: pks
      pks: {{api_url: "{url}", uaa_url: "{url}", username_env: PKS_USER, password_env: PKS_PASSWORD,
             ca_file: {ca_file}, cluster_timeout: 20, poll_seconds: 0.01}}
      {_proxy_yaml(proxy)}
      plans: [{{name: small}}]
    """


def test_pks_over_https_goes_through_the_authenticating_proxy(
    proxy: RunningProxy, tls: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    api = PksApi(polls=2)
    with api.serve(tls=(tls[0], tls[1])) as url:
        env = {"PKS_USER": "alana", "PKS_PASSWORD": "pks-secret-pw", **PROXY_ENV}
        backend, request = backend_and_request(product_settings(tmp_path, _pks(url, proxy, str(tls[2])), env))
        backend.release(backend.provision(request))
    port = url.rsplit(":", 1)[1]
    tunnels = re.findall(rf"CONNECT 127\.0\.0\.1:{port}", proxy.log_text())
    assert len(tunnels) >= len(api.requests) > 5, "every request went through a CONNECT tunnel of the proxy"


def test_bosh_goes_through_the_proxy(proxy: RunningProxy, tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "kubo", tmp_path / "kubo")
    api = BoshApi(polls=1)
    with api.serve() as url:
        api.base = url
        product = f"""\
        - name: p
          backend: bosh
          bosh: {{director_url: "{url}", uaa_url: "{url}", credhub_url: "{url}", client_env: C, client_secret_env: S,
                  manifest: kubo/cfcr.yml, poll_seconds: 0.01}}
          {_proxy_yaml(proxy)}
          plans: [{{name: small}}]
        """
        env = {"C": "ci-director", "S": "bosh-secret-pw", **PROXY_ENV}
        backend, request = backend_and_request(product_settings(tmp_path, product, env))
        backend.release(backend.provision(request))
    logged = proxy.log_text()
    for path in ("/info", "/oauth/token", "/deployments", "/tasks/1", "/api/v1/data"):
        assert f"{url}{path}" in logged, f"{path} went through the proxy"


def test_osb_goes_through_the_proxy(proxy: RunningProxy, tmp_path: Path) -> None:
    with served_broker(RecordingClusters()) as (_broker, url):
        product = f"""\
        - name: p
          backend: osb
          osb: {{broker_url: "{url}", username_env: B_USER, password_env: B_PASSWORD, poll_seconds: 0.05}}
          {_proxy_yaml(proxy)}
          plans: [{{name: small}}]
        """
        env = {"B_USER": USER, "B_PASSWORD": PASSWORD, **PROXY_ENV}
        backend, request = backend_and_request(product_settings(tmp_path, product, env))
        backend.release(backend.provision(request))
    logged = proxy.log_text()
    for path in ("/v2/catalog", "/v2/service_instances/"):
        assert f"{url}{path}" in logged, f"{path} went through the proxy"


def test_a_wrong_proxy_password_is_one_clear_line(
    proxy: RunningProxy, tls: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    api = PksApi()
    with api.serve(tls=(tls[0], tls[1])) as url:
        env = {"PKS_USER": "alana", "PKS_PASSWORD": "pks-secret-pw", "PROXY_USER": PROXY_USER}
        env["PROXY_PASSWORD"] = "wrong-proxy-pw"
        backend, request = backend_and_request(product_settings(tmp_path, _pks(url, proxy, str(tls[2])), env))
        with pytest.raises(HttpFailure) as refused:
            backend.provision(request)
    message = str(refused.value)
    assert refused.value.status == 407
    assert f"through proxy {proxy.url}: the proxy refused its credentials" in message
    assert "check the proxy's username_env and password_env" in message
    assert "\n" not in message
    assert "wrong-proxy-pw" not in message + repr(refused.value) + repr(backend)
    assert api.requests == [], "nothing reached the API"
