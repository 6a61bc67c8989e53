"""The bundled broker answers as the Open Service Broker API v2.17 says (served over HTTP, no cluster behind it)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.wait import wait_until
from provisioning.broker.service import cluster_name
from tests.contract.broker_fixtures import PASSWORD, USER, RawOsb, RecordingClusters, served_broker

pytestmark = pytest.mark.contract

INSTANCE = "8d1f1e9c-6f2b-4a55-9d3a-3f1f1e2d0a01"


@pytest.fixture
def clusters() -> RecordingClusters:
    return RecordingClusters()


@pytest.fixture
def osb(clusters: RecordingClusters) -> Iterator[RawOsb]:
    with served_broker(clusters) as (_broker, url):
        yield RawOsb(url)


def _settled(osb: RawOsb, instance: str = INSTANCE) -> tuple[int, dict[str, str]]:
    return wait_until(
        lambda: osb.last_operation(instance),
        lambda answer: answer[0] != 200 or answer[1]["state"] != "in progress",
        timeout=10,
        what=f"instance {instance}'s last operation to settle",
    )


def test_basic_auth_is_required(osb: RawOsb) -> None:
    assert osb.call("GET", "/v2/catalog", password=None)[0] == 401
    assert osb.call("GET", "/v2/catalog", password="not-the-password")[0] == 401
    status, catalog = osb.call("GET", "/v2/catalog")
    assert status == 200
    assert [p["name"] for p in catalog["services"][0]["plans"]] == ["small", "medium"]


def test_the_api_version_header_is_required(osb: RawOsb) -> None:
    assert osb.call("GET", "/v2/catalog", version=False)[0] == 400


def test_provisioning_is_async_and_reported_by_last_operation(osb: RawOsb, clusters: RecordingClusters) -> None:
    clusters.gate.clear()
    status, body = osb.provision(INSTANCE)
    assert status == 202
    assert body["operation"].startswith("provision-")
    assert osb.last_operation(INSTANCE) == (200, {"state": "in progress", "description": "provision in progress"})
    clusters.gate.set()
    status, state = _settled(osb)
    assert (status, state["state"]) == (200, "succeeded")
    assert clusters.created == [cluster_name("bk-", INSTANCE)]


def test_a_synchronous_provision_is_refused_with_async_required(osb: RawOsb, clusters: RecordingClusters) -> None:
    body = {"service_id": "caas-lab-cluster", "plan_id": "pks-small", "organization_guid": "o", "space_guid": "s"}
    status, answer = osb.call("PUT", f"/v2/service_instances/{INSTANCE}", body)
    assert (status, answer["error"]) == (422, "AsyncRequired")
    assert clusters.created == []


def test_a_repeated_identical_put_answers_202_with_the_same_operation_then_200(
    osb: RawOsb, clusters: RecordingClusters
) -> None:
    clusters.gate.clear()
    first = osb.provision(INSTANCE)
    again = osb.provision(INSTANCE)
    assert first[0] == again[0] == 202
    assert again[1]["operation"] == first[1]["operation"]
    clusters.gate.set()
    _settled(osb)
    assert osb.provision(INSTANCE)[0] == 200
    assert len(clusters.created) == 1


def test_a_conflicting_put_answers_409(osb: RawOsb, clusters: RecordingClusters) -> None:
    assert osb.provision(INSTANCE)[0] == 202
    _settled(osb)
    assert osb.provision(INSTANCE, plan="pks-medium")[0] == 409
    assert osb.provision(INSTANCE, parameters={"size": "xl"})[0] == 409
    assert len(clusters.created) == 1


def test_mutating_an_instance_while_an_operation_runs_answers_422_concurrency_error(
    osb: RawOsb, clusters: RecordingClusters
) -> None:
    clusters.gate.clear()
    assert osb.provision(INSTANCE)[0] == 202
    status, body = osb.deprovision(INSTANCE)
    assert (status, body["error"]) == (422, "ConcurrencyError")
    status, body = osb.bind(INSTANCE, "b1")
    assert (status, body["error"]) == (422, "ConcurrencyError")
    clusters.gate.set()
    _settled(osb)
    clusters.gate.clear()
    assert osb.deprovision(INSTANCE)[0] == 202
    status, body = osb.provision(INSTANCE)
    assert (status, body["error"]) == (422, "ConcurrencyError"), "a PUT while the instance is being removed"
    clusters.gate.set()


def test_ten_parallel_provisions_of_one_instance_create_exactly_one_cluster(
    osb: RawOsb, clusters: RecordingClusters
) -> None:
    clusters.gate.clear()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _i: osb.provision(INSTANCE), range(10)))
    assert [status for status, _ in answers] == [202] * 10
    assert len({body["operation"] for _, body in answers}) == 1
    clusters.gate.set()
    _settled(osb)
    assert clusters.created == [cluster_name("bk-", INSTANCE)]


def test_deprovision_removes_the_cluster_and_then_the_instance_is_gone(
    osb: RawOsb, clusters: RecordingClusters
) -> None:
    osb.provision(INSTANCE)
    _settled(osb)
    status, body = osb.deprovision(INSTANCE)
    assert status == 202
    assert body["operation"].startswith("deprovision-")
    status, _ = _settled(osb)
    assert status == 410
    assert clusters.deleted == clusters.created == [cluster_name("bk-", INSTANCE)]
    assert osb.deprovision(INSTANCE)[0] == 410


def test_deleting_a_missing_instance_or_binding_answers_410(osb: RawOsb) -> None:
    assert osb.deprovision("no-such-instance")[0] == 410
    assert osb.unbind("no-such-instance", "no-such-binding")[0] == 410


def test_a_failed_create_is_reported_failed_with_its_reason(osb: RawOsb, clusters: RecordingClusters) -> None:
    clusters.fail = True
    osb.provision(INSTANCE)
    status, state = _settled(osb)
    assert (status, state["state"]) == (200, "failed")
    assert "did not become Ready" in state["description"]


def test_bindings_carry_a_kubeconfig_and_follow_the_spec(osb: RawOsb) -> None:
    osb.provision(INSTANCE)
    _settled(osb)
    status, admin = osb.bind(INSTANCE, "admin-binding")
    assert status == 201
    assert "token-of-admin" in admin["credentials"]["kubeconfig"]
    assert admin["credentials"]["cluster_name"] == cluster_name("bk-", INSTANCE)
    parameters = {"user": "blue-viewer", "groups": ["tenant:blue"]}
    status, viewer = osb.bind(INSTANCE, "viewer-binding", parameters)
    assert status == 201
    assert "token-of-blue-viewer-tenant:blue" in viewer["credentials"]["kubeconfig"]
    assert osb.bind(INSTANCE, "viewer-binding", parameters) == (200, viewer), "an identical PUT is 200, same body"
    assert osb.bind(INSTANCE, "viewer-binding", {"user": "green-admin"})[0] == 409
    assert osb.unbind(INSTANCE, "viewer-binding")[0] == 200
    assert osb.unbind(INSTANCE, "viewer-binding")[0] == 410


def test_credentials_never_reach_the_logs(clusters: RecordingClusters, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with served_broker(clusters) as (_broker, url):
        osb = RawOsb(url)
        osb.call("GET", "/v2/catalog")
        osb.call("GET", "/v2/catalog", password="wrong-pw-given")
        osb.provision(INSTANCE)
        _settled(osb)
        osb.bind(INSTANCE, "b1", {"user": "blue-admin", "groups": []})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert logged, "the broker logged its requests"
    for secret in (PASSWORD, basic, "token-of-blue-admin"):
        assert secret not in logged
