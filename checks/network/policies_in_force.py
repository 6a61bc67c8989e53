"""Read the NetworkPolicies and namespace labels in force, and compute what they allow (evaluator)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checks.matrix import Cell, Matrix
from checks.network.expectations import Pair
from checks.network.policy import Endpoint, Port, allowed
from checks.network.probe import PROBE_APPS, ProbePod
from provisioning.kube import client as kube
from provisioning.model.onboarding import TENANT
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy


def partner_policy(
    name: str, direction: str, own_app: str, peer_tenant: str, peer_app: str, port: int
) -> dict[str, Any]:
    """A tenant's NetworkPolicy that opens one TCP port between its pods `own_app` and another tenant's
    pods `peer_app`: Ingress admits them, Egress lets its own pods reach them."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    peer = {
        "namespaceSelector": {"matchLabels": {TENANT: peer_tenant}},
        "podSelector": {"matchLabels": {"app": peer_app}},
    }
    return {
        "metadata": {"name": name},
        "spec": {
            "podSelector": {"matchLabels": {"app": own_app}},
            "policyTypes": [direction],
            rules_key: [{peers_key: [peer], "ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def read_policies(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster
) -> tuple[list[Any], dict[str, dict[str, str]]]:
    api = tenancy.admin_client(cluster)
    try:
        policies = kube.request(api, "GET", "/apis/networking.k8s.io/v1/networkpolicies")["items"]
        namespaces = kube.request(api, "GET", "/api/v1/namespaces")["items"]
    finally:
        api.close()
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
    return policies, labels


Endpoints = Mapping[tuple[str, str], Endpoint]  # (namespace, pod name) -> the pod as the evaluator sees it


def endpoint_of(pod: Mapping[str, Any]) -> Endpoint:
    """A pod as the API returns it -> its address, namespace, real labels and every port its containers
    declare (named ports resolve on the destination pod's own map)."""
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    ports = tuple(
        Port(int(p["containerPort"]), p.get("protocol", "TCP"), p.get("name", ""))
        for container in spec.get("containers") or []
        for p in container.get("ports") or []
    )
    return Endpoint(
        f"{metadata['namespace']}/{metadata['name']}",
        (pod.get("status") or {}).get("podIP") or "",
        metadata["namespace"],
        dict(metadata.get("labels") or {}),
        ports,
    )


def read_endpoints(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster) -> dict[tuple[str, str], Endpoint]:
    """Every addressed pod of the cluster, read now: labels and ports as they are, not as deployed."""
    api = tenancy.admin_client(cluster)
    try:
        pods = kube.request(api, "GET", "/api/v1/pods")["items"]
    finally:
        api.close()
    return {
        (p["metadata"]["namespace"], p["metadata"]["name"]): endpoint_of(p)
        for p in pods
        if (p.get("status") or {}).get("podIP")
    }


def _endpoint(pod: ProbePod, endpoints: Endpoints) -> Endpoint:
    """The pod read from the cluster; a target that is no pod (a service or node address) by its address.
    Raises LookupError for a probe pod that is gone or was re-created with another address (the matrix
    would judge an address it no longer holds)."""
    found = endpoints.get((pod.namespace, pod.name))
    if found is None:
        if pod.app in PROBE_APPS and pod.namespace:
            raise LookupError(f"probe pod {pod.namespace}/{pod.name} ({pod.ip}) is not among the cluster's pods")
        return Endpoint(pod.label, pod.ip)
    if found.ip != pod.ip:
        raise LookupError(f"pod {pod.namespace}/{pod.name} now has address {found.ip}, probed at {pod.ip}")
    return found


def expected_by_policies(
    sources: Sequence[ProbePod],
    columns: Sequence[str],
    pairs: Sequence[Pair],
    policies: list[Any],
    namespace_labels: dict[str, dict[str, str]],
    endpoints: Endpoints,
    ip_block_matches_pods: bool = True,
) -> Matrix:
    """What the policies in force allow for each probed pair on one cluster, judged on the pods' real labels
    and port maps (`read_endpoints`) and the product's reading of ipBlock (targets file: dataplane). Each
    pair is judged on the policies of its two namespaces only, since a NetworkPolicy selects pods of its
    own namespace (networking.k8s.io/v1 NetworkPolicySpec.podSelector): 100 tenants' 119,400 pairs took
    24 s against every policy of the cluster, 3 s this way (a synthetic run of the onboarding's policies)."""
    by_namespace: dict[str, list[Any]] = {}  # a policy selects pods of its own namespace only (_selects)
    for policy in policies:
        by_namespace.setdefault(policy["metadata"]["namespace"], []).append(policy)
    cells = {}
    for source, owner, target in pairs:
        port = Port(target.port, target.protocol.upper())
        source_end, destination = _endpoint(source, endpoints), _endpoint(owner, endpoints)
        namespaces = dict.fromkeys((source_end.namespace, destination.namespace))
        ok = allowed(
            [p for namespace in namespaces for p in by_namespace.get(namespace, ())],
            source_end,
            destination,
            port,
            namespace_labels,
            ip_block_matches_pods,
        )
        cells[(source.label, target.column)] = Cell.ALLOWED if ok else Cell.DENIED
    return Matrix.build([s.label for s in sources], columns, cells)
