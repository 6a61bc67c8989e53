"""Where the lab home is on this machine: CAAS_LAB_HOME, or /var/lib/caas-lab.

The rule lives beside the lab so that the lab's own entry points (`python -m provisioning.lab.keycloak`)
find the home as the suite does; harness.settings reads it with the run's other settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.errors import ConfigError
from harness.names import shown

LAB_HOME_VARIABLE = "CAAS_LAB_HOME"
DEFAULT_LAB_HOME = Path("/var/lib/caas-lab")


def lab_home(environment: Mapping[str, str]) -> Path:
    """Where the embedded lab keeps its binaries, images and cluster state: CAAS_LAB_HOME, an absolute
    path (default /var/lib/caas-lab). Raises ConfigError for a relative or empty one (set but empty,
    as `CAAS_LAB_HOME=$UNSET` makes it, it would mean the current directory)."""
    text = environment.get(LAB_HOME_VARIABLE)
    if text is None:
        return DEFAULT_LAB_HOME
    if not text.startswith("/"):
        raise ConfigError(
            LAB_HOME_VARIABLE,
            "",
            f"{shown(text)} is not an absolute path (fix: e.g. {DEFAULT_LAB_HOME}, or unset it)",
        )
    return Path(text)
