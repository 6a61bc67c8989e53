"""The host routes and packet-filter rules of a lab cluster's node hosts.

Node hosts have no default route (layout.py): each reaches the other workers' pod networks through
a route via that worker's address. Pod traffic that leaves the cluster's pod network is masqueraded
to the node, as flannel does. A profile that isolates cluster networks (pks: a T1 router per cluster)
drops pod traffic to other clusters' node hosts in a mangle chain CAAS-EDGE.
"""

from __future__ import annotations

from provisioning.lab import host
from provisioning.lab.layout import LAB_NETWORK, ClusterLayout
from provisioning.lab.profiles import LabProfile

EDGE_CHAIN = "CAAS-EDGE"


def pod_routes(layout: ClusterLayout) -> list[tuple[str, str, str]]:
    """(node host, destination pod network, via address) of every route between the cluster's node hosts (pure)."""
    return [
        (node.name, other.pod_cidr, other.ip) for node in layout.nodes for other in layout.worker_nodes if other != node
    ]


def worker_rules(layout: ClusterLayout, profile: LabProfile) -> list[tuple[str, ...]]:
    """The iptables rules of each worker node host, in the order they are added (pure)."""
    cidr = layout.cluster_cidr
    masquerade = ("-m", "comment", "--comment", "caas-lab masquerade", "-j", "MASQUERADE")
    rules: list[tuple[str, ...]] = [("-t", "nat", "-A", "POSTROUTING", "-s", cidr, "!", "-d", cidr, *masquerade)]
    if profile.isolate_cluster_networks:
        own = f"{layout.control_plane.ip.rsplit('.', 1)[0]}.0/24"
        # In mangle, ahead of the filter chains that kube-proxy and kube-router own and accept in.
        edge = ("-t", "mangle")
        # Replies to connections from outside (e.g. to a node port) may leave; pods may not open any.
        conntrack = ("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED")
        rules += [
            (*edge, "-N", EDGE_CHAIN),
            (*edge, "-A", EDGE_CHAIN, *conntrack, "-j", "RETURN"),
            (*edge, "-A", EDGE_CHAIN, "-d", own, "-j", "RETURN"),
            (*edge, "-A", EDGE_CHAIN, "-d", LAB_NETWORK, "-j", "DROP"),
            (*edge, "-A", "FORWARD", "-s", cidr, "-j", EDGE_CHAIN),
        ]
    return rules


def install(layout: ClusterLayout, profile: LabProfile) -> None:
    """Add the routes and rules to the node hosts' namespaces. Raises InfrastructureError from `ip`/`iptables`."""
    nodes = {node.name: node for node in layout.nodes}
    for node_name, cidr, via in pod_routes(layout):
        host.add_route(nodes[node_name], cidr, via)
    rules = worker_rules(layout, profile)
    for node in layout.worker_nodes:
        for rule in rules:
            host.iptables_in(node, *rule)
