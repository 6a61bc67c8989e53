"""Field types shared by the sections of a targets file: the base of every section (Spec) and the
values they hold (names, URLs, environment variable names).

They live in provisioning because its sections (a backend's `pks:`, ..., a product's `images:` and
`proxy:`) are built on them; the targets file's own fields (harness.targets) use them too. Each type
validates one value and says what to write instead, e.g. `"ftp://x" is not an http(s) URL (write e.g.
"https://api.example.com:9021")`; `harness.targets` turns the message into one error line naming the
file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Spec(BaseModel):
    """A section of the targets file: unknown fields are refused, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def one_of(kind: str, options: Iterable[str]) -> Callable[[str], str]:
    """A validator accepting only `options`; `kind` names the value in the error (`unknown <kind> "x"`)."""
    choices = tuple(options)

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f'unknown {kind} "{value}" (one of: {", ".join(choices)})')
        return value

    return check


def dns_label(value: str) -> str:
    """A name the suite derives Kubernetes names from: an RFC 1123 label of at most 40 characters."""
    if len(value) > 40 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f'"{value}" is not a valid name (use at most 40 lower-case letters, digits and "-", '
            "starting and ending with a letter or digit)"
        )
    return value


def dns_host(value: str) -> bool:
    """Whether `value` is a host name: dot-separated RFC 1123 labels."""
    return all(_DNS1123_LABEL.match(part) for part in value.split("."))


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f'"{value}" is not an environment variable name (write e.g. "PKS_PASSWORD")')
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", value):
        raise ValueError(f'"{value}" is not an http(s) URL (write e.g. "https://api.example.com:9021")')
    return value


def _cluster_template(value: str) -> str:
    if "{cluster}" not in value or not dns_host(value.replace("{cluster}", "c")):
        raise ValueError(
            f'"{value}" is not a host name template with {{cluster}} (write e.g. "{{cluster}}.example.com")'
        )
    return value


DnsName = Annotated[str, AfterValidator(dns_label)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
ClusterTemplate = Annotated[str, AfterValidator(_cluster_template)]
UaaGrant = Annotated[str, AfterValidator(one_of("grant", ("password", "client_credentials")))]
EnvName = Annotated[str, AfterValidator(_env_name)]
