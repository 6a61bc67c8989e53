"""The kube client adapter under transport faults: a connection that breaks while a response body is
read (an API server restarted mid-answer) is a transport error, ApiFailure(0), like a refused connection,
never another exception that would escape the callers that classify ApiFailure as an ERROR cell; and an
exec whose websocket upgrade is never answered (the node's kubelet hangs) ends at its deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from provisioning.kube import client as kube
from provisioning.kube.pods import exec_in_pod


@pytest.fixture
def truncating_server() -> Iterator[str]:
    """Answers every request with headers that promise 1,000 bytes, sends 20 and closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    b'{"kind": "Namespace"'
                )

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


SENDS: dict[str, Callable[[Any], object]] = {
    "request": lambda api: kube.request(api, "GET", "/api/v1/namespaces/default"),
    "create_with_warnings": lambda api: kube.create_with_warnings(api, "/api/v1/namespaces", {"metadata": {}}),
}


@pytest.mark.parametrize("send", SENDS)
def test_a_body_cut_short_is_a_transport_failure(truncating_server: str, send: str) -> None:
    api = kube.api_client(kube.Cluster(truncating_server, b""), timeout=5)
    try:
        with pytest.raises(kube.ApiFailure) as failure:
            SENDS[send](api)
    finally:
        api.close()
    assert failure.value.status == 0
    assert "IncompleteRead" in failure.value.message or "Connection broken" in failure.value.message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections, reads what comes and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def test_an_exec_whose_upgrade_is_never_answered_ends_at_its_deadline(silent_server: str) -> None:
    api = kube.api_client(kube.Cluster(silent_server, b""), timeout=5)
    started = time.monotonic()
    try:
        with pytest.raises(kube.ApiFailure) as failure:
            exec_in_pod(api, "tenant-blue", "probe-a", ["true"], timeout=1)
    finally:
        api.close()
    assert time.monotonic() - started < 5
    assert failure.value.status == 0
    assert "did not start within 1s" in failure.value.message


def test_key_material_written_from_many_threads_is_never_seen_half_written() -> None:
    import threading
    from pathlib import Path

    from provisioning.kube.client import _material

    torn = []
    for round_ in range(40):  # a new file each round: every thread races to write or to read it first
        data = f"-----BEGIN CERTIFICATE-----\n{round_}".encode() + b"A" * 4_000_000 + b"\n-----END CERTIFICATE-----\n"
        start = threading.Barrier(8)

        def load(data: bytes = data, start: threading.Barrier = start) -> None:
            start.wait()
            if Path(_material(data, "crt")).read_bytes() != data:
                torn.append(1)

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not torn, f"{len(torn)} clients loaded a certificate file that was still being written"
