"""Contract tests of the PKS/TKGI backend against a local server answering as the PKS API v1 and UAA do."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.wait import WaitTimeout
from provisioning.backends.pks import ClusterActionFailed
from provisioning.http import HttpFailure
from tests.contract.fake_apis import CA_PEM, TOKEN, PksApi
from tests.contract.targets_helpers import backend_and_request, product_settings

pytestmark = pytest.mark.contract

ENV = {"PKS_USER": "alana", "PKS_PASSWORD": "pks-secret-pw"}


def _product(url: str, *, grant: str = "password", timeout: float = 30, extra: str = "") -> str:
    return f"""\
    - name: p
      backend: pks
      pks:
        api_url: "{url}"
        uaa_url: "{url}"
        username_env: PKS_USER
        password_env: PKS_PASSWORD
        grant: {grant}
        master_host: "{{cluster}}.pks.example.com"
        cluster_timeout: {timeout}
        poll_seconds: 0.01
      plans: [{{name: small}}, {{name: medium, workers: 2}}]
    {extra}"""


@pytest.fixture
def pks() -> Iterator[tuple[PksApi, str]]:
    api = PksApi(polls=3)
    with api.serve() as url:
        yield api, url


def test_creates_a_cluster_on_a_plan_and_deletes_it(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    api, url = pks
    backend, request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
    handle = backend.provision(request)
    created = api.clusters["bk-p-shared"]
    assert created["plan_name"] == "small"
    assert created["parameters"]["kubernetes_master_host"] == "bk-p-shared.pks.example.com"
    assert created["last_action_state"] == "succeeded"
    polls = [r for r in api.requests if r == ("GET", "/v1/clusters/bk-p-shared")]
    assert len(polls) == 4, "polled while last_action_state was in progress, then once more"
    assert ("POST", "/v1/clusters/bk-p-shared/binds") in api.requests
    assert handle.server == "https://bk-p-shared.pks.example.com:8443"
    assert handle.ca_pem == CA_PEM.encode()
    assert stat.S_IMODE(handle.admin_kubeconfig.stat().st_mode) == 0o600
    backend.release(handle)
    assert api.clusters == {}
    assert not handle.admin_kubeconfig.exists()


def test_client_credentials_grant(tmp_path: Path) -> None:
    api = PksApi(polls=0, grant="client_credentials")
    api.users = {"ci-client": "client-secret-pw"}
    with api.serve() as url:
        settings = product_settings(
            tmp_path,
            _product(url, grant="client_credentials"),
            {"PKS_USER": "ci-client", "PKS_PASSWORD": "client-secret-pw"},
        )
        backend, request = backend_and_request(settings)
        backend.release(backend.provision(request))
    assert ("POST", "/oauth/token") in api.requests


def test_a_slow_create_is_polled_until_done_within_the_deadline(tmp_path: Path) -> None:
    api = PksApi(polls=25)
    with api.serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _product(url, timeout=20), ENV))
        handle = backend.provision(request)
        assert api.clusters["bk-p-shared"]["last_action_state"] == "succeeded"
        backend.release(handle)
    assert len([r for r in api.requests if r == ("GET", "/v1/clusters/bk-p-shared")]) >= 26


def test_a_create_past_its_deadline_times_out_naming_what_it_waited_for(tmp_path: Path) -> None:
    api = PksApi(polls=10**9)
    with api.serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _product(url, timeout=1), ENV))
        with pytest.raises(WaitTimeout) as waited:
            backend.provision(request)
    assert "PKS cluster bk-p-shared to finish CREATE (last_action_state)" in str(waited.value)
    assert "'in progress'" in str(waited.value)
    assert any(note.startswith("deleting PKS cluster bk-p-shared failed as well") for note in waited.value.__notes__)


def test_a_failed_create_reports_the_description_and_removes_the_cluster(tmp_path: Path) -> None:
    api = PksApi(polls=1, fail_create=True)
    with api.serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
        with pytest.raises(ClusterActionFailed) as failed:
            backend.provision(request)
    message = str(failed.value)
    assert "CREATE failed" in message
    assert "'master/0' is not running after update" in message
    assert ("DELETE", "/v1/clusters/bk-p-shared") in api.requests
    assert api.clusters == {}


def test_bad_credentials_are_one_clear_line_without_the_password(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    _api, url = pks
    env = {"PKS_USER": "alana", "PKS_PASSWORD": "wrong-password-123"}
    backend, request = backend_and_request(product_settings(tmp_path, _product(url), env))
    with pytest.raises(HttpFailure) as refused:
        backend.provision(request)
    message = str(refused.value)
    assert refused.value.status == 401
    assert "\n" not in message
    assert (
        "UAA rejected the credentials: check products[0].pks.username_env and products[0].pks.password_env" in message
    )
    assert "wrong-password-123" not in message + repr(refused.value) + repr(backend)


def test_an_expired_token_is_renewed_while_a_long_create_is_polled(tmp_path: Path) -> None:
    api = PksApi(polls=12)
    api.token_lifetime = 4
    with api.serve() as url:
        backend, request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
        backend.release(backend.provision(request))
    assert api.tokens_issued >= 4, "a new token whenever the last one expired"


def test_a_token_refused_right_after_it_was_issued_is_a_clear_401(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    api, url = pks
    api.token_lifetime = 0
    backend, _request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
    with pytest.raises(HttpFailure) as refused:
        backend.plans()  # type: ignore[attr-defined]
    assert refused.value.status == 401
    assert api.tokens_issued == 1, "a token refused as soon as it was issued is not fetched again"
    assert "the PKS API rejected the token: check products[0].pks.username_env" in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_an_existing_cluster_is_a_clear_409(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    api, url = pks
    backend, request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
    api.clusters["bk-p-shared"] = {"name": "bk-p-shared", "last_action": "CREATE", "last_action_state": "succeeded"}
    with pytest.raises(HttpFailure) as conflict:
        backend.provision(request)
    assert conflict.value.status == 409
    assert "a cluster named bk-p-shared exists already" in str(conflict.value)
    assert "bk-p-shared" in api.clusters, "a cluster we did not create is left alone"


def test_a_plan_the_installation_does_not_offer(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    api, url = pks
    api.plans = [{"id": "x", "name": "large"}]
    backend, request = backend_and_request(product_settings(tmp_path, _product(url), ENV))
    with pytest.raises(Exception, match=r'PKS offers no plan "small" \(offered: large\)'):
        backend.provision(request)
    assert not any(method == "POST" and path == "/v1/clusters" for method, path in api.requests)


def test_a_missing_environment_variable_names_the_field(tmp_path: Path) -> None:
    settings = product_settings(tmp_path, _product("https://pks.example.com:9021"), {"PKS_USER": "alana"})
    with pytest.raises(ConfigError, match=r"products\[0\]\.pks\.password_env: environment variable PKS_PASSWORD"):
        backend_and_request(settings)


def test_without_csrs_identities_are_the_admin_impersonating_them(pks: tuple[PksApi, str], tmp_path: Path) -> None:
    _api, url = pks
    product = _product(url).replace("      plans:", "      identities_via_csr: false\n      plans:")
    backend, request = backend_and_request(product_settings(tmp_path, product, ENV))
    handle = backend.provision(request)
    try:
        identities = request.placement.tenants[0].identities
        issued = backend.credentials(handle, identities)
        assert {user: c.impersonate for user, c in issued.items()} == {i.user: (i.user, i.groups) for i in identities}
        assert json.loads(json.dumps(sorted(issued)))  # credentials are keyed by user
    finally:
        backend.release(handle)
