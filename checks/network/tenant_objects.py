"""Objects a check creates the way a tenant would, with its admin's own credentials, each removed (as that
admin) by the finaliser the caller registers it with (pytest's `request.addfinalizer`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from checks import verdicts
from checks.network.claims import ADMIT_ANYONE, admit_anyone_policy
from checks.network.onboarding_ports import Ports, onboarding_egress_ports
from checks.network.policies_in_force import partner_policy, read_policies
from checks.network.probe import ONBOARDING_TCP_PORTS, ONBOARDING_UDP_PORTS
from provisioning.kube import client as kube
from provisioning.model.onboarding import Manifest, collection_path
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

Finalize = Callable[[Callable[[], object]], None]  # registers an undo step, e.g. request.addfinalizer
SERVED: Ports = frozenset({("TCP", p) for p in ONBOARDING_TCP_PORTS} | {("UDP", p) for p in ONBOARDING_UDP_PORTS})


@dataclass(frozen=True)
class OpenedFlow:
    """The one flow two tenants opened between them, and when."""

    started: float  # time.monotonic() before the first policy was created
    source: str  # matrix row, e.g. "green/a"
    column: str  # matrix column, e.g. "blue/b:8080/tcp"


def create_as_tenant_admin(
    tenancy: ProvisionedTenancy, finalize: Finalize, tenant: str, namespace: str, manifest: Manifest
) -> None:
    """Create `manifest` in `namespace` as `tenant`'s admin; register its deletion (as the admin)
    (raises kube.ApiFailure when the API server refuses it)."""
    path = collection_path({**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}})
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.request(api, "POST", path, body=manifest)
    finally:
        api.close()
    finalize(functools.partial(delete_as_tenant_admin, tenancy, tenant, f"{path}/{manifest['metadata']['name']}"))


def delete_as_tenant_admin(tenancy: ProvisionedTenancy, tenant: str, path: str) -> None:
    """Delete the object at API `path` as `tenant`'s admin; one already gone is fine."""
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.delete_if_present(api, path)
    finally:
        api.close()


def open_flow(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, apps: tuple[str, str], port: int, finalize: Finalize
) -> OpenedFlow:
    """The cluster's first tenant admits its second tenant's pods `apps[0]` to its pods `apps[1]` on TCP
    `port` (Ingress), and the second lets its pods reach them (Egress), each as its own admin; the policies
    are deleted by the finalisers registered (raises kube.ApiFailure when a creation is refused)."""
    source_app, target_app = apps
    first, second = cluster.tenants[:2]
    policies = [
        (first, partner_policy("admit-partner", "Ingress", target_app, second.name, source_app, port)),
        (second, partner_policy("reach-partner", "Egress", source_app, first.name, target_app, port)),
    ]
    started = time.monotonic()
    for tenant, policy in policies:
        api = tenancy.client_for(f"{tenant.name}-admin")
        try:
            kube.call(api, "NetworkingV1Api", "create_namespaced_network_policy", tenant.namespace, policy)
        finally:
            api.close()
        finalize(functools.partial(_delete_policy, tenancy, tenant.name, tenant.namespace, policy["metadata"]["name"]))
    return OpenedFlow(started, f"{second.name}/{source_app}", f"{first.name}/{target_app}:{port}/tcp")


def _delete_policy(tenancy: ProvisionedTenancy, tenant: str, namespace: str, name: str) -> None:
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.call(api, "NetworkingV1Api", "delete_namespaced_network_policy", name, namespace)
    finally:
        api.close()


def admit_anyone_on_egress_ports(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, finalize: Finalize) -> Ports:
    """Every tenant of `cluster` admits anyone to its probe pods on the ports its onboarding opens for egress
    (read from the policies in force), as its admin; the policies are deleted by the finalisers registered.
    -> those (protocol, port). Raises Inconclusive when onboarding opens a port the probe pods do not serve
    (nothing could tell a fence from a closed port), kube.ApiFailure when a policy is refused."""
    policies, _ = read_policies(tenancy, cluster)
    ports = onboarding_egress_ports(policies, [t.namespace for t in cluster.tenants])
    if not ports <= SERVED:
        raise verdicts.Inconclusive(
            f"onboarding opens egress on {sorted(ports - SERVED)}, which the probe pods do not serve "
            f"(checks/network/probe.py ONBOARDING_*_PORTS)"
        )
    for tenant in cluster.tenants:
        policy = admit_anyone_policy(tenancy.run_id, tenant.name, ADMIT_ANYONE, {"probe": "caas"}, sorted(ports))
        create_as_tenant_admin(tenancy, finalize, tenant.name, tenant.namespace, policy)
    return ports
