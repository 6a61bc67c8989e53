"""The names the suite gives to what it creates on a shared machine, and who owns them (pure).

Three kinds of name, each checked where it enters (command line, environment, targets file) and
again where it is used (the lab's `up`/`down`/`attach`), so that no command can reach outside what
it created:

- a **cluster prefix** (`CAAS_CLUSTER_PREFIX`): 1 to 5 of `a-z`, `0-9`, then `-`, e.g. `ci-`. A prefix
  holds exactly one `-`, at its end, so a cluster name has at most one prefix: `na-pks-shared` is
  `na-`'s and no other suite's.
- a **lab cluster name**: a DNS label (RFC 1123 as Kubernetes applies it, `IsDNS1123Label`: `a-z`,
  `0-9` and `-`, starting and ending with a letter or digit) of at most 20 characters, the lab's own
  limit: the name becomes a directory under the lab's `clusters/`, Kubernetes node names
  (`<name>-w3`), network namespaces (`caas-<name>-w3`) and cgroup roots, so it never holds `/`, `.`
  or anything a shell or path would read differently.
- a **run id**: used as a Kubernetes label value (`IsValidLabelValue`: at most 63 of `A-Za-z0-9-_.`,
  starting and ending with a letter or digit), inside object names (`<policy>-<run id>`) and as a
  directory name, so the suite narrows it to what all three accept: 1 to 32 of `a-z`, `0-9` and
  `-`, starting and ending with a letter or digit.

Every check returns the value unchanged or raises `InvalidName`, whose message names the rule
broken and the fix; the value is shown quoted, ASCII-escaped and shortened, so one error is one line
whatever the input holds (newlines, Unicode line separators, 10,000 characters).
"""

from __future__ import annotations

import json
import re

CLUSTER_NAME_MAX = 20
DNS_LABEL_MAX = 63  # RFC 1123 label
RUN_ID_MAX = 32
LABEL_VALUE_MAX = 63
PREFIX_MAX = 5  # characters before the prefix's closing "-"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_PREFIX = re.compile(rf"[a-z0-9]{{1,{PREFIX_MAX}}}-")
_SHOWN = 40  # characters of a rejected value that a message shows
_SHOWN_ESCAPED = 120  # at most, once escaped


class InvalidName(ValueError):
    """A name that breaks its rule; `str()` is one line: the value, the rule broken, the fix."""


def shown(value: str) -> str:
    """`value` for a one-line message: JSON-quoted with every non-ASCII and control character
    escaped, cut (with its length) to at most 40 characters and 120 escaped ones (a character outside
    the Basic Multilingual Plane escapes to 12), so a message stays short whatever the value."""
    head = value[:_SHOWN]
    while len(json.dumps(head)) > _SHOWN_ESCAPED + 2:
        head = head[:-1]
    if head == value:
        return json.dumps(value)
    return f'{json.dumps(head)[:-1]}..." ({len(value)} characters)'


def _why_not_dns_label(value: str) -> str:
    """Which part of the DNS-label rule `value` breaks ("" when it keeps it)."""
    if not value:
        return "is empty"
    if value != value.lower():
        return "has upper-case letters"
    if not value.isascii() or re.search(r"[^-a-z0-9]", value):
        return 'has characters other than a-z, 0-9 and "-"'
    if not _DNS_LABEL.fullmatch(value):
        return 'starts or ends with "-"'
    return ""


def is_dns_label(value: str, limit: int = DNS_LABEL_MAX) -> bool:
    """Whether `value` is an RFC 1123 label (Kubernetes' IsDNS1123Label: a-z, 0-9 and "-", starting and
    ending with a letter or digit) of at most `limit` characters."""
    return len(value) <= limit and not _why_not_dns_label(value)


def check_cluster_prefix(value: str) -> str:
    """`value` if it is a valid CAAS_CLUSTER_PREFIX or "" (no prefix); else InvalidName."""
    if value and not _PREFIX.fullmatch(value):
        raise InvalidName(
            f'{shown(value)} is not a cluster prefix (fix: 1 to {PREFIX_MAX} of a-z and 0-9, then "-", e.g. "ci-")'
        )
    return value


def check_cluster_name(value: str, prefix: str = "") -> str:
    """`value` if it is a name the lab can give a cluster and, with a `prefix`, starts with it;
    else InvalidName. The rule is the module's (DNS label, at most 20 characters)."""
    why = _why_not_dns_label(value) or (
        f"is longer than {CLUSTER_NAME_MAX} characters" if len(value) > CLUSTER_NAME_MAX else ""
    )
    if why:
        raise InvalidName(
            f"{shown(value)} is not a lab cluster name: it {why} "
            f'(fix: 1 to {CLUSTER_NAME_MAX} of a-z, 0-9 and "-", starting and ending with a letter or digit)'
        )
    if prefix and not value.startswith(prefix):
        raise InvalidName(
            f"{shown(value)} does not start with CAAS_CLUSTER_PREFIX {shown(prefix)}, which keeps this suite's "
            f"clusters apart from other suites' (fix: {shown(prefix + value)}, or unset CAAS_CLUSTER_PREFIX)"
        )
    return value


def is_label_value(value: str) -> bool:
    """Whether `value` is a valid Kubernetes label value (apimachinery's IsValidLabelValue)."""
    return len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(value) is not None


def check_run_id(value: str) -> str:
    """`value` if it is a valid run id (a label value, an object-name part and a directory name:
    see the module); else InvalidName."""
    why = _why_not_dns_label(value) or (f"is longer than {RUN_ID_MAX} characters" if len(value) > RUN_ID_MAX else "")
    if why:
        raise InvalidName(
            f"{shown(value)} is not a run id: it {why} "
            f'(fix: 1 to {RUN_ID_MAX} of a-z, 0-9 and "-", starting and ending with a letter or digit)'
        )
    return value


def owned_by(name: str, prefix: str) -> bool:
    """Whether the cluster `name` is within the scope of `prefix` ("" = no prefix: every cluster)."""
    return name.startswith(prefix)
