"""Secrets never reach an artifact: redact them where credentials are handled, and scan what a run wrote.

Two nets, both needed:
- *known values*: every secret the suite handles (tokens, private keys, passwords) is registered where it
  is created or loaded (`register`), and replaced by a marker wherever it shows up in text;
- *shapes*: whatever looks like a secret (PEM private keys, JWTs, bearer tokens, passwords in URLs,
  kubeconfig/JSON fields named token, client-key-data, password...) is redacted even if nobody registered it.

Registered values are found in one pass of an Aho-Corasick automaton (pyahocorasick), whose cost per
character does not grow with the number of values (issue #23: the regex alternation it replaced tried them
one by one at every position, its cost linear in them; `python -m bench.redaction` measures both). Every
occurrence is masked, overlapping and contained ones too: each run of overlapping occurrences becomes one
marker, adjacent occurrences one marker each.

`scan` walks a run's output directory and lists every file and line where a secret got through, by shape
and by the SHA-256 digests of registered values (`write_digests` lets a child process pass them on
without writing a secret anywhere).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # a C extension that ships no annotations

MARKER = "[REDACTED]"
_MIN_LENGTH = 8  # shorter registered values would redact ordinary words

_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_B64_PRIVATE_PREFIXES = tuple(
    base64.b64encode(f"-----BEGIN {kind}PRIVATE KEY-----".encode()).decode()[:32]
    for kind in ("", "RSA ", "EC ", "ENCRYPTED ", "OPENSSH ")
)
_B64_PRIVATE = re.compile("(?:" + "|".join(map(re.escape, _B64_PRIVATE_PREFIXES)) + r")[A-Za-z0-9+/=]*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"'<>]+:)(?!\[REDACTED)[^\s@/\"'<>]+@")
_FIELD_NAMES = (
    r"client-key-data|client_key_data|id-token|id_token|idToken|refresh-token|refresh_token|access_token|"
    r"token|client-secret|client_secret|password|passwd|api[-_]?key|secret[-_]?key"
)
_FIELD = re.compile(
    r"(?i)((?<![A-Za-z0-9_-])[\"']?(?:" + _FIELD_NAMES + r")[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[REDACTED)([^\s\"',;}\]<>&]{6,})"
)
_DIGEST_CANDIDATE = re.compile(r"[A-Za-z0-9+/=._~-]{" + str(_MIN_LENGTH) + ",}")


def _b64_private_key(text: str) -> bool:
    return any(p in text for p in _B64_PRIVATE_PREFIXES)


class Redactor:
    """Known secret values plus secret shapes; `redact` replaces both by `[REDACTED]`."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._automaton: Any = None  # ahocorasick.Automaton of `_values` (value -> its length), built on use
        self._lock = threading.Lock()  # log records are redacted in every thread

    def register(self, *values: str | bytes | None) -> None:
        """Remember secret values (tokens, key PEMs, passwords) so they are redacted wherever they show up."""
        with self._lock:
            for value in values:
                if value is None:
                    continue
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                for variant in (text, text.strip(), base64.b64encode(text.encode()).decode()):
                    if len(variant) >= _MIN_LENGTH and variant not in self._values:
                        self._values.add(variant)
                        self._automaton = None
                for line in text.splitlines():  # a PEM seen line by line, or one line of it in a log
                    if len(line.strip()) >= 16 and not line.startswith("-----") and line.strip() not in self._values:
                        self._values.add(line.strip())
                        self._automaton = None

    @property
    def digests(self) -> frozenset[str]:
        with self._lock:
            values = tuple(self._values)
        return frozenset(hashlib.sha256(v.encode()).hexdigest() for v in values)

    def _registered(self) -> Any:
        """The automaton of the registered values (None while there is none); a new one after `register`."""
        with self._lock:
            if self._automaton is None and self._values:
                automaton = ahocorasick.Automaton()
                for value in self._values:
                    automaton.add_word(value, len(value))
                automaton.make_automaton()
                self._automaton = automaton
            return self._automaton

    def _redact_registered(self, text: str) -> str:
        """`text` with every occurrence of a registered value replaced: one marker per run of overlapping
        occurrences (a value inside another, or two that share characters), one each for adjacent ones."""
        automaton = self._registered()
        if automaton is None:
            return text
        spans = sorted((end + 1 - length, end + 1) for end, length in automaton.iter(text))
        if not spans:
            return text
        pieces: list[str] = []
        done = 0  # text[:done] is in `pieces`
        start, stop = spans[0]
        for next_start, next_stop in spans[1:]:
            if next_start < stop:  # overlaps the current run
                stop = max(stop, next_stop)
                continue
            pieces += (text[done:start], MARKER)
            done, (start, stop) = stop, (next_start, next_stop)
        pieces += (text[done:start], MARKER, text[stop:])
        return "".join(pieces)

    def redact(self, text: str) -> str:
        """`text` with every registered value (one pass, see the module) and then every secret shape
        replaced by `[REDACTED]` (a bearer header, URL or field keeps its name)."""
        text = self._redact_registered(text)
        text = _PEM_PRIVATE.sub(MARKER, text)
        text = _B64_PRIVATE.sub(MARKER, text)
        text = _JWT.sub(MARKER, text)
        text = _BEARER.sub(lambda m: m.group(1) + MARKER, text)
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MARKER + "@", text)
        return _FIELD.sub(lambda m: m.group(1) + MARKER, text)

    def redact_bytes(self, data: bytes) -> bytes:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data  # binary attachments (screenshots) carry no text secrets
        return self.redact(text).encode("utf-8")


REDACTOR = Redactor()


def register(*values: str | bytes | None) -> None:
    """Register secret values with the process-wide redactor."""
    REDACTOR.register(*values)


def redact(text: str) -> str:
    """`text` with every registered secret and every secret-shaped string replaced by `[REDACTED]`."""
    return REDACTOR.redact(text)


def redact_any(value: Any) -> Any:
    """Redact strings and bytes; anything else is returned as it is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return REDACTOR.redact_bytes(value)
    return value


# --- logging ---------------------------------------------------------------------------------------

_FACTORY_INSTALLED = False


def install_logging_redaction() -> None:
    """Redact every log record of the process when it is created (message, arguments and exception text)."""
    global _FACTORY_INSTALLED  # noqa: PLW0603 - installed once per process
    if _FACTORY_INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _FACTORY_INSTALLED = True


# --- digests passed to another process ---------------------------------------------------------------


def write_digests(path: Path) -> None:
    """Write the SHA-256 digests of the registered values (never the values) for a later `scan`."""
    known = set(path.read_text().split()) if path.exists() else set()
    path.write_text("".join(f"{d}\n" for d in sorted(known | REDACTOR.digests)))


def read_digests(path: Path) -> frozenset[str]:
    return frozenset(path.read_text().split()) if path.exists() else frozenset()


# --- the final scan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """A secret found in an artifact: where, and what shape (never the secret itself)."""

    path: Path
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key (PEM)", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    ("private key (base64 PEM)", _B64_PRIVATE),
    ("JWT / OIDC token", _JWT),
    ("bearer token", _BEARER),
    ("password in URL", _URL_PASSWORD),
    ("credential field", _FIELD),
)
# The Allure report's own application code (from the npm package) is not an artifact of the run: its
# minified code is full of identifiers like `token:e`. The run's data in the report is scanned.
_APPLICATION_SUFFIXES = (".js", ".css", ".woff", ".woff2", ".ttf", ".ico", ".png", ".svg", ".map")


def _is_application_file(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    in_report_app = any(p.startswith("allure-report") for p in parts) and "data" not in parts
    return in_report_app and path.name.endswith(_APPLICATION_SUFFIXES)


def scan(root: Path, digests: Iterable[str] = ()) -> list[Leak]:
    """Every place under `root` where a secret got through: by shape, and by digest of registered values."""
    known = frozenset(digests) | REDACTOR.digests
    leaks: list[Leak] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if _is_application_file(path, root) or path.name == DIGESTS_FILE:
            continue
        leaks.extend(scan_file(path, known))
    return leaks


# The single-file Allure report embeds each data file base64-encoded: d("data/attachments/x.txt","...")
_EMBEDDED = re.compile(r'\bd\("([^"]{1,300})","([A-Za-z0-9+/=]*)"\)')


def scan_file(path: Path, digests: Iterable[str] = ()) -> list[Leak]:
    """Every line of one file (and of the data files a report embeds in it) where a secret got through."""
    known = frozenset(digests) | REDACTOR.digests
    text = path.read_bytes().decode("utf-8", "replace")
    leaks: list[Leak] = []
    for match in _EMBEDDED.finditer(text):
        embedded = base64.b64decode(match.group(2)).decode("utf-8", "replace")
        leaks += _leaks_in(Path(f"{path}!{match.group(1)}"), embedded, known)
    if path.suffix == ".html":
        text = _EMBEDDED.sub("", _DATA_URI.sub("", text))
    return leaks + list(_leaks_in(path, text, known))


_DATA_URI = re.compile(r'src="data:text/javascript;base64,[A-Za-z0-9+/=]*"')  # the report's application code


DIGESTS_FILE = "secret-digests.txt"


def _leaks_in(path: Path, text: str, known: frozenset[str]) -> Iterator[Leak]:
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in _SHAPES:
            if pattern.search(line):
                yield Leak(path, number, kind)
        if known and any(hashlib.sha256(candidate.encode()).hexdigest() in known for candidate in _candidates(line)):
            yield Leak(path, number, "registered secret")


def _candidates(line: str) -> Iterator[str]:
    for match in _DIGEST_CANDIDATE.finditer(line):
        token = match.group(0)
        yield token
        yield token.strip("=.-_~")
