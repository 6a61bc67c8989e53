"""Tenant services in front of the probe pods, created the way a tenant would: with its own credentials.

Every tenant gets a ClusterIP service `caas-probe` selecting its probe pods `a`; the first tenant of
each shared cluster, if its plan allows NodePort Services, also exposes its pods `b` outside the cluster as
a NodePort service
`caas-exposed`, with the NetworkPolicy that admits outside clients to it (the tenant's own choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.network.probe import PORT_NAMES, TCP_PORTS, UDP_PORT, ProbePod, Target
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.tenancy import Placement, Tenant
from provisioning.tenancy import ProvisionedTenancy

SERVICE = "caas-probe"
EXPOSED = "caas-exposed"
EXPOSED_PORT = TCP_PORTS[0]


@dataclass(frozen=True)
class TenantService:
    tenant: str
    cluster: str
    namespace: str
    name: str
    cluster_ip: str
    node_port: int | None = None

    @property
    def dns_name(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def owner(self) -> ProbePod:
        """The service as the owner of matrix columns (its tenant decides the relation)."""
        return ProbePod(self.tenant, self.cluster, self.namespace, self.name, "svc", self.cluster_ip)

    def address_targets(self) -> list[Target]:
        return [
            Target(f"{self.tenant}/{self.name}:{TCP_PORTS[0]}/tcp", self.cluster_ip, TCP_PORTS[0], "tcp"),
            Target(f"{self.tenant}/{self.name}:{UDP_PORT}/udp", self.cluster_ip, UDP_PORT, "udp"),
        ]

    def name_targets(self) -> list[Target]:
        return [
            Target(f"{self.dns_name}:{TCP_PORTS[0]}/tcp", self.dns_name, TCP_PORTS[0], "tcp"),
            Target(f"{self.dns_name}:{UDP_PORT}/udp", self.dns_name, UDP_PORT, "udp"),
        ]


def service_manifest(tenant: Tenant, run_id: str, name: str, app: str, node_port: bool) -> dict[str, Any]:
    ports: list[dict[str, Any]] = [{"name": PORT_NAMES[EXPOSED_PORT], "port": EXPOSED_PORT, "protocol": "TCP"}]
    if not node_port:
        ports.append({"name": PORT_NAMES[UDP_PORT], "port": UDP_PORT, "protocol": "UDP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": run_labels(run_id, tenant.name)},
        "spec": {
            "type": "NodePort" if node_port else "ClusterIP",
            "selector": {"app": app, "probe": "caas"},
            "ports": ports,
        },
    }


def admit_outside_policy(tenant: Tenant, run_id: str) -> dict[str, Any]:
    """The tenant admits clients from anywhere to its exposed pods, on the exposed port only."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "admit-outside", "labels": run_labels(run_id, tenant.name)},
        "spec": {
            "podSelector": {"matchLabels": {"app": "b"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": EXPOSED_PORT}]}
            ],
        },
    }


def _create(api: Any, group: str, method: str, namespace: str, body: dict[str, Any]) -> Any:
    """Create, or read what another process of the same run created (xdist workers)."""
    try:
        return kube.call(api, group, method, namespace, body)
    except kube.ApiFailure as exc:
        if exc.status != 409:
            raise
    read = method.replace("create_", "read_")
    return kube.call(api, group, read, body["metadata"]["name"], namespace)


def deploy_tenant_services(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], timeout: float
) -> list[TenantService]:
    """Create every tenant's services as its admin; return when each has endpoints."""
    services: list[TenantService] = []
    for provisioned in tenancy.clusters:
        shared = provisioned.tenants[0].placement is Placement.SHARED and len(provisioned.tenants) >= 2
        exposes = "NodePort" in tenancy.product.plan(provisioned.tenants[0].plan).service_types
        for index, tenant in enumerate(provisioned.tenants):
            api = tenancy.client_for(f"{tenant.name}-admin")
            try:
                svc = _create(
                    api,
                    "CoreV1Api",
                    "create_namespaced_service",
                    tenant.namespace,
                    service_manifest(tenant, tenancy.run_id, SERVICE, "a", node_port=False),
                )
                services.append(
                    TenantService(tenant.name, provisioned.handle.name, tenant.namespace, SERVICE, svc.spec.cluster_ip)
                )
                if shared and exposes and index == 0:
                    exposed = _create(
                        api,
                        "CoreV1Api",
                        "create_namespaced_service",
                        tenant.namespace,
                        service_manifest(tenant, tenancy.run_id, EXPOSED, "b", node_port=True),
                    )
                    _create(
                        api,
                        "NetworkingV1Api",
                        "create_namespaced_network_policy",
                        tenant.namespace,
                        admit_outside_policy(tenant, tenancy.run_id),
                    )
                    services.append(
                        TenantService(
                            tenant.name,
                            provisioned.handle.name,
                            tenant.namespace,
                            EXPOSED,
                            exposed.spec.cluster_ip,
                            exposed.spec.ports[0].node_port,
                        )
                    )
            finally:
                api.close()
    admin_apis = {c.handle.name: tenancy.admin_client(c) for c in tenancy.clusters}
    try:
        for service in services:
            api = admin_apis[service.cluster]

            def addresses(s: TenantService = service, a: Any = api) -> int:
                endpoints = kube.call(a, "CoreV1Api", "read_namespaced_endpoints", s.name, s.namespace)
                return sum(len(subset.addresses or []) for subset in endpoints.subsets or [])

            wait_until(
                addresses,
                lambda n: n > 0,
                timeout=timeout,
                what=f"endpoints of service {service.namespace}/{service.name}",
                retry_on=(kube.ApiFailure,),
            )
    finally:
        for api in admin_apis.values():
            api.close()
    return services
