"""Pure parts of the network engine that no other unit test names (issue 18): which pairs a run probes by
default, what `from_pods` asks the prober, a cluster found by its handle name, and where the outside
client's `caas-probe` is (checks/network/runs.py, checks/network/outside.py).

Left to the lab tests because they read the cluster: judging.judge_partner_changes (PartnerChanges opens
the tenants' API clients and every change writes through them) and targets.kubelets_of_every_cluster
(node_addresses lists the nodes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from checks.matrix import Cell, Matrix
from checks.network.expectations import same_tenant
from checks.network.outside import probe_binary
from checks.network.probe import Observation, ProbePod, Prober, Target, pod_targets
from checks.network.runs import ProbeRun, cluster_named, from_pods, other_than_source, targets_of
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.tenancy import AuthorizationMode, Placement, Plan, Product, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

BLUE, GREEN, RED = Tenant("blue", "small"), Tenant("green", "small"), Tenant("red", "small", Placement.DEDICATED)
PRODUCT = Product("pks", "lab", (Plan("small"),))

BLUE_A = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
BLUE_B = ProbePod("blue", "pks-shared", "tenant-blue", "probe-b", "b", "10.244.1.8")
GREEN_A = ProbePod("green", "pks-shared", "tenant-green", "probe-a", "a", "10.244.2.9")


def _cluster(name: str, *tenants: Tenant) -> ProvisionedCluster:
    handle = ClusterHandle(name, "pks", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "lab")
    return ProvisionedCluster(handle, tenants)


SHARED, DEDICATED = _cluster("pks-shared", BLUE, GREEN), _cluster("pks-red", RED)


# --- the default `keep`: a pod does not probe itself ----------------------------------------------------


def test_a_pod_is_not_its_own_target_but_its_tenants_other_pod_is() -> None:
    assert other_than_source(BLUE_A, BLUE_A) is False
    assert other_than_source(BLUE_A, BLUE_B) is True, "same tenant, another pod"
    assert other_than_source(BLUE_A, GREEN_A) is True
    twin = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
    assert other_than_source(BLUE_A, twin) is False, "pods are compared by value, not identity"


def test_a_run_by_default_pairs_every_source_with_every_target_but_its_own() -> None:
    run = ProbeRun(cast(Prober, None), (BLUE_A, BLUE_B, GREEN_A), targets_of([BLUE_A, BLUE_B, GREEN_A]), same_tenant)
    owners = {(s.label, o.label) for s, o, _ in run.pairs}
    assert owners == {
        ("blue/a", "blue/b"),
        ("blue/a", "green/a"),
        ("blue/b", "blue/a"),
        ("blue/b", "green/a"),
        ("green/a", "blue/a"),
        ("green/a", "blue/b"),
    }
    assert len(run.pairs) == 6 * 3, "each kept owner with its three probe ports"


# --- from_pods: what the prober is asked -----------------------------------------------------------------


@dataclass
class RecordingProber:
    """What from_pods uses of a Prober: `observe(sources, targets, skip)`; it records the (source, column)
    pairs not skipped and answers each DENIED."""

    asked: list[tuple[str, str]] = field(default_factory=list)

    def observe(
        self, sources: Sequence[ProbePod], targets: Sequence[Target], skip: Callable[[ProbePod, Target], bool]
    ) -> Observation:
        self.asked = [(s.label, t.column) for s in sources for t in targets if not skip(s, t)]
        cells = dict.fromkeys(self.asked, Cell.DENIED)
        matrix = Matrix.build([s.label for s in sources], [t.column for t in targets], cells)
        return Observation(matrix, 0.25, len(self.asked))


def test_from_pods_probes_exactly_the_kept_pairs_and_returns_the_matrix_and_the_probe_count() -> None:
    prober = RecordingProber()
    run = ProbeRun(cast(Prober, prober), (BLUE_A, GREEN_A), targets_of([BLUE_A, GREEN_A]), same_tenant)
    matrix, probes = from_pods(run)
    expected = sorted((s.label, t.column) for s, _, t in run.pairs)
    assert sorted(prober.asked) == expected
    assert ("blue/a", "blue/a:8080/tcp") not in prober.asked, "a pod never probes itself"
    assert probes == 6
    assert matrix.rows == ("blue/a", "green/a")
    assert matrix["blue/a", "green/a:8082/udp"] is Cell.DENIED
    assert matrix["blue/a", "blue/a:8080/tcp"] is Cell.UNOBSERVED, "a pair not kept is not required either"


def test_from_pods_of_a_run_without_pairs_asks_nothing() -> None:
    prober = RecordingProber()
    run = ProbeRun(cast(Prober, prober), (BLUE_A,), targets_of([BLUE_A]), same_tenant)
    matrix, probes = from_pods(run)
    assert (prober.asked, probes) == ([], 0)
    assert matrix.cells == {}


def test_a_column_two_owners_share_is_probed_only_for_the_pairs_kept() -> None:
    """The wanted set is by (row, column): a column shared by the source's own pod and another's is asked
    because the other owner keeps it (from_pods hands the prober the target once per owner, so the set of
    pairs is what is asserted, not how often each is asked)."""
    shared = Target("svc:8080/tcp", "10.96.0.15", 8080, "tcp")
    prober = RecordingProber()
    run = ProbeRun(cast(Prober, prober), (BLUE_A,), ((BLUE_A, shared), (GREEN_A, shared)), same_tenant)
    from_pods(run)
    assert set(prober.asked) == {("blue/a", "svc:8080/tcp")}


# --- cluster_named ---------------------------------------------------------------------------------------


def test_a_cluster_is_found_by_its_handle_name() -> None:
    tenancy = ProvisionedTenancy(PRODUCT, "run-1", [DEDICATED, SHARED])
    assert cluster_named(tenancy, "pks-shared") is SHARED
    assert cluster_named(tenancy, "pks-red") is DEDICATED


def test_a_cluster_name_the_tenancy_does_not_hold_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="pks-gone"):
        cluster_named(ProvisionedTenancy(PRODUCT, "run-1", [SHARED]), "pks-gone")
    with pytest.raises(ValueError, match="pks-shared"):
        cluster_named(ProvisionedTenancy(PRODUCT, "run-1", []), "pks-shared")


# --- the outside client's probe --------------------------------------------------------------------------


def test_the_outside_probe_is_the_lab_builds_caas_probe_under_the_lab_home() -> None:
    assert probe_binary(Path("/var/lib/caas-lab")) == Path("/var/lib/caas-lab/bin/caas-probe")
    assert probe_binary(Path("relative/home")) == Path("relative/home/bin/caas-probe")


def test_targets_of_pods_are_their_probe_ports_each_owned_by_its_pod() -> None:
    owned = targets_of([BLUE_A, GREEN_A])
    assert [t for _, t in owned] == pod_targets([BLUE_A, GREEN_A])
    assert [o.label for o, _ in owned] == ["blue/a"] * 3 + ["green/a"] * 3
    assert targets_of([]) == ()
