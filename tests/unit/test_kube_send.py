"""The kube adapter's fast path of the access matrix (provisioning/kube/client.py `send`, `keep_connections`):
the client's credentials and an impersonating client's Impersonate-* headers go with every request, and the
pool keeps as many connections as the observer runs requests at once."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.kube import client as kube


class _Answer:
    status, reason, data = 403, "Forbidden", b'{"message": "no"}'


class _Pool:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any, dict[str, Any]]] = []

    def urlopen(self, method: str, path: str, body: Any = None, headers: Any = None, **_kw: Any) -> _Answer:
        self.sent.append((method, path, body, headers))
        return _Answer()


class _Manager:
    proxy = None

    def __init__(self) -> None:
        self.pool = _Pool()
        self.connection_pool_kw: dict[str, Any] = {"maxsize": 10}
        self.cleared = 0

    def connection_from_url(self, _url: str) -> _Pool:
        return self.pool

    def clear(self) -> None:
        self.cleared += 1


TOKEN = "not-a-real-token"


def _client(host: str = "https://api.test:6443") -> Any:
    api = kube.api_client(kube.Cluster(host, b"ca"), token=TOKEN)
    api.rest_client.pool_manager = _Manager()
    return api


def test_send_carries_the_token_and_returns_any_status_with_its_body() -> None:
    api = _client()
    answer = kube.send(api, "GET", "/api/v1/pods?limit=1", None, {"Content-Type": "application/json"})
    assert answer == (403, "Forbidden", b'{"message": "no"}')
    [(method, path, body, headers)] = api.rest_client.pool_manager.pool.sent
    assert (method, path, body) == ("GET", "/api/v1/pods?limit=1", None)
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"


def test_send_keeps_the_path_of_a_server_behind_a_prefix() -> None:
    api = _client(host="https://rancher.test/k8s/clusters/c-1/")
    kube.send(api, "GET", "/api")
    assert api.rest_client.pool_manager.pool.sent[0][1] == "/k8s/clusters/c-1/api"


def test_send_through_an_impersonating_client_names_the_user_and_every_group() -> None:
    api = kube.with_impersonation(_client(), "blue-viewer", ("blue:viewers", "blue:members"))
    kube.send(api, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", b"{}")
    headers = api.rest_client.pool_manager.pool.sent[0][3]
    assert headers["Impersonate-User"] == "blue-viewer"
    assert headers.getlist("Impersonate-Group") == ["blue:viewers", "blue:members"]


def test_send_refuses_a_request_naming_its_own_impersonation_through_impersonation() -> None:
    api = kube.with_impersonation(_client(), "blue-viewer", ())
    with pytest.raises(kube.ApiFailure) as failed:
        kube.send(api, "GET", "/api", None, {"Impersonate-User": "someone"})
    assert failed.value.status == 0
    assert not api.rest_client.pool_manager.pool.sent


def test_a_pool_keeps_as_many_connections_as_asked_never_fewer_than_before() -> None:
    api = _client()
    kube.keep_connections(api, 24)
    assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == 24
    assert api.rest_client.pool_manager.cleared == 1
    kube.keep_connections(api, 4)
    assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == 24
    assert api.rest_client.pool_manager.cleared == 1
