"""What a network check probes: its source pods, the targets each may try (with their owners, whose
relation to the source picks the requirement), and how the matrix is observed. Observation only."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from checks.matrix import Matrix
from checks.network.expectations import Pair, Relation
from checks.network.outside import observe_from_outside
from checks.network.probe import ProbePod, Prober, Target, pod_targets
from provisioning.model.tenancy import Placement
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

Cells = Set[tuple[str, str]]  # (source label, column) cells of a run's matrix
# An observer: (the run, the cells to observe (None: every cell of the run)) -> (matrix, number of probes).
# The matrix has the run's rows and columns; a cell it did not observe is UNOBSERVED.
Observe = Callable[["ProbeRun", Cells | None], tuple[Matrix, int]]
Owned = tuple[ProbePod, Target]  # a target and its owner (a pod, service, node or the control plane)


def from_pods(run: ProbeRun, cells: Cells | None = None) -> tuple[Matrix, int]:
    """Probe the kept (source, target) pairs of `run` from inside the source pods, only `cells` (cells of
    the run, as `ProbeRun.recheck` gives them; None: every kept pair) -> (matrix, number of probes); the
    other cells stay UNOBSERVED."""
    wanted = run.cells if cells is None else cells
    observation = run.prober.observe(
        run.sources, [t for _, t in run.targets], skip=lambda s, t: (s.label, t.column) not in wanted
    )
    return observation.matrix, observation.probes


def other_than_source(source: ProbePod, owner: ProbePod) -> bool:
    """The default of `ProbeRun.keep`: a pod does not probe itself."""
    return source != owner


def every_pair(_source: ProbePod, _owner: ProbePod) -> bool:
    """`ProbeRun.keep` for targets no source owns (service addresses, nodes, the control plane)."""
    return True


def own_tenant_only(source: ProbePod, owner: ProbePod) -> bool:
    """`ProbeRun.keep` for a tenant's own names: each source tries only its own tenant's targets."""
    return source.tenant == owner.tenant


@dataclass(frozen=True)
class ProbeRun:
    """What is probed: each source against each target it `keeps`; `observe()` probes it (again),
    `recheck(cells)` only those cells, both through its `observer`."""

    prober: Prober
    sources: tuple[ProbePod, ...]
    targets: tuple[Owned, ...]
    relation: Relation
    keep: Callable[[ProbePod, ProbePod], bool] = other_than_source
    observer: Observe = from_pods

    @property
    def columns(self) -> list[str]:
        """The matrix columns, one a target column, in the targets' order without repeats."""
        return list(dict.fromkeys(t.column for _, t in self.targets))

    @functools.cached_property
    def pairs(self) -> tuple[Pair, ...]:
        """(source, owner, target) for every source and every target it keeps (computed once: 119,400
        pairs at 100 tenants, asked for by every expectation, round and recheck)."""
        return tuple((s, o, t) for s in self.sources for o, t in self.targets if self.keep(s, o))

    @functools.cached_property
    def cells(self) -> frozenset[tuple[str, str]]:
        """The (source label, column) cells of its pairs: what one whole observation asks."""
        return frozenset((s.label, t.column) for s, _, t in self.pairs)

    def observe(self) -> tuple[Matrix, int]:
        """One observation of the whole run: (matrix, number of probes)."""
        return self.observer(self, None)

    def recheck(self, cells: Cells) -> tuple[Matrix, int]:
        """Observe again only those of `cells` that are cells of the run (`observer(run, cells)`); the
        observer leaves the rest UNOBSERVED (from outside, which cannot choose cells, observes its targets
        whole). -> (matrix, number of probes)."""
        return self.observer(self, self.cells & set(cells))


def targets_of(pods: Sequence[ProbePod]) -> tuple[Owned, ...]:
    """Every probe port (TCP and UDP) of every pod, each owned by its pod."""
    return tuple((pod, target) for pod in pods for target in pod_targets([pod]))


def shared_pods(tenancy: ProvisionedTenancy, probe_pods: Sequence[ProbePod]) -> list[ProbePod]:
    """The probe pods on clusters of shared tenants; [] when they belong to fewer than two tenants."""
    shared = {c.handle.name for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED}
    pods = [p for p in probe_pods if p.cluster in shared]
    return pods if len({p.tenant for p in pods}) >= 2 else []


def shared_cluster(tenancy: ProvisionedTenancy) -> ProvisionedCluster | None:
    """The first cluster two or more shared tenants share (None: there is none)."""
    shared = [c for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED and len(c.tenants) >= 2]
    return shared[0] if shared else None


def cluster_named(tenancy: ProvisionedTenancy, name: str) -> ProvisionedCluster:
    """The provisioned cluster of that handle name (raises ValueError if the tenancy has none)."""
    return tenancy.clusters[[c.handle.name for c in tenancy.clusters].index(name)]


def pods_on(probe_pods: Sequence[ProbePod], cluster: ProvisionedCluster) -> list[ProbePod]:
    """The probe pods running on `cluster`, in their order."""
    return [p for p in probe_pods if p.cluster == cluster.handle.name]


def partner_pods(probe_pods: Sequence[ProbePod], cluster: ProvisionedCluster) -> list[ProbePod]:
    """The probe pods of the cluster's first two tenants (the partners of changes.PartnerChanges)."""
    partners = {t.name for t in cluster.tenants[:2]}
    return [p for p in pods_on(probe_pods, cluster) if p.tenant in partners]


def from_outside(binary: Path, probe_timeout: float, inside: Sequence[str]) -> Observe:
    """An observer that probes a run's targets once from the client outside the clusters
    (outside.observe_from_outside: `binary` the caas-probe, `probe_timeout` seconds a probe, `inside`
    the command entering the client's network namespace). It cannot choose cells: one `caas-probe
    connect` tries every target together with the NOWHERE control, so a recheck observes the targets whole
    too (observe_until_converged's `merged` takes only the cells it asked)."""

    def observe(run: ProbeRun, _cells: Cells | None) -> tuple[Matrix, int]:
        return observe_from_outside(binary, [t for _, t in run.targets], probe_timeout, inside)

    return observe
