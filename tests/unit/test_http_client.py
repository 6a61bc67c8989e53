"""The backends' HTTP client: timeouts, one-line failures, and no secret in any message."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning.http import REDACTED, HttpClient, HttpFailure, Proxy, TransientHttpFailure, basic_auth


@pytest.fixture
def echo() -> Iterator[str]:
    """A server that answers 500 and echoes the request's headers and body (as a careless API might)."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.dumps({"error": "boom", "description": f"{dict(self.headers)} {self.rfile.read(length)!r}"})
            data = body.encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_secrets_echoed_by_a_server_are_redacted(echo: str) -> None:
    client = HttpClient(echo, service="Test API", timeout=5, secrets=("s3cret-password",))
    client.add_secret("bearer-token-value")
    with pytest.raises(TransientHttpFailure) as failed:
        client.request(
            "POST",
            "/x",
            form={"password": "s3cret-password"},
            headers={"Authorization": basic_auth("user", "s3cret-password"), "X-Token": "bearer-token-value"},
        )
    message = str(failed.value)
    assert message.startswith("Test API POST /x: 500 (boom: ")
    assert "s3cret-password" not in message
    assert "bearer-token-value" not in message
    assert base64.b64encode(b"user:s3cret-password").decode()[:20] not in message


def test_a_silent_server_times_out_within_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = HttpClient(f"http://127.0.0.1:{port}", service="Slow API", timeout=0.5)
        with pytest.raises(TransientHttpFailure, match=r"Slow API GET /v1/plans failed: timed out .*timeout 0.5s"):
            client.request("GET", "/v1/plans")


def test_a_refused_connection_is_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}", service="PKS API", timeout=2)
    with pytest.raises(HttpFailure) as failed:
        client.request("GET", "/v1/plans")
    assert "connection refused" in str(failed.value)
    assert "\n" not in str(failed.value)


def test_proxy_credentials_never_show() -> None:
    proxy = Proxy("http://proxy.example.com:3128", username="u", password="proxy-pw-1")
    client = HttpClient("https://api.example.com", service="PKS API", timeout=1, proxy=proxy)
    assert "proxy-pw-1" not in repr(proxy) + repr(client)
    assert repr(client) == "HttpClient(PKS API https://api.example.com via http://proxy.example.com:3128)"


SECRET_CHARACTERS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&*+-./:;=?@^_~")


@given(secret=st.text(SECRET_CHARACTERS, min_size=3, max_size=40))
def test_a_known_secret_never_survives_redaction(secret: str) -> None:
    client = HttpClient("https://api.example.com", service="API", timeout=1, secrets=(secret,))
    encoded = base64.b64encode(secret.encode()).decode()
    assert client.redact(f"[{secret}] | {encoded}") == f"[{REDACTED}] | {REDACTED}"
