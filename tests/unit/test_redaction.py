"""The redactor and the artifact scan, shape by shape, without a cluster."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest

from harness.redaction import MARKER, Redactor, install_logging_redaction, redact, register, scan

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJibHVlLWFkbWluIiwiYXVkIjoiY2FhcyJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNA"
# A truncated, invalid key body in PEM framing, assembled at run time so that the source holds no
# key-shaped block (secret scanners would flag it); it only has to look like a key to the redactor.
_KIND = "PRIVATE" + " KEY"
PEM = f"-----BEGIN {_KIND}-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END {_KIND}-----\n"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {'t0k3n' * 5}", "t0k3n" * 5),
        (f"id-token: {JWT}", JWT),
        (f"message: the token {JWT} expired", JWT),
        (PEM, "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"),
        (f"client-key-data: {base64.b64encode(PEM.encode()).decode()}", base64.b64encode(PEM.encode()).decode()),
        ("git clone https://deploy:s3cr3t-pa55@git.example/repo", "s3cr3t-pa55"),
        ('{"password": "hunter2hunter2"}', "hunter2hunter2"),
        ("token=abcdef0123456789", "abcdef0123456789"),
        ("client_secret: Zm9vYmFyYmF6cXV4", "Zm9vYmFyYmF6cXV4"),
    ],
)
def test_secret_shapes_are_redacted_and_found_by_the_scan(text: str, secret: str, tmp_path: Path) -> None:
    redacted = Redactor().redact(text)
    assert secret not in redacted
    assert MARKER in redacted
    (tmp_path / "leak.txt").write_text(text)
    assert scan(tmp_path), "the scan must find the unredacted text"
    (tmp_path / "leak.txt").write_text(redacted)
    assert scan(tmp_path) == [], "a redacted text is clean"


def test_registered_values_are_redacted_whatever_their_shape() -> None:
    redactor = Redactor()
    value = secrets.token_hex(16)
    redactor.register(value, None, b"")
    assert redactor.redact(f"a {value} b") == f"a {MARKER} b"
    assert redactor.redact(base64.b64encode(value.encode()).decode()) == MARKER


def test_ordinary_text_stays_as_it_is() -> None:
    text = (
        "expected DENIED, observed ALLOWED: blue/a -> green/a:8080/tcp\n"
        "token_authentication: true\nCredential(<token>) for blue-admin\npassword: str | None = None\n"
        "https://10.0.0.1:6443/api/v1/namespaces"
    )
    assert Redactor().redact(text) == text


def test_the_scan_finds_registered_values_by_digest_only(tmp_path: Path) -> None:
    value = secrets.token_hex(20)
    redactor = Redactor()
    redactor.register(value)
    (tmp_path / "out.log").write_text(f"the value {value} was used\n")
    leaks = scan(tmp_path, redactor.digests)
    assert [(leak.path.name, leak.line, leak.kind) for leak in leaks] == [("out.log", 1, "registered secret")]
    assert value not in str(leaks[0])


def test_log_records_are_redacted_at_creation(caplog: pytest.LogCaptureFixture) -> None:
    install_logging_redaction()
    value = secrets.token_urlsafe(24)
    register(value)
    with caplog.at_level(logging.INFO):
        logging.getLogger("caas.test").info("using %s and %s", value, JWT)
        try:
            raise ValueError(value)
        except ValueError:
            logging.getLogger("caas.test").exception("failed")
    assert value not in caplog.text
    assert JWT not in caplog.text
    assert redact(value) == MARKER
