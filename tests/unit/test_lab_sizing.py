"""The lab's size (issue 23): the address layout holds MAX_WORKERS workers of every cluster, each node's pod
limit fits its pod network, 400+ pods at the plans' default CPU request fit the largest cluster, and the
host's kernel tables and open-files limit are only ever raised."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from provisioning.lab import cluster, configs, sizing
from provisioning.lab.layout import LAB_NETWORK, MAX_CLUSTERS, MAX_WORKERS, ClusterLayout

LARGEST = [ClusterLayout(f"c{i}", i, MAX_WORKERS, Path(f"/lab/clusters/c{i}")) for i in range(1, MAX_CLUSTERS + 1)]
TWO_CORES = 2000  # this machine's nodes advertise 2 cores each
PLAN_DEFAULT_REQUEST = 50  # millicores: the plans' LimitRange defaultRequest (e.g. tests/lab/existing_runs.py)


def test_every_node_of_every_cluster_at_the_most_workers_has_its_own_address_link_and_pod_network() -> None:
    nodes = [node for layout in LARGEST for node in layout.nodes]
    lab = ipaddress.ip_network(LAB_NETWORK)
    addresses = [ipaddress.ip_address(node.ip) for node in nodes]
    assert len(set(addresses)) == len(nodes)
    assert all(a in lab and a != lab.broadcast_address for a in addresses)
    links = [node.host_veth for node in nodes]
    assert len(set(links)) == len(links)
    assert max(len(link) for link in links) <= 15, "IFNAMSIZ: an interface name has at most 15 characters"
    networks = [ipaddress.ip_network(node.pod_cidr) for layout in LARGEST for node in layout.worker_nodes]
    assert len(set(networks)) == len(networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    for layout in LARGEST:
        cluster_network = ipaddress.ip_network(layout.cluster_cidr)
        assert all(ipaddress.ip_network(n.pod_cidr).subnet_of(cluster_network) for n in layout.worker_nodes)  # type: ignore[arg-type]


def test_the_kubelets_pod_limit_fits_the_nodes_pod_network() -> None:
    layout = LARGEST[-1]
    node = layout.worker_nodes[-1]
    config = json.loads(configs.kubelet(layout, node))
    usable = ipaddress.ip_network(node.pod_cidr).num_addresses - 3  # network, the bridge's gateway, broadcast
    assert config["maxPods"] == sizing.MAX_PODS_PER_NODE
    assert sizing.MAX_PODS_PER_NODE <= sizing.POD_NETWORK_ADDRESSES == usable


def test_the_largest_cluster_places_400_pods_at_the_plans_default_cpu_request() -> None:
    assert sizing.pods_that_fit(MAX_WORKERS, TWO_CORES, PLAN_DEFAULT_REQUEST) >= 400
    assert sizing.pods_that_fit(3, TWO_CORES, PLAN_DEFAULT_REQUEST) == 120  # the old limit: full at 25 tenants
    assert sizing.pods_that_fit(2, TWO_CORES, 0) == 2 * sizing.MAX_PODS_PER_NODE  # no request: maxPods bounds
    with pytest.raises(ValueError, match="workers >= 1"):
        sizing.pods_that_fit(0, TWO_CORES, PLAN_DEFAULT_REQUEST)


def test_up_accepts_the_most_workers_and_refuses_one_more() -> None:
    assert cluster.validate_request("h-x", "pks", MAX_WORKERS).name == "pks"
    with pytest.raises(ConfigError, match=f"1 to {MAX_WORKERS} worker nodes"):
        cluster.validate_request("h-x", "pks", MAX_WORKERS + 1)


def test_host_settings_below_their_floor_are_raised_and_none_is_lowered() -> None:
    floors = sizing.HOST_SYSCTL_FLOORS
    current: dict[str, int | None] = {name: floor for name, floor in floors.items()}
    assert sizing.sysctls_to_raise(current) == []
    current["net.ipv4.neigh.default.gc_thresh3"] = 1024  # the kernel's default
    current["kernel.pid_max"] = floors["kernel.pid_max"] * 2  # the host's own larger value stays
    current["net.netfilter.nf_conntrack_max"] = None  # no conntrack table on this kernel yet
    assert sizing.sysctls_to_raise(current) == [("net.ipv4.neigh.default.gc_thresh3", 65536)]
    assert sizing.sysctls_to_raise({}) == []


def test_the_neighbour_table_holds_every_pod_of_the_largest_clusters() -> None:
    # each pod has its gateway, each node its pods, and pods on one bridge each other: a pod's few entries
    pods = sizing.pods_that_fit(MAX_WORKERS, TWO_CORES, 0)
    assert sizing.HOST_SYSCTL_FLOORS["net.ipv4.neigh.default.gc_thresh3"] >= 4 * pods


@pytest.mark.parametrize(
    ("soft", "hard", "privileged", "expected"),
    [
        (1024, 20000, False, (20000, 20000)),  # no CAP_SYS_RESOURCE: the soft limit rises to the hard one
        (1024, 20000, True, (sizing.OPEN_FILES_WANTED, sizing.OPEN_FILES_WANTED)),
        (20000, -1, False, (sizing.OPEN_FILES_WANTED, -1)),  # an unlimited hard limit stays unlimited
        (-1, -1, True, (-1, -1)),
        (2**21, 2**22, True, (2**21, 2**22)),  # larger limits are kept
    ],
)
def test_the_daemons_open_files_limit_is_raised_within_what_the_process_may(
    soft: int, hard: int, privileged: bool, expected: tuple[int, int]
) -> None:
    assert sizing.open_files_limit(soft, hard, privileged) == expected
