"""Steps of the network isolation checks: probe with real traffic, compare with the requirement."""

from __future__ import annotations

import functools
from collections.abc import Callable

import allure
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from checks.evidence import record_figure
from checks.matrix import Matrix
from checks.network.changes import ChangeVerdict, enforcement_figure
from checks.network.claimed import Claim, claimed_targets, judge_answers, make_claim
from checks.network.dns import name_targets, observe_names
from checks.network.expectations import kind_of_target, other_cluster, same_tenant
from checks.network.judging import (
    as_plan_says,
    attach_time_to_enforce,
    expected_disclosure,
    expected_in_force,
    judge_partner_changes,
    judge_table,
    require_only_flow,
)
from checks.network.onboarding_ports import Ports
from checks.network.outside import probe_binary
from checks.network.probe import ProbePod, Prober, port_targets
from checks.network.reachability import attach, observe_until_converged, require
from checks.network.runs import (
    Observe,
    ProbeRun,
    cluster_named,
    every_pair,
    from_outside,
    own_tenant_only,
    partner_pods,
    pods_on,
    shared_cluster,
    shared_pods,
    targets_of,
)
from checks.network.service_types import allowed_service_types, observe_service_types
from checks.network.services import TenantService
from checks.network.targets import (
    OUTSIDE_CLIENT,
    control_plane_targets,
    kubelets_of_every_cluster,
    node_addresses,
    outside_targets,
)
from checks.network.tenant_objects import OpenedFlow, admit_anyone_on_egress_ports, open_flow
from harness.settings import Settings
from provisioning.model.needs import applicable
from provisioning.model.tenancy import SERVICE_TYPES
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

scenarios("network")

REPROBE_ATTEMPTS = 5
BASELINE_SECONDS = 20.0  # as every other matrix: the tenancy as onboarded converges within this


def _shared_pods(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod]) -> list[ProbePod]:
    return applicable(shared_pods(tenancy, probe_pods), "needs_two_tenants_on_a_cluster")


def _shared_cluster(tenancy: ProvisionedTenancy) -> ProvisionedCluster:
    return applicable(shared_cluster(tenancy), "needs_two_tenants_on_a_cluster")


@given("probe pods in every tenant")
def probe_pods_in_every_tenant(probe_pods: list[ProbePod]) -> list[ProbePod]:
    return probe_pods


@when(
    "every probe pod on a shared cluster tries every probe port of every pod on that cluster",
    target_fixture="probe_run",
)
def probe_shared(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    return ProbeRun(prober, tuple(pods), targets_of(pods), same_tenant)


@when("every probe pod tries the pods and the node addresses of every other cluster", target_fixture="probe_run")
def probe_other_clusters(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    targets = (*targets_of(probe_pods), *kubelets_of_every_cluster(tenancy))
    return ProbeRun(prober, tuple(probe_pods), targets, other_cluster)


@then("the observed reachability is exactly:")
def reachability_is_exactly(probe_run: ProbeRun, datatable: list[list[str]], tenancy: ProvisionedTenancy) -> None:
    verdict = judge_table(probe_run, datatable, as_plan_says(tenancy), REPROBE_ATTEMPTS)
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
    return open_flow(tenancy, _shared_cluster(tenancy), (source_app, target_app), port, request.addfinalizer)


@then("the observed reachability is exactly what the policies in force allow")
def reachability_is_what_policies_allow(
    probe_run: ProbeRun, tenancy: ProvisionedTenancy, opened: OpenedFlow, settings: Settings
) -> None:
    cluster = tenancy.cluster_of(probe_run.sources[0].tenant)
    dataplane = settings.targets.product_spec(tenancy.product.name).dataplane
    expected = expected_in_force(tenancy, cluster, probe_run, dataplane.ip_block_matches_pods)
    require_only_flow(probe_run.pairs, expected, opened)
    observe, recheck = probe_run.observe, probe_run.recheck
    verdict = observe_until_converged(expected, observe, REPROBE_ATTEMPTS, started=opened.started, recheck=recheck)
    attach(verdict, "reachability under the tenants' policies")
    attach_time_to_enforce(verdict)
    require(verdict)


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
    services = [s for s in tenant_services if s.cluster == pods[0].cluster and s.node_port is None]
    targets = tuple((s.owner, t) for s in services for t in s.address_targets())
    return ProbeRun(prober, tuple(pods), targets, same_tenant, keep=every_pair)


@when("every probe pod connects to its own tenant's service by name", target_fixture="probe_run")
def probe_own_service_by_name(
    probe_pods: list[ProbePod], tenant_services: list[TenantService], prober: Prober
) -> ProbeRun:
    targets = tuple((s.owner, t) for s in tenant_services if s.node_port is None for t in s.name_targets())
    return ProbeRun(prober, tuple(probe_pods), targets, same_tenant, keep=own_tenant_only)


@when(
    "a client outside the cluster tries every node's exposed port, every pod and every service address",
    target_fixture="probe_run",
)
def probe_from_outside(
    tenancy: ProvisionedTenancy,
    probe_pods: list[ProbePod],
    tenant_services: list[TenantService],
    prober: Prober,
    outside_observer: Observe,
) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    cluster = cluster_named(tenancy, pods[0].cluster)  # @needs_node_port_allowed: its first tenant may expose one
    services = [s for s in tenant_services if s.cluster == cluster.handle.name]
    targets = outside_targets(node_addresses(tenancy, cluster), services, pods)
    return ProbeRun(prober, (OUTSIDE_CLIENT,), tuple(targets), kind_of_target, every_pair, outside_observer)


@pytest.fixture
def outside_observer(settings: Settings, outside_client: list[str]) -> Observe:
    """Observes a run from the client outside the clusters, with the probe the lab build compiled."""
    return from_outside(probe_binary(settings.lab_home), settings.timeouts.probe, outside_client)


@when("every probe pod on a shared cluster tries the API server and every node's kubelet", target_fixture="probe_run")
def probe_control_plane(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober) -> ProbeRun:
    pods = _shared_pods(tenancy, probe_pods)
    targets = control_plane_targets(tenancy, cluster_named(tenancy, pods[0].cluster))
    return ProbeRun(prober, tuple(pods), tuple(targets), kind_of_target, keep=every_pair)


@given(
    "every tenant admits anyone to its pods on the ports its onboarding opens for egress",
    target_fixture="onboarding_ports",
)
def admit_anyone_on_onboarding_ports(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> Ports:
    return admit_anyone_on_egress_ports(tenancy, _shared_cluster(tenancy), request.addfinalizer)


@when(
    "every probe pod on a shared cluster tries those ports on every pod on that cluster",
    target_fixture="probe_run",
)
def probe_onboarding_ports(
    tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], prober: Prober, onboarding_ports: Ports
) -> ProbeRun:
    pods = pods_on(probe_pods, _shared_cluster(tenancy))
    targets = tuple((pod, t) for pod in pods for t in port_targets([pod], sorted(onboarding_ports)))
    return ProbeRun(prober, tuple(pods), targets, same_tenant)


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
    pod = next(p for p in probe_pods if p.tenant == cluster.tenants[0].name and p.app == app)
    return make_claim(tenancy, cluster, pod, request.addfinalizer)


@then("the API server creates the first tenant's Service and refuses it every address it does not own")
def addresses_refused(claim: Claim) -> None:
    verdict = judge_answers(claim)
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
    claimed = claimed_targets(claim, cluster.handle.name)
    pods = pods_on(probe_pods, cluster)
    return ProbeRun(prober, tuple(pods), claimed.targets, same_tenant, keep=claimed.keep)


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
    pods = partner_pods(probe_pods, cluster)
    run = ProbeRun(prober, tuple(pods), targets_of(pods), same_tenant)
    dataplane = settings.targets.product_spec(tenancy.product.name).dataplane
    return judge_partner_changes(tenancy, cluster, run, dataplane, request.addfinalizer, BASELINE_SECONDS)


@then("after each change the observed reachability is what the policies in force allow within the product's deadline")
def enforced_after_each_change(changes: list[ChangeVerdict]) -> None:
    report = "\n".join(c.line() for c in changes)
    allure.attach(report, name="time to enforce", attachment_type=allure.attachment_type.TEXT)
    record_figure(enforcement_figure(changes))
    for change in changes:  # late (a mismatch after the deadline) fails, an unobserved cell is ERROR
        require(change.verdict, f"{change.line()}\n{change.verdict.report()}")


@when("every tenant's admin asks for a Service of every type in its namespace", target_fixture="service_types")
def ask_every_service_type(tenancy: ProvisionedTenancy) -> Callable[[], Matrix]:
    tenants = [t for c in tenancy.clusters for t in c.tenants]
    return functools.partial(observe_service_types, tenancy, tenants)


@then("the API server creates exactly the Service types each tenant's plan allows")
def exactly_the_plans_service_types(service_types: Callable[[], Matrix], tenancy: ProvisionedTenancy) -> None:
    tenants = [t for c in tenancy.clusters for t in c.tenants]
    expected = allowed_service_types([(t.name, tenancy.product.plan(t.plan).service_types) for t in tenants])
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
    pods = pods_on(probe_pods, cluster)
    services = [s for s in tenant_services if s.cluster == cluster.handle.name]
    targets = tuple(name_targets(pods, services))
    return ProbeRun(prober, tuple(pods), targets, same_tenant, observer=observe_names)


@then("every tenant resolves its own names, and other tenants' names as its plan says")
def names_as_the_plan_says(probe_run: ProbeRun, tenancy: ProvisionedTenancy, settings: Settings) -> None:
    plans = {p.name: p for p in settings.targets.product_spec(tenancy.product.name).plans}

    def discloses(tenant: str) -> bool:
        return plans[tenancy.tenant(tenant).plan].other_tenants_in_dns

    expected = expected_disclosure(probe_run.sources, probe_run.columns, probe_run.pairs, discloses)
    verdict = observe_until_converged(expected, probe_run.observe, REPROBE_ATTEMPTS, recheck=probe_run.recheck)
    attach(verdict, "names resolved (allowed: the name resolves)")
    require(verdict)
