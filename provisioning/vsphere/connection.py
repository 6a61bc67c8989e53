"""A vCenter session: one SOAP stub with a socket timeout on every request, logged in and out."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyVmomi
from pyVmomi import vim as _vim
from pyVmomi import vmodl as _vmodl

from harness.errors import CaasError, InfrastructureError

# pyVmomi's own type hints describe its dynamic types only in part; the adapter treats them as Any.
vim: Any = _vim
vmodl: Any = _vmodl
SoapStubAdapter: Any = getattr(pyVmomi, "SoapStubAdapter")  # noqa: B009 - not re-exported for type checkers

# vSphere 6.5 introduced the vCenter first-class disk API; later vCenters still answer this namespace.
API_VERSION = "vim.version.version11"
DEFAULT_TIMEOUT = 15.0


class VSphereError(InfrastructureError):
    """vCenter could not be reached or answered with a fault we did not expect."""


class VSphereLoginError(CaasError):
    """vCenter refused the credentials: a configuration problem, not a verdict."""


@dataclass(frozen=True)
class VCenter:
    """How to reach a vCenter: its SDK URL (https://host/sdk), user, password and, for https, a CA bundle."""

    url: str
    username: str
    password: str = field(repr=False)
    ca_file: str | None = None


@dataclass
class Session:
    """A logged-in vCenter session; `content` is its ServiceContent."""

    content: Any
    timeout: float

    @property
    def disks(self) -> Any:
        return self.content.vStorageObjectManager


def _stub(target: VCenter, timeout: float) -> Any:
    parts = urlsplit(target.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CaasError(f'vCenter url "{target.url}" must look like https://vcenter.example.com/sdk')
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=target.ca_file)
    return SoapStubAdapter(
        url=f"{parts.scheme}://{parts.netloc}{parts.path or '/sdk'}",
        version=API_VERSION,
        sslContext=context,
        httpConnectionTimeout=timeout,
        connectionPoolTimeout=0,
    )


@contextmanager
def connect(target: VCenter, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Session]:
    """Log in to vCenter for the duration of the block; every request times out after `timeout` seconds."""
    stub = _stub(target, timeout)
    try:
        content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
        content.sessionManager.Login(target.username, target.password)
    except vim.fault.InvalidLogin:
        raise VSphereLoginError(
            f"vCenter {urlsplit(target.url).netloc} refused the login of {target.username} "
            "(fix: check the user and the password's environment variable)"
        ) from None
    except (OSError, vmodl.MethodFault) as exc:
        raise VSphereError(f"vCenter {urlsplit(target.url).netloc} did not answer: {describe_fault(exc)}") from None
    try:
        yield Session(content, timeout)
    finally:
        # the session expires on its own; a failed logout must not hide the block's outcome
        with contextlib.suppress(OSError, vmodl.MethodFault):
            content.sessionManager.Logout()


def describe_fault(exc: BaseException) -> str:
    message = getattr(exc, "msg", "") or str(exc)
    return f"{exc.__class__.__name__}: {message}"[:300]
