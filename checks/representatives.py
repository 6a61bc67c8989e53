"""One tenant observed per plan and cluster; the others read back and observed in full where they differ (pure).

Some checks create many objects per observed tenant (the Pod Security case matrix about 50 pods, the storage
checks real claims and volumes), while their verdict depends on the tenant's plan and on what enforces it on
the tenant's cluster: cluster-wide settings shared by every tenant of the cluster, and what the tenant's
namespace holds or is selected by (labels, ResourceQuotas and LimitRanges, admission policies and webhooks).
So such a check is asked once per (plan, cluster), of a `representative` (the first tenant of the group by
name: `groups`), and every other tenant of the group is covered by its verdict only where its read-back
(`ReadBack`) equals the representative's: what is read is each area's (the privileged area's labels,
quotas and dry-run pods: checks/privileged/fences.py and read_back.py; the storage area's storage quota and
dry-run claim: checks/storage/represented.py), compared entry by entry (`fence_differences`) and with one
server-side dry run asked in both namespaces (`DryRun`, `compare`). A difference is a FAIL of that
tenant's coverage, a read or dry run that errors an ERROR: either way `observe_once_per_plan` observes that
tenant in full, so that its own observation, not its representative's, decides its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from provisioning.model.onboarding import NAMESPACE_NAME, RUN_ID, TENANT
from provisioning.model.tenancy import Tenant

# the labels that differ between two tenants' namespaces by construction: the name the API server sets on
# every namespace, and the suite's per-tenant labels (provisioning/model/onboarding.py `labels`)
IGNORED_LABELS = (NAMESPACE_NAME, TENANT, RUN_ID)
ABSENT = "(absent)"


@dataclass(frozen=True)
class Group:
    """The tenants of one plan on one cluster: the `representative` observed, the `covered` read back."""

    plan: str
    cluster: str
    representative: Tenant
    covered: tuple[Tenant, ...] = ()


def groups(tenants: Iterable[Tenant], cluster_of: Callable[[Tenant], str]) -> list[Group]:
    """The tenants grouped by (plan, cluster name from `cluster_of`), in order of each group's first tenant
    by name; each group's representative is its first tenant by name (deterministic, whatever the order of
    the targets file), the others are covered, by name."""
    by_key: dict[tuple[str, str], list[Tenant]] = {}
    for tenant in sorted(tenants, key=lambda t: t.name):
        by_key.setdefault((tenant.plan, cluster_of(tenant)), []).append(tenant)
    return [Group(plan, cluster, members[0], tuple(members[1:])) for (plan, cluster), members in by_key.items()]


def fence_differences(representative: Mapping[str, str], tenant: Mapping[str, str]) -> list[str]:
    """One line per entry (a label, a quota's limit, ...) where a tenant's fence differs from its
    representative's, `ABSENT` for a missing one, e.g. `pod-security.kubernetes.io/enforce: representative
    restricted, tenant (absent)`; empty when the same."""
    return [
        f"{key}: representative {representative.get(key, ABSENT)}, tenant {tenant.get(key, ABSENT)}"
        for key in sorted(set(representative) | set(tenant))
        if representative.get(key, ABSENT) != tenant.get(key, ABSENT)
    ]


@dataclass(frozen=True)
class ReadBack:
    """A covered tenant's namespace and dry run compared with its representative's: the `differences`
    (none: covered by the representative's verdict) or the `error` that kept it from being compared (then
    it is not covered); `probed` says what the dry run asked and got."""

    tenant: str
    plan: str
    cluster: str
    representative: str
    differences: tuple[str, ...] = ()
    error: str = ""
    probed: str = ""
    read: str = ""  # what was read back (empty: the namespace's labels, the case matrix's read-back)

    @property
    def covered(self) -> bool:
        return not self.error and not self.differences

    def describe(self) -> str:
        """One line: the tenant, its representative and what the read-back and the dry run found."""
        head = f"{self.tenant} (plan {self.plan} on {self.cluster}), represented by {self.representative}"
        if self.error:
            return f"{head}: not compared ({self.error})"
        if self.differences:
            return f"{head}: differs: {'; '.join(self.differences)}"
        read = self.read or f"namespace labels (but {', '.join(IGNORED_LABELS)})"
        return f"{head}: same {read}; {self.probed}"


Fences = Mapping[str, Mapping[str, str] | str]  # tenant name -> its fence, or the error text of its read


@dataclass(frozen=True)
class DryRun:
    """One server-side dry-run request made in the representative's namespace and in a covered tenant's,
    each as its own admin: `what` it asked, each one's answer (e.g. `rejected (quota)`), or the `error`
    (no answer: transport, 5xx, ...) that keeps them from being compared."""

    what: str
    representative: str
    tenant: str
    error: str = ""


def compare(group: Group, tenant: Tenant, fences: Fences, read: str, dry_run: DryRun | None) -> ReadBack:
    """`tenant`'s read-back against its representative's: the fences in `fences` (what `read` names, e.g.
    "ResourceQuota and LimitRange specs") and the answers of `dry_run` (None: none was asked, said so);
    differences name each entry and the dry run's two answers; an error on either side is its error."""
    mine, theirs = fences[tenant.name], fences[group.representative.name]
    where = (tenant.name, group.plan, group.cluster, group.representative.name)
    if isinstance(theirs, str):
        return ReadBack(*where, error=f"representative's {read} not read: {theirs}", read=read)
    if isinstance(mine, str):
        return ReadBack(*where, error=mine, read=read)
    if dry_run is None:
        return ReadBack(*where, tuple(fence_differences(theirs, mine)), probed="no dry run asked", read=read)
    if dry_run.error:
        return ReadBack(*where, error=f"dry-run {dry_run.what}: {dry_run.error}", read=read)
    probed = f"dry-run {dry_run.what}: {dry_run.tenant}, as the representative's"
    differs = (
        [f"dry-run {dry_run.what}: representative {dry_run.representative}, tenant {dry_run.tenant}"]
        if dry_run.representative != dry_run.tenant
        else []
    )
    return ReadBack(*where, (*fence_differences(theirs, mine), *differs), probed=probed, read=read)


T = TypeVar("T")


@dataclass(frozen=True)
class Represented(Generic[T]):
    """A check observed once per (plan, cluster): `observed` tenant name -> its own observation (the
    representatives, and every covered tenant whose read-back did not cover it), `read_backs` every
    covered tenant's read-back (`covered` or not)."""

    observed: Mapping[str, T]
    read_backs: tuple[ReadBack, ...] = field(default=())

    def covering(self) -> list[ReadBack]:
        """The read-backs that cover their tenant (its representative's observation stands for it)."""
        return [r for r in self.read_backs if r.covered]

    def describe(self) -> str:
        """One line per tenant: observed itself (and why, for a covered tenant whose read-back differed),
        or covered by its representative's observation (what was read back and what the dry run got)."""
        differed = {r.tenant: r for r in self.read_backs if not r.covered}
        why = {name: f"read back: {read.describe()}" for name, read in differed.items()}
        lines = [f"{name}: observed in full ({why.get(name, 'representative')})" for name in self.observed]
        return "\n".join([*lines, *(f"{r.tenant}: covered: {r.describe()}" for r in self.covering())])

    def each(self, as_covered: Callable[[T, ReadBack], T]) -> list[T]:
        """Every tenant's observation, by tenant name: its own, or `as_covered` of its representative's
        and its read-back (the representative's observation, said to be the covered tenant's)."""
        rows = dict(self.observed)
        for read in self.covering():
            rows[read.tenant] = as_covered(self.observed[read.representative], read)
        return [rows[name] for name in sorted(rows)]


def observe_once_per_plan(
    tenants: Iterable[Tenant],
    cluster_of: Callable[[Tenant], str],
    observe: Callable[[Tenant], T],
    read_back: Callable[[Group], Sequence[ReadBack]],
) -> Represented[T]:
    """`observe` the representative of each (plan, cluster) group of `tenants` (`groups`), `read_back` each
    group that has covered tenants (one ReadBack per covered tenant), then `observe` in full every covered
    tenant whose read-back differs or errs: nothing that differs is left to its representative's verdict."""
    found = groups(tenants, cluster_of)
    by_name = {t.name: t for g in found for t in (g.representative, *g.covered)}
    observed = {g.representative.name: observe(g.representative) for g in found}
    reads = tuple(read for g in found if g.covered for read in read_back(g))
    for read in reads:
        if not read.covered:
            observed[read.tenant] = observe(by_name[read.tenant])
    return Represented(dict(sorted(observed.items())), reads)
