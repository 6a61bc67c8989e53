"""The state of a lab cluster as the lab keeps it on disk: `state.json` in the cluster's directory.

The lab writes the whole state before it starts anything and again after every daemon it starts,
so that `caas lab down` finds everything also after a crash half-way through `caas lab up`. The
file is JSON, one object, keys sorted:
`{"name", "index", "workers", "profile", "authorization", "status", "created", "server",
"daemons": [{"component", "pid", "node", "argv"}], "run_id", "bare"[, "ready_seconds"]}`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from provisioning.model.tenancy import AuthorizationMode


class ClusterStatus(enum.StrEnum):
    STARTING = "starting"  # from the first write on, until every readiness check passed
    READY = "ready"


@dataclass(frozen=True)
class DaemonRecord:
    """One daemon the lab started for a cluster: its component (also its log's name, e.g. "kubelet-ha-x-w1"),
    process id, node (0 = control plane, 1.. = workers) and the command line it runs (restarts reuse it)."""

    component: str
    pid: int
    node: int
    argv: tuple[str, ...]


@dataclass(frozen=True)
class ClusterState:
    """What the lab knows of one cluster it started. `created` is seconds since the epoch; `run_id` is ""
    for a cluster started by hand (`caas lab up`); `ready_seconds` (None until ready) is how long it took."""

    name: str
    index: int
    workers: int
    profile: str
    authorization: AuthorizationMode
    server: str
    created: float
    status: ClusterStatus = ClusterStatus.STARTING
    daemons: tuple[DaemonRecord, ...] = ()
    run_id: str = ""
    bare: bool = False
    ready_seconds: float | None = None

    def with_daemon(self, daemon: DaemonRecord) -> ClusterState:
        return replace(self, daemons=(*self.daemons, daemon))

    def without_daemon(self, daemon: DaemonRecord) -> ClusterState:
        return replace(self, daemons=tuple(d for d in self.daemons if d != daemon))

    def daemon(self, component: str) -> DaemonRecord | None:
        """The first daemon of `component`, or None."""
        return next((d for d in self.daemons if d.component == component), None)

    def to_json(self) -> dict[str, Any]:
        """The state as the JSON object of `state.json` (no `ready_seconds` key before the cluster is ready)."""
        data: dict[str, Any] = _ADAPTER.dump_python(self, mode="json")
        if self.ready_seconds is None:
            del data["ready_seconds"]
        return data

    @classmethod
    def from_json(cls, data: object) -> ClusterState:
        """The state of a JSON object as `to_json` gives it; missing `run_id`/`bare`/`ready_seconds` take their
        defaults, unknown keys are ignored. Raises pydantic.ValidationError (a ValueError) naming the bad field."""
        return _ADAPTER.validate_python(data)


_ADAPTER = TypeAdapter(ClusterState)


def read_state(directory: Path) -> ClusterState | None:
    """The state in `directory`/state.json, or None if there is none or it is not a state (a crash before the
    first write, a truncated or foreign file)."""
    try:
        return ClusterState.from_json(json.loads((directory / "state.json").read_text()))
    except (OSError, ValueError):
        return None


def write_state(path: Path, state: ClusterState) -> None:
    """Write `state` to `path` atomically (a reader sees the old or the new state, never a part)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=1, sort_keys=True))
    tmp.replace(path)
