"""Copying and inspecting the suite's images with skopeo (Debian's `skopeo`, containers/image): no
registry client of our own. Logins go to skopeo in a private auth file (mode 0600, removed after), never
on its command line; a registry's CA goes in a private certificate directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfrastructureError
from harness.redaction import redact
from provisioning.images.pull_secret import DockerConfig

SKOPEO = "skopeo"
TIMEOUT = 300.0  # seconds for one copy (images of a few MB; a slow registry)


@dataclass(frozen=True)
class Access:
    """How skopeo reaches a registry: its login (None: anonymous) and CA file (None: the system's)."""

    login: DockerConfig | None = None
    ca_file: Path | None = None


@contextlib.contextmanager
def _options(access: Access, side: str) -> Iterator[list[str]]:
    """skopeo's options for `access`: side is "src", "dest" or "" (inspect)."""
    prefix = f"--{side}-" if side else "--"
    with tempfile.TemporaryDirectory(prefix="caas-skopeo-") as scratch:
        options: list[str] = []
        if access.login is not None:
            authfile = Path(scratch, "auth.json")
            authfile.touch(mode=0o600)
            authfile.write_text(json.dumps(access.login))
            options.append(f"{prefix}authfile={authfile}")
        else:
            options.append(f"{prefix}no-creds")
        if access.ca_file is not None:
            certs = Path(scratch, "certs")
            certs.mkdir()
            shutil.copyfile(access.ca_file, certs / "ca.crt")
            options.append(f"{prefix}cert-dir={certs}")
        yield options


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise InfrastructureError("skopeo is not installed (fix: apt-get install skopeo, or make system)") from None
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"`{' '.join(argv[:2])}` did not finish within {timeout:g}s") from None


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    """skopeo's own reason, one line (its last non-empty stderr line, `level=fatal msg=` removed)."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {result.returncode}"
    if 'msg="' in last:
        last = last.split('msg="', 1)[1].rstrip('"')
    return redact(last)


def copy(source: str, destination: str, *, dest: Access | None = None, timeout: float = TIMEOUT) -> None:
    """`skopeo copy --preserve-digests SOURCE DESTINATION` from a local image (oci-archive:/x.tar) to
    a registry (docker://host/repo:tag, reached with `dest`) or a layout (oci:/dir:name, `dest` None):
    the manifest keeps its digest or the copy fails. InfrastructureError with skopeo's reason."""
    with contextlib.ExitStack() as stack:
        dest_options = stack.enter_context(_options(dest, "dest")) if dest is not None else []
        argv = [SKOPEO, "copy", "--quiet", "--preserve-digests", *dest_options, source, destination]
        result = _run(argv, timeout)
    if result.returncode != 0:
        raise InfrastructureError(
            f"copying {source} to {destination} failed: {failure_line(result)} "
            "(fix: check the registry's address, its login and its CA)"
        )


def inspect_failure(reference: str, access: Access, timeout: float = 60.0) -> str:
    """ "" if the manifest `reference` (docker://host/repo@digest) can be read with `access`, else skopeo's
    reason (e.g. "...: unauthorized: authentication required", "...: manifest unknown")."""
    with _options(access, "") as options:
        result = _run([SKOPEO, "inspect", "--raw", "--retry-times=0", *options, reference], timeout)
    return "" if result.returncode == 0 else failure_line(result)
