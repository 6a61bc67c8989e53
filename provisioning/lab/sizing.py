"""How large the lab is sized: pods per node, the host's kernel tables and the daemons' open files (pure).

The lab's node hosts are network namespaces of one machine, so the kernel tables that hold their
traffic are the machine's, shared by every node host and pod of every cluster:

- the neighbour (ARP) table: `net.ipv4.neigh.default.gc_thresh1..3` exist in the initial namespace only
  and bound the entries of all namespaces together. Its default hard limit (1024) is below what 400
  pods on a few bridges hold (each pod's gateway, each node's pods, pod to pod on one bridge); past
  it the kernel drops packets ("neighbour table overflow") and probes see i/o timeouts.
- the connection-tracking table: `net.netfilter.nf_conntrack_max` is writable in the initial namespace
  only and counts the entries of every namespace (kube-proxy's DNAT of every service connection, every
  DNS query included, is tracked).
- the default socket receive buffer: `net.core.rmem_default` is the initial namespace's, read by every
  namespace. The lab's one CoreDNS takes every pod's queries on one UDP socket of that size (CoreDNS sets
  none); a burst of probes (each name 8 queries: ndots 5, three search domains, A and AAAA) overflowed
  the default 208 KiB (12 pods x 154 names: 1,936 of 4,593 datagrams dropped, UdpRcvbufErrors) and the
  probes saw i/o timeouts. At 4 MiB the same burst lost none (#23).
- `kernel.pid_max` counts threads: each pod adds a runc shim of about a dozen threads.

Each node's CPU capacity is the machine's (the kubelet reads it from the machine's CPU topology, and
`--system-reserved` can only subtract), so the CPU the lab's scheduler hands out grows with the
number of workers, not with any node setting: MAX_WORKERS (layout.py) is sized by that.
"""

from __future__ import annotations

from collections.abc import Mapping

POD_NETWORK_ADDRESSES = 253  # a node's /24 pod network (layout.py) less network, gateway and broadcast
MAX_PODS_PER_NODE = 250  # the kubelet's maxPods: the /24 less a few addresses for pods being replaced

# Floors for the host's kernel settings (name: least value). The lab raises a setting below its floor and
# never lowers one: the machine is shared. Values as large clusters set them (e.g. kubespray's defaults).
HOST_SYSCTL_FLOORS: Mapping[str, int] = {
    "net.ipv4.neigh.default.gc_thresh1": 8192,
    "net.ipv4.neigh.default.gc_thresh2": 32768,
    "net.ipv4.neigh.default.gc_thresh3": 65536,
    "net.netfilter.nf_conntrack_max": 524288,
    "net.core.rmem_default": 4194304,
    "net.core.rmem_max": 4194304,
    "kernel.pid_max": 4194304,
    "fs.inotify.max_user_instances": 8192,
    "fs.inotify.max_user_watches": 524288,
}

OPEN_FILES_WANTED = 1048576  # the daemons' RLIMIT_NOFILE, as containerd's and the kubelet's units ask


def sysctls_to_raise(current: Mapping[str, int | None]) -> list[tuple[str, int]]:
    """(name, value) of each HOST_SYSCTL_FLOORS setting whose `current` value is below its floor, in the
    floors' order. A setting `current` lacks or maps to None is skipped: this kernel has no such table
    (yet: nf_conntrack_max appears when the conntrack module loads)."""
    raised = []
    for name, floor in HOST_SYSCTL_FLOORS.items():
        value = current.get(name)
        if value is not None and value < floor:
            raised.append((name, floor))
    return raised


def open_files_limit(soft: int, hard: int, privileged: bool) -> tuple[int, int]:
    """The (soft, hard) RLIMIT_NOFILE the lab's daemons inherit. Without CAP_SYS_RESOURCE (`privileged`
    False) the hard limit cannot rise: the soft one rises to it. Never lowers either; -1 is unlimited
    (resource.RLIM_INFINITY)."""

    def at_least(limit: int, wanted: int) -> int:
        return limit if limit == -1 or limit >= wanted else wanted

    new_hard = at_least(hard, OPEN_FILES_WANTED) if privileged else hard
    new_soft = at_least(soft, OPEN_FILES_WANTED)
    if new_hard != -1 and (new_soft == -1 or new_soft > new_hard):
        new_soft = new_hard
    return new_soft, new_hard


def pods_that_fit(workers: int, node_millicores: int, request_millicores: int) -> int:
    """How many pods requesting `request_millicores` of CPU each (e.g. 50: the plans' LimitRange default
    request) the lab's scheduler places on `workers` nodes that each advertise `node_millicores` (the
    machine's cores x 1000): the smaller of the CPU bound and the maxPods bound, per node. Raises
    ValueError for no worker or a negative figure."""
    if workers < 1 or node_millicores < 0 or request_millicores < 0:
        raise ValueError(f"need workers >= 1 and figures >= 0 (got {workers}, {node_millicores}, {request_millicores})")
    per_node = MAX_PODS_PER_NODE
    if request_millicores:
        per_node = min(per_node, node_millicores // request_millicores)
    return workers * per_node
