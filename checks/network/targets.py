"""Targets past the tenants' pods: nodes' kubelets, the API server, node ports and service addresses, read
from the clusters as their admin (observation only). Each target comes with its owner, a `ProbePod` whose
`app` names what it is ("node", "kubelet", "api-server", "node-port"; see expectations.kind_of_target)."""

from __future__ import annotations

from collections.abc import Sequence

from checks.network.outside import OUTSIDE
from checks.network.probe import ProbePod, Target, pod_targets
from checks.network.runs import Owned
from checks.network.services import TenantService
from provisioning.kube import client as kube
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

KUBELET_PORT = 10250  # the kubelet's API (Kubernetes "Ports and Protocols")
API_SERVER_PORT = 443  # the `kubernetes` Service's port in the default namespace

OUTSIDE_CLIENT = ProbePod("", "", "", OUTSIDE, OUTSIDE, "")  # the one source of a probe from outside


def node_addresses(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster) -> list[tuple[str, str]]:
    """[(node name, InternalIP)] of every node, in the API server's order (raises kube.ApiFailure, and
    StopIteration for a node without an InternalIP)."""
    api = tenancy.admin_client(cluster)
    try:
        nodes = kube.call(api, "CoreV1Api", "list_node").items
    finally:
        api.close()
    return [
        (node.metadata.name, next(a.address for a in node.status.addresses if a.type == "InternalIP")) for node in nodes
    ]


def kubelets_of_every_cluster(tenancy: ProvisionedTenancy) -> list[Owned]:
    """Every node's kubelet port of every cluster, owned by the cluster's first tenant (app "node"), so that
    the relation other_cluster tells this cluster's nodes from the others'."""
    targets: list[Owned] = []
    for provisioned in tenancy.clusters:
        cluster = provisioned.handle.name
        for name, address in node_addresses(tenancy, provisioned):
            owner = ProbePod(provisioned.tenants[0].name, cluster, "", name, "node", address)
            targets.append((owner, Target(f"{cluster}/{name}:{KUBELET_PORT}/tcp", address, KUBELET_PORT, "tcp")))
    return targets


def control_plane_targets(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster) -> list[Owned]:
    """The API server by its Service address (TCP 443) and by its first endpoint, then every node's kubelet
    (TCP 10250), as read now from the cluster (raises kube.ApiFailure)."""
    api = tenancy.admin_client(cluster)
    try:
        kubernetes = kube.call(api, "CoreV1Api", "read_namespaced_service", "kubernetes", "default")
        endpoint = kube.call(api, "CoreV1Api", "read_namespaced_endpoints", "kubernetes", "default").subsets[0]
    finally:
        api.close()
    name, ip = cluster.handle.name, kubernetes.spec.cluster_ip
    server = ProbePod("", name, "default", "kubernetes", "api-server", ip)
    address, port = endpoint.addresses[0].ip, endpoint.ports[0].port
    targets: list[Owned] = [
        (server, Target(f"kubernetes:{API_SERVER_PORT}/tcp", ip, API_SERVER_PORT, "tcp")),
        (server, Target(f"{address}:{port}/tcp", address, port, "tcp")),
    ]
    for node, node_ip in node_addresses(tenancy, cluster):
        kubelet = ProbePod("", name, "", node, "kubelet", node_ip)
        targets.append((kubelet, Target(f"{node}:{KUBELET_PORT}/tcp", node_ip, KUBELET_PORT, "tcp")))
    return targets


def outside_targets(
    nodes: Sequence[tuple[str, str]], services: Sequence[TenantService], pods: Sequence[ProbePod]
) -> list[Owned]:
    """What a client outside the cluster tries (pure): every exposed node port of `services` on every node
    of `nodes` [(name, address)], then every service address and every pod on TCP."""
    exposed = [s for s in services if s.node_port is not None]
    targets: list[Owned] = []
    for name, address in nodes:
        for service in exposed:
            owner = ProbePod(service.tenant, service.cluster, service.namespace, service.name, "node-port", address)
            targets.append((owner, Target(f"{name}:{service.node_port}/tcp", address, service.node_port or 0, "tcp")))
    targets += [(s.owner, t) for s in services for t in s.address_targets() if t.protocol == "tcp"]
    targets += [(p, t) for p in pods for t in pod_targets([p], protocols=("tcp",))]
    return targets
