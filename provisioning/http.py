"""The HTTP client of the product backends (PKS, BOSH, CredHub, UAA, OSB): the only module importing urllib3.

Every request has a timeout, goes through the target's proxy when one is set
(with proxy basic auth sent in a header, never in a URL), and fails with one
`HttpFailure` line that names the service, the call, the status and the fix.
Known secrets (passwords, tokens, proxy credentials) are redacted from every
message this module builds.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, ProxyError

from harness.errors import InfrastructureError

REDACTED = "<redacted>"

# What the usual statuses mean for an operator, when the adapter adds nothing more specific.
_HINTS = {
    400: "the request was refused as malformed",
    401: "credentials rejected: check the environment variables that hold them",
    403: "the credentials lack the rights for this call: check the client's scopes or authorities",
    404: "not found",
    407: "the proxy refused its credentials: check the proxy's username_env and password_env",
    409: "conflict with what exists",
    410: "gone",
    412: "the API version is not supported",
    422: "the request cannot be processed",
    429: "rate limited: retry later",
}


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy for one target, with optional basic-auth credentials (never shown)."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 3128}"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")


class HttpFailure(InfrastructureError):
    """A call that failed: `status` is the HTTP code, 0 for transport errors and timeouts."""

    def __init__(self, message: str, status: int = 0, error_code: str = "") -> None:
        self.status = status
        self.error_code = error_code  # e.g. an OSB "ConcurrencyError"
        super().__init__(message)


class TransientHttpFailure(HttpFailure):
    """A failure worth retrying while polling: transport errors, timeouts, 429 and 5xx."""


def _failure(message: str, status: int = 0, error_code: str = "") -> HttpFailure:
    kind = TransientHttpFailure if status in {0, 429} or status >= 500 else HttpFailure
    return kind(message, status, error_code)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every known secret (and its base64 form, as in basic-auth headers) replaced."""
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class HttpClient:
    """Requests to one service (`base_url`), with a timeout, optional CA file, proxy and redaction."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        timeout: float,
        ca_file: str | None = None,
        proxy: Proxy | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self.proxy = proxy
        self._secrets: list[str | None] = list(secrets)
        if proxy is not None:
            self._secrets += [proxy.password]
        options: dict[str, Any] = {"timeout": urllib3.Timeout(total=timeout), "retries": False}
        if ca_file:
            options["ca_certs"] = ca_file
            options["cert_reqs"] = ssl.CERT_REQUIRED
        if proxy is not None:
            headers = {}
            if proxy.username is not None:
                headers["Proxy-Authorization"] = basic_auth(proxy.username, proxy.password or "")
            self._pool: urllib3.PoolManager = urllib3.ProxyManager(proxy.url, proxy_headers=headers, **options)
        else:
            self._pool = urllib3.PoolManager(**options)

    def __repr__(self) -> str:
        via = f" via {self.proxy.address}" if self.proxy else ""
        return f"HttpClient({self.service} {self.base_url}{via})"

    def add_secret(self, secret: str | None) -> None:
        """Remember one more secret (e.g. a token fetched later) to redact from messages."""
        self._secrets.append(secret)

    def redact(self, text: str, headers: Mapping[str, str] | None = None) -> str:
        """`text` without known secrets, their base64 forms, or the credentials of `headers`' Authorization."""
        encoded = [base64.b64encode(s.encode()).decode() for s in self._secrets if s]
        sent = [v.split(" ", 1)[-1] for k, v in (headers or {}).items() if k.lower().endswith("authorization")]
        return redact(text, [*self._secrets, *encoded, *sent])

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        return url + ("?" + urlencode(query) if query else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        hints: Mapping[int, str] | None = None,
    ) -> Response:
        """Send one request; a status outside `expect` raises HttpFailure with a hint for the operator."""
        sent = dict(headers or {})
        data = body
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if content_type:
            sent["Content-Type"] = content_type
        sent.setdefault("Accept", "application/json")
        call = f"{method} {path}"
        try:
            raw = self._pool.request(method, self.url(path, query), body=data, headers=sent, redirect=False)
        except ProxyError as exc:
            if _proxy_refused_credentials(str(exc)):
                raise HttpFailure(self._proxy_message(call, exc), status=407) from None
            raise _failure(self._proxy_message(call, exc)) from None
        except HTTPError as exc:
            reason = _transport_reason(exc)
            raise _failure(
                self.redact(
                    f"{self.service} {call} failed: {reason} (fix: check {self.base_url} is reachable"
                    + (f" through the proxy {self.proxy.address}" if self.proxy else "")
                    + f"; timeout {self.timeout:g}s)",
                    sent,
                )
            ) from None
        response = Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, raw.data)
        if response.status in expect:
            return response
        if response.status == 407 and self.proxy is not None:
            raise HttpFailure(self._proxy_message(call, "407 Proxy Authentication Required"), status=407)
        detail, code = _error_detail(response)
        hint = (hints or {}).get(response.status) or _HINTS.get(response.status, "unexpected answer")
        raise _failure(
            self.redact(f"{self.service} {call}: {response.status}{detail}: {hint}", sent),
            status=response.status,
            error_code=code,
        )

    def _proxy_message(self, call: str, exc: object) -> str:
        assert self.proxy is not None
        text = str(exc)
        if _proxy_refused_credentials(text):
            answered = re.search(r"(40[17] [A-Za-z ]+)", text)
            reason = f"the proxy refused its credentials ({answered.group(1) if answered else '407'})"
            fix = "check the proxy's username_env and password_env"
        else:
            reason = f"the proxy failed ({_short(text)})"
            fix = "check the proxy's url and that it is running"
        return self.redact(f"{self.service} {call} through proxy {self.proxy.address}: {reason}; fix: {fix}")

    def close(self) -> None:
        self._pool.clear()


def _proxy_refused_credentials(text: str) -> bool:
    """A tunnel (CONNECT) refused for authentication: 407, or 401 as tinyproxy answers wrong credentials."""
    return "407" in text or "Tunnel connection failed: 401" in text


def _short(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def _transport_reason(exc: HTTPError) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "timed out" in text.lower() or "timeout" in type(reason).__name__.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    return _short(f"{type(reason).__name__}: {text}")


def _error_detail(response: Response) -> tuple[str, str]:
    """A short ` (error: description)` from a JSON error body, and its error code."""
    try:
        parsed = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.body[:200].decode("utf-8", "replace").strip()
        return (f" ({_short(text)})" if text and "<" not in text[:1] else ""), ""
    if not isinstance(parsed, dict):
        return "", ""
    code = str(parsed.get("error") or "")
    description = str(
        parsed.get("description") or parsed.get("error_description") or parsed.get("message") or ""
    ).strip()
    text = ": ".join(part for part in (code, description) if part)
    return (f" ({_short(text)})" if text else ""), code
