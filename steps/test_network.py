"""Steps of the network isolation checks: probe with real traffic, compare with the requirement."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import allure
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from fixtures import verdicts
from fixtures.network.changes import Change, ChangeVerdict, PartnerChanges, enforce
from fixtures.network.claims import (
    ADMIT_ANYONE,
    CLAIM,
    CLAIM_IN_RANGE,
    CLAIM_PORTS,
    CLAIMED_LOAD_BALANCER_IP,
    REQUESTS,
    admit_anyone_policy,
    claim_addresses,
    expected_answers,
    inside_address,
    outside_address,
)
from fixtures.network.dns import ABSENT, as_resolution, name_targets
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
from fixtures.network.onboarding_ports import Ports, onboarding_egress_ports
from fixtures.network.outside import OUTSIDE, observe_from_outside, probe_binary
from fixtures.network.policies_in_force import expected_by_policies, partner_policy, read_endpoints, read_policies
from fixtures.network.probe import (
    ONBOARDING_TCP_PORTS,
    ONBOARDING_UDP_PORTS,
    ProbePod,
    Prober,
    Target,
    pod_targets,
    port_targets,
)
from fixtures.network.reachability import Verdict, attach, observe_until_converged, require
from fixtures.network.service_types import try_service_types
from fixtures.network.services import TenantService
from provisioning.kube import client as kube
from provisioning.model.onboarding import Manifest, collection_path
from provisioning.model.tenancy import SERVICE_TYPES, Placement
from provisioning.settings import Settings
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from reports.matrix import Cell, Matrix, apply_positive_control, compare

scenarios("network")

REPROBE_ATTEMPTS = 5
BASELINE_SECONDS = 20.0  # as every other matrix: the tenancy as onboarded converges within this


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
def reachability_is_what_policies_allow(
    probe_run: ProbeRun, tenancy: ProvisionedTenancy, opened: OpenedFlow, settings: Settings
) -> None:
    cluster = tenancy.cluster_of(probe_run.sources[0].tenant)
    policies, namespace_labels = read_policies(tenancy, cluster)
    expected = expected_by_policies(
        probe_run.sources,
        probe_run.columns,
        probe_run.pairs,
        policies,
        namespace_labels,
        read_endpoints(tenancy, cluster),
        settings.targets.product_spec(tenancy.product.name).dataplane.ip_block_matches_pods,
    )
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
    if "NodePort" not in tenancy.product.plan(cluster.tenants[0].plan).service_types:
        pytest.skip(
            f"not applicable: the plan of {cluster.tenants[0].name}, which would expose a node port, allows none"
        )
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


def _shared_cluster(tenancy: ProvisionedTenancy) -> ProvisionedCluster:
    shared = [c for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED and len(c.tenants) >= 2]
    if not shared:
        pytest.skip("not applicable: fewer than two tenants share a cluster")
    return shared[0]


def _as_tenant_admin(
    tenancy: ProvisionedTenancy, request: pytest.FixtureRequest, tenant: str, namespace: str, manifest: Manifest
) -> None:
    """Create `manifest` with the tenant admin's credentials; delete it (as the admin) at the end of the test."""
    path = collection_path({**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}})
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.request(api, "POST", path, body=manifest)
    finally:
        api.close()
    request.addfinalizer(lambda: _delete_as_tenant_admin(tenancy, tenant, f"{path}/{manifest['metadata']['name']}"))


def _delete_as_tenant_admin(tenancy: ProvisionedTenancy, tenant: str, path: str) -> None:
    api = tenancy.client_for(f"{tenant}-admin")
    try:
        kube.delete_if_present(api, path)
    finally:
        api.close()


@given(
    "every tenant admits anyone to its pods on the ports its onboarding opens for egress",
    target_fixture="onboarding_ports",
)
def admit_anyone_on_onboarding_ports(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> Ports:
    cluster = _shared_cluster(tenancy)
    policies, _ = read_policies(tenancy, cluster)
    ports = onboarding_egress_ports(policies, [t.namespace for t in cluster.tenants])
    served = {("TCP", p) for p in ONBOARDING_TCP_PORTS} | {("UDP", p) for p in ONBOARDING_UDP_PORTS}
    if not ports <= served:
        raise verdicts.Inconclusive(
            f"onboarding opens egress on {sorted(ports - served)}, which the probe pods do not serve "
            f"(fixtures/network/probe.py ONBOARDING_*_PORTS)"
        )
    for tenant in cluster.tenants:
        policy = admit_anyone_policy(tenancy.run_id, tenant.name, ADMIT_ANYONE, {"probe": "caas"}, sorted(ports))
        _as_tenant_admin(tenancy, request, tenant.name, tenant.namespace, policy)
    return ports


@when(
    "every probe pod on a shared cluster tries those ports on every pod on that cluster",
    target_fixture="probe_run",
)
def probe_onboarding_ports(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober, onboarding_ports: Ports
) -> ProbeRun:
    cluster = _shared_cluster(tenancy)
    pods = [p for p in probe_pods if p.cluster == cluster.handle.name]
    targets = tuple((pod, t) for pod in pods for t in port_targets([pod], sorted(onboarding_ports)))
    return ProbeRun(prober, tuple(pods), targets, same_tenant)


@dataclass(frozen=True)
class Claim:
    """What the first tenant of a shared cluster asked for, and the API server's answers."""

    tenant: str
    pod: ProbePod  # the pod the claimed addresses lead to
    answers: dict[str, tuple[Cell, str]]
    external_ip: str  # the address outside the plan's range it claimed
    ranges: tuple[str, ...]  # the plan's external_ips


@when(
    parsers.parse(
        'the first tenant admits anyone to its pods "{app}" on port 53 '
        "and claims an external address and a load-balancer status for them"
    ),
    target_fixture="claim",
)
def claim_foreign_addresses(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], app: str, request: pytest.FixtureRequest
) -> Claim:
    cluster = _shared_cluster(tenancy)
    tenant = cluster.tenants[0]
    pod = next(p for p in probe_pods if p.tenant == tenant.name and p.app == app)
    selected = {"app": app, "probe": "caas"}
    policy = admit_anyone_policy(tenancy.run_id, tenant.name, f"{ADMIT_ANYONE}-{app}", selected, CLAIM_PORTS)
    _as_tenant_admin(tenancy, request, tenant.name, tenant.namespace, policy)
    api = tenancy.client_for(f"{tenant.name}-admin")
    plan = tenancy.product.plan(tenant.plan)
    for name in (CLAIM, CLAIM_IN_RANGE):
        request.addfinalizer(
            lambda n=name: _delete_as_tenant_admin(
                tenancy, tenant.name, f"/api/v1/namespaces/{tenant.namespace}/services/{n}"
            )
        )
    external_ip = outside_address(plan.external_ips)
    try:
        answers = claim_addresses(
            api,
            tenant.namespace,
            tenancy.run_id,
            tenant.name,
            selected,
            load_balancer="LoadBalancer" in plan.service_types,
            external_ip=external_ip,
            in_range=inside_address(plan.external_ips),
        )
    finally:
        api.close()
    allure.attach(
        "\n".join(f"{asked}: {cell.value} ({detail})" for asked, (cell, detail) in answers.items()),
        name="the API server's answers to the claim",
        attachment_type=allure.attachment_type.TEXT,
    )
    return Claim(tenant.name, pod, answers, external_ip, plan.external_ips)


@then("the API server creates the first tenant's Service and refuses it every address it does not own")
def addresses_refused(claim: Claim) -> None:
    expected = Matrix.build(
        [claim.tenant],
        list(REQUESTS),
        {(claim.tenant, asked): cell for asked, cell in expected_answers(claim.ranges).items()},
    )
    observed = Matrix.build(
        [claim.tenant],
        list(REQUESTS),
        {(claim.tenant, r): cell for r, (cell, _) in claim.answers.items()},
        {(claim.tenant, r): detail for r, (_, detail) in claim.answers.items()},
    )
    verdict = Verdict(compare(expected, apply_positive_control(expected, observed)), 1, 0.0, len(REQUESTS))
    attach(verdict, "addresses the tenant asked for")
    require(verdict)


@when(
    "every probe pod on a shared cluster tries the claimed addresses and the claiming pods on port 53",
    target_fixture="probe_run",
)
def probe_claimed_addresses(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober, claim: Claim
) -> ProbeRun:
    cluster = _shared_cluster(tenancy)
    pods = [p for p in probe_pods if p.cluster == cluster.handle.name]
    claimed = ProbePod(claim.tenant, cluster.handle.name, claim.pod.namespace, CLAIM, "claimed", "")
    targets = [(claim.pod, t) for t in port_targets([claim.pod], CLAIM_PORTS)]
    targets += [
        (claimed, Target(f"{address}:{port}/{protocol.lower()}", address, port, protocol.lower()))
        for address in (claim.external_ip, CLAIMED_LOAD_BALANCER_IP)
        for protocol, port in CLAIM_PORTS
    ]

    def keep(source: ProbePod, owner: ProbePod) -> bool:
        # the claiming tenant's own pods reach its pods (the positive control); what its claimed
        # addresses do for its own traffic is its business
        return source != claim.pod and not (owner is claimed and source.tenant == claim.tenant)

    return ProbeRun(prober, tuple(pods), tuple(targets), same_tenant, keep=keep)


@when(
    "the tenants change their pods, labels and policies one at a time, with every probe pod on a shared "
    "cluster trying every probe port of every pod on that cluster after each change",
    target_fixture="changes",
)
def change_one_at_a_time(
    tenancy: ProvisionedTenancy,
    probe_pods: list[ProbePod],
    prober: Prober,
    settings: Settings,
    request: pytest.FixtureRequest,
) -> list[ChangeVerdict]:
    cluster = _shared_cluster(tenancy)
    first, second = cluster.tenants[:2]
    pods = [p for p in probe_pods if p.cluster == cluster.handle.name and p.tenant in (first.name, second.name)]
    run = ProbeRun(prober, tuple(pods), _targets_of(pods), same_tenant)
    dataplane = settings.targets.product_spec(tenancy.product.name).dataplane
    partners = PartnerChanges(tenancy, cluster, first, second)
    request.addfinalizer(partners.restore)

    def expect() -> Matrix:
        in_force, namespace_labels = read_policies(tenancy, cluster)
        endpoints = read_endpoints(tenancy, cluster)
        return expected_by_policies(
            run.sources,
            run.columns,
            run.pairs,
            in_force,
            namespace_labels,
            endpoints,
            dataplane.ip_block_matches_pods,
        )

    baseline = enforce(Change("nothing changed yet", lambda: None), expect, run.observe, BASELINE_SECONDS)
    attach(baseline.verdict, "before any change")
    if not baseline.verdict.comparison.passed:
        return [baseline]  # the policies are not in force to begin with: no change can be judged
    verdicts_of_changes = [baseline]
    for change in partners.changes():
        outcome = enforce(change, expect, run.observe, dataplane.enforce_within_seconds)
        attach(outcome.verdict, f"after: {change.kind}")
        verdicts_of_changes.append(outcome)
        if not outcome.verdict.comparison.passed:
            break  # the next change would start from a state the dataplane has not reached
    return verdicts_of_changes


@then("after each change the observed reachability is what the policies in force allow within the product's deadline")
def enforced_after_each_change(changes: list[ChangeVerdict]) -> None:
    report = "\n".join(c.line() for c in changes)
    allure.attach(report, name="time to enforce", attachment_type=allure.attachment_type.TEXT)
    for change in changes:
        if change.late:
            raise AssertionError(f"{change.line()}\n{change.verdict.report()}")
        require(change.verdict)


@when("every tenant's admin asks for a Service of every type in its namespace", target_fixture="service_types")
def ask_every_service_type(tenancy: ProvisionedTenancy) -> Callable[[], Matrix]:
    tenants = [t for c in tenancy.clusters for t in c.tenants]

    def observe() -> Matrix:
        cells, evidence = {}, {}
        for tenant in tenants:
            api = tenancy.client_for(f"{tenant.name}-admin")
            try:
                answers = try_service_types(api, tenant.namespace, tenancy.run_id, tenant.name)
            finally:
                api.close()
            for service_type, (cell, detail) in answers.items():
                cells[(tenant.name, service_type)] = cell
                evidence[(tenant.name, service_type)] = detail
        return Matrix.build([t.name for t in tenants], list(SERVICE_TYPES), cells, evidence)

    return observe


@then("the API server creates exactly the Service types each tenant's plan allows")
def exactly_the_plans_service_types(service_types: Callable[[], Matrix], tenancy: ProvisionedTenancy) -> None:
    tenants = [t for c in tenancy.clusters for t in c.tenants]
    expected = Matrix.build(
        [t.name for t in tenants],
        list(SERVICE_TYPES),
        {
            (t.name, kind): Cell.ALLOWED if kind in tenancy.product.plan(t.plan).service_types else Cell.DENIED
            for t in tenants
            for kind in SERVICE_TYPES
        },
    )
    # an admission policy is in force a moment after onboarding created it: observe until it matches
    verdict = observe_until_converged(expected, lambda: (service_types(), len(expected.rows) * len(SERVICE_TYPES)), 5)
    attach(verdict, "Service types per tenant")
    require(verdict)


@when(
    "every probe pod on a shared cluster looks up the names of every tenant's services and pods",
    target_fixture="probe_run",
)
def look_up_every_name(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], tenant_services: list[TenantService], prober: Prober
) -> ProbeRun:
    cluster = _shared_cluster(tenancy)
    pods = [p for p in probe_pods if p.cluster == cluster.handle.name]
    services = [s for s in tenant_services if s.cluster == cluster.handle.name]

    def observe(run: ProbeRun) -> tuple[Matrix, int]:
        matrix, probes = _from_pods(run)
        return as_resolution(matrix), probes

    return ProbeRun(prober, tuple(pods), tuple(name_targets(pods, services)), same_tenant, observer=observe)


@then("every tenant resolves its own names, and other tenants' names as its plan says")
def names_as_the_plan_says(probe_run: ProbeRun, tenancy: ProvisionedTenancy, settings: Settings) -> None:
    plans = {p.name: p for p in settings.targets.product_spec(tenancy.product.name).plans}

    def disclosed(source: ProbePod, owner: ProbePod) -> Cell:
        if owner.app == ABSENT:
            return Cell.DENIED
        if source.tenant == owner.tenant:
            return Cell.ALLOWED
        return Cell.ALLOWED if plans[tenancy.tenant(source.tenant).plan].other_tenants_in_dns else Cell.DENIED

    expected = Matrix.build(
        [s.label for s in probe_run.sources],
        probe_run.columns,
        {(s.label, t.column): disclosed(s, o) for s, o, t in probe_run.pairs},
    )
    verdict = observe_until_converged(expected, probe_run.observe, REPROBE_ATTEMPTS)
    attach(verdict, "names resolved (allowed: the name resolves)")
    require(verdict)
