"""Read where onboarding's egress exceptions must lead on one cluster: the cluster DNS and the API server.

The DNS is the Service `kube-dns` in kube-system (the name kubeadm, CoreDNS's charts and the products
keep), or else the one kube-system Service serving port 53; the API server is `default/kubernetes`.
A Service with a selector is named by it (its pods, wherever they are rescheduled); one without (the
API server, a DNS outside the pod network as on the lab) by its ready endpoint addresses. Ports are the
endpoints' (after address translation, which is what a dataplane filters on).
"""

from __future__ import annotations

from typing import Any

from provisioning.kube import client as kube
from provisioning.model.onboarding import ClusterDestinations, ServiceEndpoints

DNS_SERVICE = ("kube-system", "kube-dns")
API_SERVER_SERVICE = ("default", "kubernetes")


def read_destinations(api: Any) -> ClusterDestinations:
    """The cluster's DNS and API server endpoints; a missing one is empty (onboarding then opens nothing
    towards it, and the checks that need it say so). Raises kube.ApiFailure on other API errors."""
    return ClusterDestinations(dns=_endpoints(api, *_dns_service(api)), api_server=_endpoints(api, *API_SERVER_SERVICE))


def _dns_service(api: Any) -> tuple[str, str]:
    namespace, name = DNS_SERVICE
    services = kube.request(api, "GET", f"/api/v1/namespaces/{namespace}/services")["items"]
    names = [s["metadata"]["name"] for s in services]
    if name in names:
        return namespace, name
    serving_53 = [
        s["metadata"]["name"] for s in services if any(p.get("port") == 53 for p in s["spec"].get("ports") or [])
    ]
    return namespace, serving_53[0] if serving_53 else name


def _endpoints(api: Any, namespace: str, name: str) -> ServiceEndpoints:
    try:
        service = kube.request(api, "GET", f"/api/v1/namespaces/{namespace}/services/{name}")
    except kube.ApiFailure as failure:
        if failure.status == 404:
            return ServiceEndpoints()
        raise
    slices = kube.request(
        api,
        "GET",
        f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
        query={"labelSelector": f"kubernetes.io/service-name={name}"},
    )["items"]
    addresses = sorted(
        {
            address
            for s in slices
            for endpoint in s.get("endpoints") or []
            if (endpoint.get("conditions") or {}).get("ready", True)
            for address in endpoint.get("addresses") or []
        }
    )
    ports = sorted({(p.get("protocol", "TCP"), int(p["port"])) for s in slices for p in s.get("ports") or []})
    return ServiceEndpoints(
        namespace=namespace,
        selector=dict(service["spec"].get("selector") or {}),
        addresses=tuple(addresses),
        ports=tuple(ports),
    )
