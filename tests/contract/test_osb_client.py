"""The OSB client and backend against the bundled broker served locally (recording clusters, no lab)."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provisioning.backends.osb import OsbClient, OsbConcurrency, OsbConflict, OsbGone, OsbOperationFailed
from provisioning.http import HttpFailure
from tests.contract.broker_fixtures import CA, PASSWORD, USER, RecordingClusters, served_broker
from tests.contract.targets_helpers import backend_and_request, product_settings

pytestmark = pytest.mark.contract

ENV = {"BROKER_USER": USER, "BROKER_PASSWORD": PASSWORD}


def _product(url: str) -> str:
    return f"""\
    - name: p
      backend: osb
      osb:
        broker_url: "{url}"
        username_env: BROKER_USER
        password_env: BROKER_PASSWORD
        originating_user: nightly-ci
        operation_timeout: 20
        poll_seconds: 0.05
      plans: [{{name: small}}]
    """


@pytest.fixture
def clusters() -> RecordingClusters:
    return RecordingClusters()


@pytest.fixture
def broker_url(clusters: RecordingClusters) -> Iterator[str]:
    with served_broker(clusters) as (_broker, url):
        yield url


def _client(url: str, password: str = PASSWORD) -> OsbClient:
    return OsbClient(url, username=USER, password=password, timeout=10, originating_user="nightly-ci")


def test_the_backend_provisions_binds_each_identity_and_releases(
    broker_url: str, clusters: RecordingClusters, tmp_path: Path
) -> None:
    backend, request = backend_and_request(product_settings(tmp_path, _product(broker_url), ENV))
    handle = backend.provision(request)
    assert len(clusters.created) == 1
    assert handle.server == "https://10.0.0.1:6443"
    assert handle.ca_pem == CA
    assert stat.S_IMODE(handle.admin_kubeconfig.stat().st_mode) == 0o600
    identities = request.placement.tenants[0].identities
    issued = backend.credentials(handle, identities)
    for identity in identities:
        credential = issued[identity.user]
        assert credential.kubeconfig is not None
        user = yaml.safe_load(credential.kubeconfig.read_text())["users"][0]
        assert user["user"]["token"] == f"token-of-{identity.user}-{'.'.join(identity.groups)}"
    backend.release(handle)
    assert clusters.deleted == clusters.created
    assert not handle.admin_kubeconfig.exists()


def test_the_client_sends_version_and_originating_identity(broker_url: str) -> None:
    client = _client(broker_url)
    headers = client._headers  # what every call sends
    platform, encoded = headers["X-Broker-API-Originating-Identity"].split(" ")
    assert platform == "caas-conformance"
    assert json.loads(base64.b64decode(encoded)) == {"user_id": "nightly-ci"}
    assert headers["X-Broker-API-Version"] == "2.17"
    assert [s["id"] for s in client.catalog()] == ["caas-lab-cluster"]


def test_conflict_gone_and_concurrency_are_clear_errors(broker_url: str, clusters: RecordingClusters) -> None:
    client = _client(broker_url)
    clusters.gate.clear()
    client.provision("i-1", "caas-lab-cluster", "pks-small")
    with pytest.raises(OsbConcurrency, match=r"422 ConcurrencyError: another operation on instance i-1 is in progress"):
        client.deprovision("i-1", "caas-lab-cluster", "pks-small")
    with pytest.raises(OsbConflict, match=r"409.*instance i-1 exists already with other attributes"):
        client.provision("i-1", "caas-lab-cluster", "pks-medium")
    with pytest.raises(OsbGone, match=r"410.*instance i-2 does not exist"):
        client.deprovision("i-2", "caas-lab-cluster", "pks-small")
    clusters.gate.set()
    client.wait("i-1", "caas-lab-cluster", "pks-small", None, timeout=10, poll=0.05)


def test_a_failed_operation_names_the_brokers_description(broker_url: str, clusters: RecordingClusters) -> None:
    clusters.fail = True
    client = _client(broker_url)
    accepted = client.provision("i-3", "caas-lab-cluster", "pks-small")
    with pytest.raises(OsbOperationFailed, match=r"ended failed: creating cluster .* did not become Ready"):
        client.wait("i-3", "caas-lab-cluster", "pks-small", accepted.operation, timeout=10, poll=0.05)


def test_a_wrong_password_is_one_line_without_the_password(broker_url: str, tmp_path: Path) -> None:
    env = {"BROKER_USER": USER, "BROKER_PASSWORD": "wrong-broker-pw"}
    backend, request = backend_and_request(product_settings(tmp_path, _product(broker_url), env))
    with pytest.raises(HttpFailure) as refused:
        backend.provision(request)
    message = str(refused.value)
    assert refused.value.status == 401
    assert "check products[0].osb.username_env and products[0].osb.password_env" in message
    assert "\n" not in message
    encoded = base64.b64encode(f"{USER}:wrong-broker-pw".encode()).decode()
    for text in (message, repr(refused.value), repr(backend)):
        assert "wrong-broker-pw" not in text
        assert encoded not in text


class _Catalog:
    def __init__(self, plans: list[dict[str, object]]) -> None:
        self.plans = plans

    def catalog(self) -> list[dict[str, object]]:
        return [{"id": "svc", "plans": self.plans}]


def test_a_plans_maximum_polling_duration_shortens_the_wait(broker_url: str, tmp_path: Path) -> None:
    backend, _request = backend_and_request(product_settings(tmp_path, _product(broker_url), ENV))
    limited = _Catalog([{"id": "p1", "name": "small", "maximum_polling_duration": 7}])
    unlimited = _Catalog([{"id": "p1", "name": "small"}])
    assert backend._service_and_plan(limited, "small") == ("svc", "p1", 7.0)  # type: ignore[attr-defined]
    assert backend._service_and_plan(unlimited, "small") == ("svc", "p1", 20.0)  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r'the broker offers no plan "large" \(offered: small\)'):
        backend._service_and_plan(unlimited, "large")  # type: ignore[attr-defined]
