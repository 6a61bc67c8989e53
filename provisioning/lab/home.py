"""The lab home: where the lab keeps binaries, images and clusters, and which clusters it holds.

There is one lab per machine: cluster names, addresses and the bridge are host-wide, so every
LabPaths of a machine must share `home`. Cluster indices (1..MAX_CLUSTERS, layout.py) are given
under a file lock, so that clusters started side by side never share one.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, InfrastructureError
from harness.names import InvalidName, check_cluster_name, owned_by
from provisioning.lab import host
from provisioning.lab.layout import MAX_CLUSTERS, MAX_WORKERS, ClusterLayout
from provisioning.lab.state import ClusterState, read_state


@dataclass(frozen=True)
class LabPaths:
    """Where the lab keeps binaries, images and clusters. There is one lab per machine: cluster names,
    addresses and the bridge are host-wide, so every LabPaths of a machine must share `home`."""

    home: Path
    bin_override: Path | None = None  # other binaries for the same lab (tests inject faults this way)

    @property
    def bin(self) -> Path:
        return self.bin_override or self.home / "bin"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def clusters(self) -> Path:
        return self.home / "clusters"

    def cluster_dir(self, name: str) -> Path:
        """The directory of cluster `name`: always a direct child of `clusters`, as `name` must be a
        lab cluster name (harness.names); raises ConfigError otherwise (e.g. "", "..", "a/b")."""
        return self.clusters / checked_name(name)


def checked_name(name: str, source: str = "lab cluster") -> str:
    """`name` if the lab could have created a cluster of that name; else ConfigError naming `source`.
    The last line of defence of every function here that derives a path, a network namespace or a
    cgroup from a name; the commands check earlier, with their own option's name."""
    try:
        return check_cluster_name(name)
    except InvalidName as exc:
        raise ConfigError(source, "", str(exc)) from None


def cluster_names(paths: LabPaths, prefix: str = "") -> list[str]:
    """The clusters of the lab, by directory (also one whose state file a crash never wrote), sorted:
    only directories whose name the lab could have given and that start with `prefix` ("" = all).
    Anything else under `clusters/` (a symlink, a file, `Foo`) is not the lab's and is never listed."""
    if not paths.clusters.is_dir():
        return []
    return sorted(
        entry.name
        for entry in paths.clusters.iterdir()
        if _is_cluster_name(entry.name) and owned_by(entry.name, prefix) and entry.is_dir() and not entry.is_symlink()
    )


def _is_cluster_name(name: str) -> bool:
    try:
        check_cluster_name(name)
    except InvalidName:
        return False
    return True


def list_clusters(paths: LabPaths, prefix: str = "") -> list[ClusterState]:
    """The state of every cluster of `cluster_names(paths, prefix)` that has one naming that cluster."""
    return [
        state
        for name in cluster_names(paths, prefix)
        if (state := read_state(paths.clusters / name)) is not None and state.name == name
    ]


def layout_of(paths: LabPaths, state: ClusterState) -> ClusterLayout:
    return ClusterLayout(state.name, state.index, state.workers, paths.cluster_dir(state.name))


@contextlib.contextmanager
def allocation_lock(paths: LabPaths) -> Iterator[None]:
    """Hold the lab home's allocation lock (an exclusive flock on `clusters/.allocation.lock`)."""
    with (paths.clusters / ".allocation.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_index(paths: LabPaths) -> int:
    """The lowest cluster index that no cluster of this lab home holds and whose host links
    (`caas<index>n<node>`, machine-wide) no other lab home's cluster uses. Raises InfrastructureError
    when all MAX_CLUSTERS are taken. Call it under `allocation_lock`."""
    used = {s.index for s in list_clusters(paths)}
    for index in range(1, MAX_CLUSTERS + 1):
        links = (node.host_veth for node in ClusterLayout("x", index, MAX_WORKERS, paths.clusters).nodes)
        if index not in used and not any(host.link_exists(link) for link in links):
            return index
    raise InfrastructureError(f"the lab already runs {MAX_CLUSTERS} clusters (fix: caas lab down NAME)")
