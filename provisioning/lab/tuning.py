"""The host's settings the lab sizes: kernel tables shared by every node host (sysctls of the initial
network namespace) and the open-files limit the lab's daemons inherit. The figures are sizing.py's."""

from __future__ import annotations

import resource
from pathlib import Path

from harness.errors import InfrastructureError
from provisioning.lab import sizing


def set_sysctl(name: str, value: str) -> None:
    Path("/proc/sys", *name.split(".")).write_text(value)


def read_sysctl(name: str) -> int | None:
    """The host's integer setting `name` (its first field), or None if this kernel has none."""
    try:
        return int(Path("/proc/sys", *name.split(".")).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def size_host() -> None:
    """Raise the host's kernel tables to the lab's floors (sizing.HOST_SYSCTL_FLOORS; never lowers one) and
    this process's open-files limit, which the lab's daemons inherit. Raises InfrastructureError naming
    the setting the kernel refused."""
    current = {name: read_sysctl(name) for name in sizing.HOST_SYSCTL_FLOORS}
    for name, value in sizing.sysctls_to_raise(current):
        try:
            set_sysctl(name, str(value))
        except OSError as error:
            raise InfrastructureError(
                f"cannot raise {name} to {value}: {error.strerror} (fix: sysctl -w {name}={value} as root)"
            ) from None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for privileged in (True, False):  # without CAP_SYS_RESOURCE the hard limit stays
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, sizing.open_files_limit(soft, hard, privileged))
            return
        except (ValueError, OSError):
            continue
