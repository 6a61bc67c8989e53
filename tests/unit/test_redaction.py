"""The redactor and the artifact scan, shape by shape, without a cluster."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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


# --- registered values that overlap: every character of every occurrence is masked -------------------

A, B, C = "aaaa1111bbbb", "bbbb2222cccc", "cccc3333dddd"  # A's tail is B's head, B's tail is C's head


@pytest.mark.parametrize(
    ("registered", "text", "redacted"),
    [
        # a value inside another: the longer one wins, whichever is registered first
        ((A, "x" + A + "y"), "<x" + A + "y>", f"<{MARKER}>"),
        (("x" + A + "y", A), "<x" + A + "y> <" + A + ">", f"<{MARKER}> <{MARKER}>"),
        # two values sharing characters: one marker over both (a regex alternation left B's tail)
        ((A, B), "<aaaa1111bbbb2222cccc>", f"<{MARKER}>"),
        ((B, A), "<aaaa1111bbbb2222cccc>", f"<{MARKER}>"),
        # a chain of three overlapping values
        ((A, B, C), "<aaaa1111bbbb2222cccc3333dddd>", f"<{MARKER}>"),
        # adjacent values: one marker each, as before
        ((A, C), f"<{A}{C}>", f"<{MARKER}{MARKER}>"),
        # one value overlapping itself
        (("abababab",), "<ababababab>", f"<{MARKER}>"),
        # repeated occurrences apart
        ((A,), f"{A} and {A}", f"{MARKER} and {MARKER}"),
        # non-ASCII text around a value keeps its characters where they were
        ((A,), f"é😀{A}ß", f"é😀{MARKER}ß"),
    ],
)
def test_overlapping_registered_values_are_masked_whole(registered: tuple[str, ...], text: str, redacted: str) -> None:
    redactor = Redactor()
    redactor.register(*registered)
    assert redactor.redact(text) == redacted


def test_a_pem_registered_whole_is_masked_whole_and_line_by_line() -> None:
    redactor = Redactor()
    body = base64.b64encode(secrets.token_bytes(96)).decode()
    pem = f"-----BEGIN {_KIND}-----\n{body[:64]}\n{body[64:]}\n-----END {_KIND}-----\n"
    redactor.register(pem)
    assert redactor.redact(f"key:\n{pem}end") == f"key:\n{MARKER}end"
    assert redactor.redact(f"line {body[64:]} of it") == f"line {MARKER} of it"
    assert body[:64] not in redactor.redact(f"the first line: {body[:64]}!")


def test_registering_more_values_redacts_them_too() -> None:
    redactor = Redactor()
    redactor.register(A)
    assert redactor.redact(f"{A} {C}") == f"{MARKER} {C}"
    redactor.register(C)
    assert redactor.redact(f"{A} {C}") == f"{MARKER} {MARKER}"


_VALUE_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~ \n"  # no [ ] of the marker
_VALUES = st.text(st.sampled_from(_VALUE_CHARACTERS), min_size=8, max_size=24)


@st.composite
def values_in_text(draw: st.DrawFn) -> tuple[list[str], str]:
    """(registered values, a text made of them, pieces of them and anything else): values include pieces
    of two others put together, so that they overlap, contain or are contained in one another."""
    values = draw(st.lists(_VALUES, min_size=1, max_size=5, unique=True))
    for _ in range(draw(st.integers(0, 3))):
        joined = draw(st.sampled_from(values)) + draw(st.sampled_from(values))
        start = draw(st.integers(0, len(joined) - 8))
        values.append(joined[start : draw(st.integers(start + 8, len(joined)))])
    value = st.sampled_from(values)
    piece = st.one_of(
        st.text(max_size=12),
        value,
        st.builds(lambda v, k: v[:k], value, st.integers(1, 24)),
        st.builds(lambda v, k: v[-k:], value, st.integers(1, 24)),
    )
    return values, "".join(draw(st.lists(piece, max_size=20)))


def _forms(value: str) -> list[str]:
    """The forms of a registered value the redactor masks (its docstring): as given, stripped, base64, and
    each line of 16 characters or more that is no PEM boundary."""
    lines = [line.strip() for line in value.splitlines() if len(line.strip()) >= 16 and not line.startswith("-----")]
    forms = [value, value.strip(), base64.b64encode(value.encode()).decode(), *lines]
    return [form for form in forms if len(form) >= 8]


def _masked(text: str, forms: list[str]) -> str:
    """`text` with each character of an occurrence of a form masked, character by character: a run of
    masked characters is one marker unless no single occurrence spans two neighbours of it."""
    covered, spanned = [False] * len(text), [False] * len(text)  # spanned[i]: one occurrence covers i-1 and i
    for form in forms:
        start = text.find(form)
        while start >= 0:
            for index in range(start, start + len(form)):
                covered[index], spanned[index] = True, spanned[index] or index > start
            start = text.find(form, start + 1)
    return "".join(character if not covered[i] else "" if spanned[i] else MARKER for i, character in enumerate(text))


@given(values_in_text())
def test_no_registered_value_nor_part_of_one_survives_redaction(case: tuple[list[str], str]) -> None:
    values, text = case
    assume("REDACTED" not in (v.strip() for v in values))  # would be read in every marker
    redactor = Redactor()
    redactor.register(*values)
    redacted = redactor.redact(text)
    forms = [form for value in values for form in _forms(value)]
    for form in forms:
        assert form not in redacted
    assert redacted == Redactor().redact(_masked(text, forms)), "every character of every occurrence is masked"
