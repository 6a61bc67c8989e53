"""The network checks' engines the steps call (issue 18): which pods and targets a run probes, and the
expected matrices built from plans, answers and the policies in force, without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from checks.matrix import Cell, Matrix
from checks.network.claimed import Claim, claimed_targets, judge_answers
from checks.network.claims import CLAIMED_LOAD_BALANCER_IP, EXTERNAL_ADDRESS, IN_RANGE, LOAD_BALANCER_STATUS, SERVICE
from checks.network.dns import ABSENT
from checks.network.expectations import AS_PLAN_SAYS, same_tenant
from checks.network.judging import (
    as_plan_says,
    expected_disclosure,
    judge_table,
    opened_between_tenants,
    require_only_flow,
)
from checks.network.probe import ProbePod, Prober, Target
from checks.network.runs import (
    Cells,
    ProbeRun,
    every_pair,
    own_tenant_only,
    partner_pods,
    pods_on,
    shared_cluster,
    shared_pods,
    targets_of,
)
from checks.network.service_types import allowed_service_types
from checks.network.services import TenantService
from checks.network.targets import outside_targets
from checks.network.tenant_objects import OpenedFlow
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.tenancy import SERVICE_TYPES, AuthorizationMode, Placement, Plan, Product, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

BLUE, GREEN, RED = Tenant("blue", "small"), Tenant("green", "medium"), Tenant("red", "large", Placement.DEDICATED)
PRODUCT = Product(
    "pks",
    "lab",
    (Plan("small"), Plan("medium", control_plane_egress=True, service_types=("ClusterIP",)), Plan("large")),
)


def _cluster(name: str, *tenants: Tenant) -> ProvisionedCluster:
    handle = ClusterHandle(name, "pks", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "lab")
    return ProvisionedCluster(handle, tenants)


SHARED, DEDICATED = _cluster("pks-shared", BLUE, GREEN), _cluster("pks-red", RED)
TENANCY = ProvisionedTenancy(PRODUCT, "run", [DEDICATED, SHARED])


def _pod(tenant: str, app: str, ip: str, cluster: str = "pks-shared") -> ProbePod:
    return ProbePod(tenant, cluster, f"tenant-{tenant}", f"probe-{app}", app, ip)


BA, BB, GA = _pod("blue", "a", "10.1.0.1"), _pod("blue", "b", "10.1.0.2"), _pod("green", "a", "10.1.0.3")
RA = _pod("red", "a", "10.2.0.1", "pks-red")
PODS = [BA, BB, GA, RA]
NO_PROBER = cast(Prober, None)


def test_shared_pods_are_those_of_shared_clusters_with_two_tenants_or_none() -> None:
    assert shared_pods(TENANCY, PODS) == [BA, BB, GA]
    assert shared_pods(TENANCY, [BA, BB, RA]) == []  # one tenant's pods: nothing to isolate from


def test_shared_cluster_is_the_first_with_two_shared_tenants() -> None:
    assert shared_cluster(TENANCY) is SHARED
    assert shared_cluster(ProvisionedTenancy(PRODUCT, "run", [DEDICATED, _cluster("one", BLUE)])) is None


def test_pods_on_a_cluster_and_the_partners_among_them() -> None:
    assert pods_on(PODS, DEDICATED) == [RA]
    three = _cluster("pks-shared", BLUE, GREEN, Tenant("white", "small"))
    assert partner_pods([*PODS, _pod("white", "a", "10.1.0.9")], three) == [BA, BB, GA]


def test_a_run_pairs_each_source_with_the_targets_it_keeps() -> None:
    run = ProbeRun(NO_PROBER, (BA, GA), targets_of([BA, GA]), same_tenant)
    pod_columns = ["a:8080/tcp", "a:8081/tcp", "a:8082/udp"]
    assert run.columns == [f"{tenant}/{c}" for tenant in ("blue", "green") for c in pod_columns]
    assert {(s.label, o.label) for s, o, _ in run.pairs} == {("blue/a", "green/a"), ("green/a", "blue/a")}
    assert len(ProbeRun(NO_PROBER, (BA, GA), run.targets, same_tenant, keep=every_pair).pairs) == 12
    own = ProbeRun(NO_PROBER, (BA, GA), run.targets, same_tenant, keep=own_tenant_only)
    assert {(s.label, o.label) for s, o, _ in own.pairs} == {("blue/a", "blue/a"), ("green/a", "green/a")}


def test_outside_targets_are_node_ports_on_every_node_then_services_and_pods_on_tcp() -> None:
    exposed = TenantService("blue", "pks-shared", "tenant-blue", "caas-exposed", "10.3.0.2", 30080)
    plain = TenantService("green", "pks-shared", "tenant-green", "caas-probe", "10.3.0.3")
    targets = outside_targets([("w1", "10.0.0.11"), ("w2", "10.0.0.12")], [exposed, plain], [GA])
    columns = [t.column for _, t in targets]
    assert columns[:2] == ["w1:30080/tcp", "w2:30080/tcp"]
    assert all(o.app == "node-port" and o.tenant == "blue" for o, _ in targets[:2])
    assert columns[2:] == [
        "blue/caas-exposed:8080/tcp",
        "green/caas-probe:8080/tcp",
        "green/a:8080/tcp",
        "green/a:8081/tcp",
    ]


CLAIM = Claim(
    "blue",
    BA,
    {
        SERVICE: (Cell.ALLOWED, "created"),
        EXTERNAL_ADDRESS: (Cell.DENIED, "403: forbidden"),
        LOAD_BALANCER_STATUS: (Cell.DENIED, "403: forbidden"),
    },
    "203.0.113.53",
    (),
)


def test_claimed_addresses_are_probed_by_other_tenants_and_the_claiming_pod_by_its_own() -> None:
    claimed = claimed_targets(CLAIM, "pks-shared")
    columns = [t.column for _, t in claimed.targets]
    assert columns == [
        "blue/a:53/udp",
        "blue/a:53/tcp",
        "203.0.113.53:53/udp",
        "203.0.113.53:53/tcp",
        f"{CLAIMED_LOAD_BALANCER_IP}:53/udp",
        f"{CLAIMED_LOAD_BALANCER_IP}:53/tcp",
    ]
    run = ProbeRun(NO_PROBER, (BA, BB, GA), claimed.targets, same_tenant, keep=claimed.keep)
    by_source: dict[str, set[str]] = {s.label: set() for s in run.sources}
    for source, _, target in run.pairs:
        by_source[source.label].add(target.column)
    assert by_source["blue/a"] == set()  # the claiming pod itself
    assert by_source["blue/b"] == {"blue/a:53/udp", "blue/a:53/tcp"}  # its own tenant: the positive control
    assert by_source["green/a"] == set(columns)


def test_answers_refusing_every_foreign_address_pass_and_an_accepted_one_fails() -> None:
    assert judge_answers(CLAIM).comparison.passed
    accepted = {**CLAIM.answers, EXTERNAL_ADDRESS: (Cell.ALLOWED, "created with externalIPs 203.0.113.53")}
    verdict = judge_answers(Claim("blue", BA, accepted, "203.0.113.53", ()))
    assert [(m.row, m.column) for m in verdict.comparison.mismatches] == [("blue", EXTERNAL_ADDRESS)]
    in_range = Claim(
        "blue", BA, {**CLAIM.answers, IN_RANGE: (Cell.ALLOWED, "ok")}, "198.51.100.53", ("203.0.113.0/24",)
    )
    assert judge_answers(in_range).comparison.passed


def test_only_the_named_flow_may_be_open_between_tenants() -> None:
    run = ProbeRun(NO_PROBER, (BA, GA), targets_of([BA, GA]), same_tenant)
    cells = {(s.label, t.column): Cell.DENIED for s, _, t in run.pairs}
    opened = OpenedFlow(0.0, "green/a", "blue/a:8080/tcp")
    cells[("green/a", "blue/a:8080/tcp")] = Cell.ALLOWED
    expected = Matrix.build(["blue/a", "green/a"], run.columns, cells)
    assert opened_between_tenants(run.pairs, expected) == {("green/a", "blue/a:8080/tcp")}
    require_only_flow(run.pairs, expected, opened)
    cells[("blue/a", "green/a:8081/tcp")] = Cell.ALLOWED
    with pytest.raises(AssertionError, match=r"blue/a', 'green/a:8081/tcp"):
        require_only_flow(run.pairs, Matrix.build(["blue/a", "green/a"], run.columns, cells), opened)


def test_names_resolve_for_the_own_tenant_and_for_others_as_the_plan_says() -> None:
    nobody = ProbePod("blue", "pks-shared", "tenant-blue", ABSENT, ABSENT, "")
    targets = [
        (BA, Target("blue/a pod (name)", "x", 8080, "tcp")),
        (GA, Target("green/a pod (name)", "y", 8080, "tcp")),
    ]
    targets.append((nobody, Target("absent (name)", "z", 8080, "tcp")))
    pairs = [(s, o, t) for s in (BA, GA) for o, t in targets]
    columns = [t.column for _, t in targets]
    matrix = expected_disclosure((BA, GA), columns, pairs, lambda tenant: tenant == "green")
    assert [matrix["blue/a", c] for c in columns] == [Cell.ALLOWED, Cell.DENIED, Cell.DENIED]
    assert [matrix["green/a", c] for c in columns] == [Cell.ALLOWED, Cell.ALLOWED, Cell.DENIED]


def test_the_plans_service_types_are_allowed_and_no_other() -> None:
    matrix = allowed_service_types([("blue", SERVICE_TYPES), ("green", ("ClusterIP",))])
    assert list(matrix.rows) == ["blue", "green"]
    assert all(matrix["blue", t] is Cell.ALLOWED for t in SERVICE_TYPES)
    assert [t for t in SERVICE_TYPES if matrix["green", t] is Cell.ALLOWED] == ["ClusterIP"]


def test_as_its_plan_says_resolves_by_the_source_tenants_control_plane_egress() -> None:
    resolve = as_plan_says(TENANCY)
    assert resolve(BA, AS_PLAN_SAYS) is Cell.DENIED  # small: no control-plane egress
    assert resolve(GA, AS_PLAN_SAYS) is Cell.ALLOWED  # medium: control_plane_egress
    assert resolve(BA, "allowed") is Cell.ALLOWED


def test_a_requirement_table_is_judged_on_the_observed_matrix() -> None:
    table = [["from", "to", "tcp", "udp"], ["a pod", "its own tenant", "allowed", "allowed"]]
    table.append(["a pod", "another tenant", "denied", "denied"])

    def observed(run: ProbeRun, _cells: Cells | None) -> tuple[Matrix, int]:
        cells = {(s.label, t.column): Cell.ALLOWED if s.tenant == o.tenant else Cell.DENIED for s, o, t in run.pairs}
        return Matrix.build([s.label for s in run.sources], run.columns, cells), len(cells)

    run = ProbeRun(NO_PROBER, (BA, BB, GA), targets_of([BA, BB, GA]), same_tenant, observer=observed)
    verdict = judge_table(run, table, as_plan_says(TENANCY), attempts=1)
    assert verdict.comparison.passed, verdict.report()
    assert verdict.probes == len(run.pairs)
