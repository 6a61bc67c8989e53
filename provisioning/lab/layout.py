"""Where a lab cluster lives: directories, network namespaces, addresses (pure).

Cluster `index` i (1..50) gets the node-host addresses 10.213.i.10 (control
plane) and 10.213.i.11.. (workers) on the lab bridge, pod networks
10.(100+i).j.0/24 per worker j, and its own cgroup roots. Node hosts have no
default route: they reach each other over the bridge and nothing else.

The addresses hold 245 workers a cluster (10.213.i.11 to 10.213.i.255);
MAX_WORKERS is what the machine holds: every node advertises the machine's
CPU (sizing.py), so the CPU the scheduler hands out grows with the workers,
and each worker costs its daemons' memory and idle CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BRIDGE = "caas-lab0"
BRIDGE_ADDRESS = "10.213.0.1"
BRIDGE_PREFIX = 16
LAB_NETWORK = "10.213.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
MAX_CLUSTERS = 50
MAX_WORKERS = 12  # 12 x 2 cores / 50m (the plans' default request) = 480 pods; measured in #23
NETNS_PREFIX = "caas-"
CGROUP_PREFIX = "caas-"


@dataclass(frozen=True)
class NodeLayout:
    """One node host: its network namespace, address and (for workers) pod network."""

    cluster: str
    index: int  # 0 = control plane, 1.. = workers
    cluster_index: int
    directory: Path

    @property
    def name(self) -> str:
        return f"{self.cluster}-cp" if self.index == 0 else f"{self.cluster}-w{self.index}"

    @property
    def netns(self) -> str:
        return f"{NETNS_PREFIX}{self.name}"

    @property
    def netns_path(self) -> str:
        return f"/run/netns/{self.netns}"

    @property
    def ip(self) -> str:
        return f"10.213.{self.cluster_index}.{10 + self.index}"

    @property
    def host_veth(self) -> str:
        return f"caas{self.cluster_index}n{self.index}"

    @property
    def pod_cidr(self) -> str:
        return f"10.{100 + self.cluster_index}.{self.index}.0/24"

    @property
    def cgroup_root(self) -> str:
        return f"/{CGROUP_PREFIX}{self.name}"

    # node-local paths
    @property
    def containerd_socket(self) -> Path:
        return self.directory / "run" / "containerd.sock"

    def path(self, *parts: str) -> Path:
        return self.directory.joinpath(*parts)


@dataclass(frozen=True)
class ClusterLayout:
    """A whole lab cluster: control plane plus 1..MAX_WORKERS workers under one directory."""

    name: str
    index: int
    workers: int
    directory: Path

    @property
    def control_plane(self) -> NodeLayout:
        return NodeLayout(self.name, 0, self.index, self.directory / "nodes" / "cp")

    @property
    def worker_nodes(self) -> tuple[NodeLayout, ...]:
        return tuple(
            NodeLayout(self.name, j, self.index, self.directory / "nodes" / f"w{j}") for j in range(1, self.workers + 1)
        )

    @property
    def nodes(self) -> tuple[NodeLayout, ...]:
        return (self.control_plane, *self.worker_nodes)

    @property
    def cluster_cidr(self) -> str:
        return f"10.{100 + self.index}.0.0/16"

    @property
    def api_server_url(self) -> str:
        return f"https://{self.control_plane.ip}:6443"

    @property
    def pki(self) -> Path:
        return self.directory / "pki"

    @property
    def kubeconfigs(self) -> Path:
        return self.directory / "kubeconfigs"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def volumes(self) -> Path:
        return self.directory / "volumes"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def kubeconfig(self, user: str) -> Path:
        return self.kubeconfigs / f"{user}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
