"""Steps of the network isolation checks: probe with real traffic, compare with the requirement."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import allure
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from fixtures.network.expectations import (
    AS_PLAN_SAYS,
    Pair,
    Relation,
    expected_matrix,
    kind_of_target,
    other_cluster,
    requirement_rules,
    same_tenant,
)
from fixtures.network.outside import OUTSIDE, observe_from_outside, probe_binary
from fixtures.network.policies_in_force import expected_by_policies, partner_policy, read_policies
from fixtures.network.probe import ProbePod, Prober, Target, pod_targets
from fixtures.network.reachability import attach, observe_until_converged, require
from fixtures.network.services import TenantService
from provisioning.kube import client as kube
from provisioning.model.tenancy import Placement
from provisioning.settings import Settings
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from reports.matrix import Cell, Matrix

scenarios("network")

REPROBE_ATTEMPTS = 5


Observe = Callable[["ProbeRun"], tuple[Matrix, int]]


def _from_pods(run: ProbeRun) -> tuple[Matrix, int]:
    wanted = {(s.label, t.column) for s, _, t in run.pairs}
    observation = run.prober.observe(
        run.sources, [t for _, t in run.targets], skip=lambda s, t: (s.label, t.column) not in wanted
    )
    return observation.matrix, observation.probes


@dataclass(frozen=True)
class ProbeRun:
    """What is probed: each source against each target it `keeps`; `observe()` probes it (again)."""

    prober: Prober
    sources: tuple[ProbePod, ...]
    targets: tuple[tuple[ProbePod, Target], ...]
    relation: Relation
    keep: Callable[[ProbePod, ProbePod], bool] = lambda source, owner: source != owner
    observer: Observe = _from_pods

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(t.column for _, t in self.targets))

    @property
    def pairs(self) -> list[Pair]:
        return [(s, o, t) for s in self.sources for o, t in self.targets if self.keep(s, o)]

    def observe(self) -> tuple[Matrix, int]:
        return self.observer(self)


@dataclass(frozen=True)
class OpenedFlow:
    """The one flow two tenants opened between them, and when."""

    started: float
    source: str  # matrix row, e.g. "green/a"
    column: str  # matrix column, e.g. "blue/b:8080/tcp"


@given("probe pods in every tenant")
def probe_pods_in_every_tenant(probe_pods: list[ProbePod]) -> list[ProbePod]:
    return probe_pods


def _targets_of(pods: list[ProbePod]) -> tuple[tuple[ProbePod, Target], ...]:
    return tuple((pod, target) for pod in pods for target in pod_targets([pod]))


@when(
    "every probe pod on a shared cluster tries every probe port of every pod on that cluster",
    target_fixture="probe_run",
)
def probe_shared(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    shared = {c.handle.name for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED}
    pods = [p for p in probe_pods if p.cluster in shared]
    if len({p.tenant for p in pods}) < 2:
        pytest.skip("not applicable: fewer than two tenants share a cluster")
    return ProbeRun(prober, tuple(pods), _targets_of(pods), same_tenant)


@when("every probe pod tries the pods and the node addresses of every other cluster", target_fixture="probe_run")
def probe_other_clusters(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    if len(tenancy.clusters) < 2:
        pytest.skip("not applicable: the product has a single cluster in the targets file")
    targets = list(_targets_of(probe_pods))
    for provisioned in tenancy.clusters:
        api = tenancy.admin_client(provisioned)
        try:
            nodes = kube.call(api, "CoreV1Api", "list_node").items
        finally:
            api.close()
        for node in nodes:
            address = next(a.address for a in node.status.addresses if a.type == "InternalIP")
            owner = ProbePod(
                provisioned.tenants[0].name, provisioned.handle.name, "", node.metadata.name, "node", address
            )
            targets.append(
                (owner, Target(f"{provisioned.handle.name}/{node.metadata.name}:10250/tcp", address, 10250, "tcp"))
            )
    return ProbeRun(prober, tuple(probe_pods), tuple(targets), other_cluster)


@then("the observed reachability is exactly:")
def reachability_is_exactly(probe_run: ProbeRun, datatable: list[list[str]], tenancy: ProvisionedTenancy) -> None:
    def resolve(source: ProbePod, value: str) -> Cell:
        if value != AS_PLAN_SAYS:
            return Cell(value)
        plan = tenancy.product.plan(tenancy.tenant(source.tenant).plan)
        return Cell.ALLOWED if plan.control_plane_egress else Cell.DENIED

    expected = expected_matrix(
        probe_run.sources,
        probe_run.columns,
        probe_run.pairs,
        requirement_rules(datatable),
        probe_run.relation,
        resolve,
    )
    verdict = observe_until_converged(expected, probe_run.observe, REPROBE_ATTEMPTS)
    attach(verdict, "reachability")
    require(verdict)


@when(
    parsers.parse(
        'the first tenant admits the second tenant\'s pods "{source_app}" to its pods "{target_app}" '
        "on TCP port {port:d}"
    ),
    target_fixture="opened",
)
def tenant_opens_one_flow(
    tenancy: ProvisionedTenancy, source_app: str, target_app: str, port: int, request: pytest.FixtureRequest
) -> OpenedFlow:
    shared = [c for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED and len(c.tenants) >= 2]
    if not shared:
        pytest.skip("not applicable: fewer than two tenants share a cluster")
    first, second = shared[0].tenants[:2]
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
        request.addfinalizer(
            lambda t=tenant, p=policy: _delete_policy(tenancy, t.name, t.namespace, p["metadata"]["name"])
        )
    return OpenedFlow(started, f"{second.name}/{source_app}", f"{first.name}/{target_app}:{port}/tcp")


def _delete_policy(tenancy: ProvisionedTenancy, tenant: str, namespace: str, name: str) -> None:
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.call(api, "NetworkingV1Api", "delete_namespaced_network_policy", name, namespace)
    finally:
        api.close()


@then("the observed reachability is exactly what the policies in force allow")
def reachability_is_what_policies_allow(probe_run: ProbeRun, tenancy: ProvisionedTenancy, opened: OpenedFlow) -> None:
    cluster = tenancy.cluster_of(probe_run.sources[0].tenant)
    policies, namespace_labels = read_policies(tenancy, cluster)
    expected = expected_by_policies(probe_run.sources, probe_run.columns, probe_run.pairs, policies, namespace_labels)
    cross_tenant = {
        (s.label, t.column)
        for s, o, t in probe_run.pairs
        if s.tenant != o.tenant and expected[s.label, t.column] is Cell.ALLOWED
    }
    assert cross_tenant == {(opened.source, opened.column)}, (
        f"the policies in force open {sorted(cross_tenant)} between tenants, not only the flow the tenants "
        f"named ({opened.source} -> {opened.column}): the tenancy's own fences are missing"
    )
    verdict = observe_until_converged(expected, probe_run.observe, REPROBE_ATTEMPTS, started=opened.started)
    attach(verdict, "reachability under the tenants' policies")
    if verdict.comparison.passed:
        allure.attach(
            f"time to enforce: {verdict.seconds:.1f}s ({verdict.attempts} attempts)",
            name="time to enforce",
            attachment_type=allure.attachment_type.TEXT,
        )
    require(verdict)


def _shared_pods(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod]) -> list[ProbePod]:
    shared = {c.handle.name for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED}
    pods = [p for p in probe_pods if p.cluster in shared]
    if len({p.tenant for p in pods}) < 2:
        pytest.skip("not applicable: fewer than two tenants share a cluster")
    return pods


@given("a service in front of every tenant's pods")
def service_per_tenant(tenant_services: list[TenantService]) -> list[TenantService]:
    return tenant_services


@when(
    "every probe pod on a shared cluster tries the service address of every tenant on that cluster",
    target_fixture="probe_run",
)
def probe_service_addresses(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], tenant_services: list[TenantService], prober: Prober
) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    targets = tuple(
        (s.owner, t)
        for s in tenant_services
        if s.cluster == pods[0].cluster and s.node_port is None
        for t in s.address_targets()
    )
    return ProbeRun(prober, tuple(pods), targets, same_tenant, keep=lambda _s, _o: True)


@when("every probe pod connects to its own tenant's service by name", target_fixture="probe_run")
def probe_own_service_by_name(
    probe_pods: list[ProbePod], tenant_services: list[TenantService], prober: Prober
) -> ProbeRun:
    targets = tuple((s.owner, t) for s in tenant_services if s.node_port is None for t in s.name_targets())
    return ProbeRun(
        prober, tuple(probe_pods), targets, same_tenant, keep=lambda source, owner: source.tenant == owner.tenant
    )


@when(
    "a client outside the cluster tries every node's exposed port, every pod and every service address",
    target_fixture="probe_run",
)
def probe_from_outside(
    tenancy: ProvisionedTenancy,
    probe_pods: list[ProbePod],
    tenant_services: list[TenantService],
    prober: Prober,
    settings: Settings,
    outside_client: list[str],
) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    cluster = tenancy.clusters[[c.handle.name for c in tenancy.clusters].index(pods[0].cluster)]
    services = [s for s in tenant_services if s.cluster == cluster.handle.name]
    exposed = [s for s in services if s.node_port is not None]
    targets: list[tuple[ProbePod, Target]] = []
    for name, address in _node_addresses(tenancy, cluster):
        for service in exposed:
            owner = ProbePod(service.tenant, service.cluster, service.namespace, service.name, "node-port", address)
            targets.append((owner, Target(f"{name}:{service.node_port}/tcp", address, service.node_port or 0, "tcp")))
    targets += [(s.owner, t) for s in services for t in s.address_targets() if t.protocol == "tcp"]
    targets += [(p, t) for p in pods for t in pod_targets([p], protocols=("tcp",))]
    outside = ProbePod("", "", "", OUTSIDE, OUTSIDE, "")
    probe = probe_binary(settings.lab_home)
    return ProbeRun(
        prober,
        (outside,),
        tuple(targets),
        kind_of_target,
        keep=lambda _s, _o: True,
        observer=lambda run: observe_from_outside(
            probe, [t for _, t in run.targets], settings.timeouts.probe, outside_client
        ),
    )


@when("every probe pod on a shared cluster tries the API server and every node's kubelet", target_fixture="probe_run")
def probe_control_plane(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    cluster = tenancy.clusters[[c.handle.name for c in tenancy.clusters].index(pods[0].cluster)]
    api = tenancy.admin_client(cluster)
    try:
        kubernetes = kube.call(api, "CoreV1Api", "read_namespaced_service", "kubernetes", "default")
        endpoint = kube.call(api, "CoreV1Api", "read_namespaced_endpoints", "kubernetes", "default").subsets[0]
    finally:
        api.close()
    server = ProbePod("", cluster.handle.name, "default", "kubernetes", "api-server", kubernetes.spec.cluster_ip)
    targets = [
        (server, Target(f"kubernetes:{443}/tcp", kubernetes.spec.cluster_ip, 443, "tcp")),
        (
            server,
            Target(
                f"{endpoint.addresses[0].ip}:{endpoint.ports[0].port}/tcp",
                endpoint.addresses[0].ip,
                endpoint.ports[0].port,
                "tcp",
            ),
        ),
    ]
    for name, address in _node_addresses(tenancy, cluster):
        kubelet = ProbePod("", cluster.handle.name, "", name, "kubelet", address)
        targets.append((kubelet, Target(f"{name}:10250/tcp", address, 10250, "tcp")))
    return ProbeRun(prober, tuple(pods), tuple(targets), kind_of_target, keep=lambda _s, _o: True)


def _node_addresses(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster) -> list[tuple[str, str]]:
    api = tenancy.admin_client(cluster)
    try:
        nodes = kube.call(api, "CoreV1Api", "list_node").items
    finally:
        api.close()
    return [
        (node.metadata.name, next(a.address for a in node.status.addresses if a.type == "InternalIP")) for node in nodes
    ]
