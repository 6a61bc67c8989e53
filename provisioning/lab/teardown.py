"""Remove lab clusters completely, from whatever is on disk (also after a crash half-way through `up`).

Only what carries the cluster's name goes: its directory (a direct child of the lab's `clusters/`),
processes that name that directory or run in its cgroups, its network namespaces, host links and
cgroups. The lab bridge goes with the lab's last cluster, when nothing else is attached to it.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import ConfigError, InfrastructureError
from harness.wait import wait_until
from provisioning.lab import host, loops
from provisioning.lab.home import LabPaths, allocation_lock, cluster_names
from provisioning.lab.layout import BRIDGE, MAX_WORKERS, ClusterLayout
from provisioning.lab.state import read_state

TEARDOWN_GRACE = 1.0  # seconds between SIGTERM and SIGKILL when a whole cluster is removed
TEARDOWN_REAP = 10.0  # seconds for init to reap the killed processes


@dataclass(frozen=True)
class Removal:
    """What `down` removed of one cluster, each item seen there before and gone after."""

    name: str
    processes: int  # killed (daemons, shims, containers)
    netns: tuple[str, ...]
    links: tuple[str, ...]  # host ends of the node hosts' veths
    cgroups: int  # cgroup directories (every hierarchy, every level)
    directory: Path | None  # the cluster's directory under the lab's `clusters/`
    bridge: bool = False  # the lab bridge, as nothing was attached to it any more

    @property
    def anything(self) -> bool:
        return bool(self.processes or self.netns or self.links or self.cgroups or self.directory or self.bridge)

    def __str__(self) -> str:
        parts = [f"{self.processes} processes"] if self.processes else []
        parts += [f"network namespaces {', '.join(self.netns)}"] if self.netns else []
        parts += [f"host links {', '.join(self.links)}"] if self.links else []
        parts += [f"{self.cgroups} cgroups"] if self.cgroups else []
        parts += [f"directory {self.directory}"] if self.directory else []
        parts += [f"the lab bridge {BRIDGE} (nothing attached any more)"] if self.bridge else []
        return "; ".join(parts) or "nothing"


def down(paths: LabPaths, name: str) -> Removal:
    """Remove a cluster completely: processes, containers, mounts, namespaces, cgroups, files.
    Works from whatever is on disk, also after a crash halfway through `up`, and touches only what
    carries the cluster's name: its directory (a direct child of the lab's `clusters/`, never a
    symlink), processes that name that directory or run in its cgroups, its network namespaces and
    cgroups. The lab bridge goes only when the lab has no cluster left and nothing is attached to it
    (another lab home's clusters, an outside client). Returns what was removed (nothing: no such
    cluster). Raises ConfigError for a name the lab could not have given."""
    directory = paths.cluster_dir(name)
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ConfigError("lab cluster", name, f"{directory} is not a directory the lab made (fix: remove it by hand)")
    state = read_state(directory)
    index = state.index if state is not None and state.name == name else 0
    nodes = ClusterLayout(name, index, MAX_WORKERS, directory).nodes
    roots = {node.cgroup_root.lstrip("/") for node in nodes}
    killed: set[int] = set()
    for _attempt in range(3):
        pids = host.processes_of(directory, roots.__contains__)
        if not pids:
            break
        killed.update(pids)
        # The cluster and its state go: no graceful shutdown to wait for. etcd and kube-apiserver
        # take their full grace on SIGTERM while clients are still connected (measured: 10 s).
        host.kill_all(pids, timeout=TEARDOWN_GRACE)
    # Killed containers stay zombies until init reaps them (their shims died with them): wait for that,
    # so that nothing of the cluster is listed once `down` returns. A zombie holds nothing else.
    with contextlib.suppress(InfrastructureError):
        wait_until(
            lambda: host.processes_of(directory, roots.__contains__),
            lambda left: not left,
            timeout=TEARDOWN_REAP,
            what=f"the killed processes of cluster {name} to be reaped",
        )
    host.unmount_all(directory)
    loops.detach_under(directory)  # Block volumes still mapped when the cluster was killed
    netns = [node.netns for node in nodes if Path(node.netns_path).exists()]
    # a link is this cluster's only when its alias names the node's namespace: an index read from a
    # stale or copied state must not take another lab home's link
    owned = [node.host_veth for node in nodes if index and host.link_owner(node.host_veth) == node.netns]
    links = list(owned)
    for node in nodes:
        host.delete_netns(node.netns)
    for link in owned:
        host.delete_link(link)
    cgroups = host.lab_cgroups(roots.__contains__)
    host.remove_cgroups(roots.__contains__)
    existed = directory.is_dir()
    shutil.rmtree(directory, ignore_errors=True)
    removal = Removal(
        name,
        processes=len(killed),
        netns=tuple(n for n in netns if not Path("/run/netns", n).exists()),
        links=tuple(link for link in links if not Path("/sys/class/net", link).exists()),
        cgroups=sum(not c.exists() for c in cgroups),
        directory=directory if existed and not directory.exists() else None,
    )
    if removal.anything:
        return replace(removal, bridge=remove_bridge_if_no_cluster(paths))
    return removal


def remove_bridge_if_no_cluster(paths: LabPaths) -> bool:
    """Remove the lab bridge if the lab has no cluster at all (of any prefix) and nothing is attached to
    it; whether it was removed. Under the allocation lock: a cluster being started keeps it."""
    if not paths.clusters.is_dir():
        return host.remove_bridge_if_unused()
    with allocation_lock(paths):
        return not cluster_names(paths) and host.remove_bridge_if_unused()
