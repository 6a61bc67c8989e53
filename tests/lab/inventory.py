"""What a test's runs leave on a lab shared with other suites: the inventory diff, narrowed to this
suite's clusters (their names carry CAAS_CLUSTER_PREFIX) while other suites' clusters come and go."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.lab.layout import MAX_CLUSTERS

ANY_INDEX = range(1, MAX_CLUSTERS + 1)  # `leaked_since`'s indices when the run's cluster index is unknown


def cluster_prefix() -> str:
    return os.environ.get("CAAS_CLUSTER_PREFIX", "")


def cluster_links(links: Iterable[str], indices: Iterable[int]) -> tuple[str, ...]:
    """The host links among `links` of the lab clusters `indices` (`caas<index>n<node>`, the layout's
    `host_veth`)."""
    prefixes = tuple(f"caas{i}n" for i in indices)
    return tuple(name for name in links if name.startswith(prefixes))


def suite_run_id(name: str) -> str:
    """A run id of this suite: `name` after CAAS_CLUSTER_PREFIX, so that another suite running the
    same test on the same lab (its clusters carry its own prefix) never shares the run id, nor the
    clusters a run-id filter or `caas clean --run-id` finds."""
    return f"{cluster_prefix()}{name}"


def run_cluster_indices(paths: LabPaths, run_id: str) -> set[int]:
    """The lab indices of the run's clusters now (their host links are named after the index)."""
    return {s.index for s in cluster.list_clusters(paths) if s.run_id == run_id}


def leaked_since(paths: LabPaths, before: host.Inventory, indices: Iterable[int]) -> host.Inventory:
    """What this suite left on the host since `before`, its runs having used the cluster `indices`.
    An index is reused as soon as it is free: links of an index that another suite's cluster holds
    (before or after the inventory is taken) are that cluster's."""
    others = _other_suites_indices(paths)
    now = host.inventory(paths.home)
    others |= _other_suites_indices(paths)
    return ours(now.new_since(before), set(indices) - others)


def _other_suites_indices(paths: LabPaths) -> set[int]:
    prefix = cluster_prefix()
    return {s.index for s in cluster.list_clusters(paths) if not s.name.startswith(prefix) or not prefix}


def ours(leaked: host.Inventory, indices: Iterable[int] = ()) -> host.Inventory:
    """The part of `leaked` that belongs to this suite: names with its cluster prefix, processes whose
    command line or cgroups name such a cluster, host links of the cluster `indices` its runs used, host
    rules that carry the prefix; outside clients' namespaces whose owner died (`caas clean` removes those
    of every run). Without a prefix the lab is not shared: all of it."""
    prefix = cluster_prefix()
    if not prefix:
        return leaked
    marks = (f"caas-{prefix}", f"/clusters/{prefix}")

    def mine(item: Any) -> bool:
        return any(mark in str(item) for mark in marks)

    def my_netns(name: str) -> bool:  # an outside client's namespace whose owner is dead: nobody's, a leak
        owner = name.removeprefix(host.OUTSIDE)
        return mine(name) or (name != owner and owner.isdigit() and not host.is_running(int(owner)))

    def my_process(pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            return mine(cmdline) or mine(Path(f"/proc/{pid}/cgroup").read_text())
        except OSError:
            return False

    return host.Inventory(
        tuple(filter(my_netns, leaked.netns)),
        cluster_links(leaked.links, indices),
        tuple(filter(my_process, leaked.processes)),
        tuple(filter(mine, leaked.mounts)),
        tuple(filter(mine, leaked.cgroups)),
        tuple(filter(mine, leaked.host_iptables)),
    )
