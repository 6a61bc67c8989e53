"""Impersonation as the explicit fallback: the user and every group travel, one header per group,
and a request with its own impersonation headers is never sent as the impersonating admin."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from checks.matrix import Cell, Matrix, compare
from checks.rbac.credentials import credential_origin, impersonated_users, mark_impersonated
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.kube import client as kube
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

SEEN: list[dict[str, list[str]]] = []


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        SEEN.append({name.lower(): self.headers.get_all(name) or [] for name in set(self.headers.keys())})
        body = json.dumps({"kind": "List", "metadata": {}, "items": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    SEEN.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _client(url: str) -> Any:
    return kube.api_client(kube.Cluster(url, b""), token="admin-token-for-the-test", timeout=5)


def test_every_group_travels_in_its_own_header(server: str) -> None:
    groups = ("caas:blue:viewers", "caas:blue:members", "system:authenticated")
    api = kube.with_impersonation(_client(server), "blue-viewer", groups)
    try:
        kube.request(api, "GET", "/api/v1/namespaces/tenant-blue/pods")
        kube.call(api, "CoreV1Api", "list_namespaced_pod", "tenant-blue")
        kube.post_raw(api, "/apis/authorization.k8s.io/v1/subjectaccessreviews", b"{}")
    finally:
        api.close()
    assert len(SEEN) == 3
    for headers in SEEN:
        assert headers["impersonate-user"] == ["blue-viewer"]
        assert headers["impersonate-group"] == list(groups), "one header per group, in order, none dropped"
    assert kube.is_impersonating(api)


def test_a_user_without_groups_sends_no_group_header(server: str) -> None:
    api = kube.with_impersonation(_client(server), "blue-admin", ())
    try:
        kube.request(api, "GET", "/version")
    finally:
        api.close()
    assert SEEN[0]["impersonate-user"] == ["blue-admin"]
    assert "impersonate-group" not in SEEN[0]


def test_a_probes_own_impersonation_headers_go_exactly_as_given_with_real_credentials(server: str) -> None:
    api = _client(server)
    try:
        kube.request(api, "GET", "/api/v1/pods", headers={"Impersonate-User": "green-admin"})
    finally:
        api.close()
    assert SEEN[0]["impersonate-user"] == ["green-admin"]
    assert "impersonate-group" not in SEEN[0]
    assert not kube.is_impersonating(api)


def test_a_probes_own_impersonation_headers_are_not_sent_as_the_impersonating_admin(server: str) -> None:
    api = kube.with_impersonation(_client(server), "blue-admin", ("caas:blue:admins",))
    try:
        with pytest.raises(kube.ApiFailure) as refused:
            kube.request(
                api,
                "GET",
                "/api/v1/pods",
                headers={"Impersonate-User": "blue-admin", "Impersonate-Group": "system:masters"},
            )
    finally:
        api.close()
    assert refused.value.status == 0, "an error, never an observation"
    assert "does not chain impersonation" in str(refused.value)
    assert SEEN == [], "nothing was sent"


def _tenancy(credentials: dict[str, Credential]) -> ProvisionedTenancy:
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "pks"
    )
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    tenancy.clusters.append(ProvisionedCluster(handle, model.tenants["pks"][:2], credentials))
    return tenancy


def test_the_origin_of_a_products_observations() -> None:
    real = {"blue-admin": Credential(cert_pem=b"CERT", key_pem=b"KEY"), "blue-viewer": Credential(token="t0ken-x")}
    assert credential_origin(_tenancy(real)) == "real"
    mixed = {**real, "green-viewer": Credential(impersonate=("green-viewer", ("green:viewers", "green:members")))}
    assert credential_origin(_tenancy(mixed)) == "impersonated"
    assert impersonated_users(_tenancy(mixed)) == {"green-viewer"}


def test_rows_observed_through_impersonation_are_marked_and_verdicts_stay() -> None:
    expected = Matrix.build(
        ["blue-viewer", "green-viewer"],
        ["pods"],
        {("blue-viewer", "pods"): Cell.ALLOWED, ("green-viewer", "pods"): Cell.DENIED},
    )
    observed = Matrix.build(
        ["blue-viewer", "green-viewer"],
        ["pods"],
        {("blue-viewer", "pods"): Cell.ALLOWED, ("green-viewer", "pods"): Cell.ALLOWED},
    )
    comparison = compare(expected, observed)
    marked = mark_impersonated(comparison, {"green-viewer"})
    assert marked.passed == comparison.passed
    text = marked.render()
    assert "green-viewer (impersonated)" in text
    assert "blue-viewer (impersonated)" not in text
    assert [m.row for m in marked.mismatches + marked.incomplete] == ["green-viewer (impersonated)"]
    assert mark_impersonated(comparison, set()) is comparison
