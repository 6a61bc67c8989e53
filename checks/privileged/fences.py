"""One tenant observed per plan and cluster; the others' namespaces read back and probed once (pure).

The Pod Security case matrix (checks/privileged/cases.py) creates about 50 pods per observed tenant. Its
verdict depends on the tenant's plan and on what enforces it on the tenant's cluster: the namespace's Pod
Security Admission labels (set by onboarding from the plan: provisioning/model/onboarding.py), cluster-wide
settings shared by every tenant of the cluster (the API server's `--allow-privileged`, its admission
configuration, the nodes), and admission policies or webhooks, which select namespaces by their labels
(a refusal by one counts as the plan's: provisioning/model/privileges.py `refusal_layer`) or, as Pod
Security's exemptions do, by name. So the matrix is asked once per (plan, cluster), of a `representative`
(the first tenant of the group by name), and every other tenant of the group is covered by its verdict
only where both hold:

- its namespace's whole label set reads back as the representative's, but for the labels that name the
  namespace or the tenant (`IGNORED_LABELS`): `fence_differences` names each label that differs;
- a server-side dry-run create of one pod its plan forbids at admission (`probe_case`; none forbidden:
  the compliant pod), as its own admin, gets the answer the representative's cell for that case got, from the same
  layer (`admission_difference`): this is what reaches a policy that names namespaces one by one.

Either differing is a FAIL (that tenant is not covered); a read or dry run that errors, or a representative's
cell that was not observed, is ERROR.

The same shape serves the checks that observe one tenant's namespace at a time (003 workload controllers,
005 plan limits, 007 object counts, 008 system priorities): `observe_once_per_plan` observes each group's
representative, reads back the covered tenants (what is read is each check's: `quota_fence` of their
ResourceQuotas and LimitRanges, their labels, one `DryRun`; checks/privileged/read_back.py), compares them
(`compare`) and observes in full every covered tenant whose read-back differs or errs, so that its own
observation, not its representative's, decides its rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from provisioning.model import answers
from provisioning.model.onboarding import NAMESPACE_NAME, RUN_ID, TENANT
from provisioning.model.privileges import (
    ADMISSION_LAYERS,
    INVALID_EVERYWHERE,
    Case,
    Layer,
    Outcome,
    PlanVerdicts,
    expected_outcome,
    refusal_layer,
)
from provisioning.model.tenancy import Plan, Tenant

# the labels that differ between two tenants' namespaces by construction: the name the API server sets on
# every namespace, and the suite's per-tenant labels (provisioning/model/onboarding.py `labels`)
IGNORED_LABELS = (NAMESPACE_NAME, TENANT, RUN_ID)
ABSENT = "(absent)"
COMPLIANT = "compliant pod"  # what a covered tenant's dry run creates when its plan forbids no case


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


def fence(labels: Mapping[str, str] | None) -> dict[str, str]:
    """A namespace's `labels` (None: a namespace without labels) but `IGNORED_LABELS`: what an admission
    policy's namespace selector or Pod Security Admission can tell two tenants' namespaces apart by."""
    return {key: value for key, value in (labels or {}).items() if key not in IGNORED_LABELS}


def fence_differences(representative: Mapping[str, str], tenant: Mapping[str, str]) -> list[str]:
    """One line per label where a tenant's fence differs from its representative's, e.g.
    `pod-security.kubernetes.io/enforce: representative restricted, tenant (absent)`; empty when the same."""
    return [
        f"{key}: representative {representative.get(key, ABSENT)}, tenant {tenant.get(key, ABSENT)}"
        for key in sorted(set(representative) | set(tenant))
        if representative.get(key, ABSENT) != tenant.get(key, ABSENT)
    ]


def probe_case(plan: Plan) -> Case | None:
    """The case a covered tenant's dry run asks for: the first (in `Case` order) that `plan` forbids at
    admission (`expected_outcome` REJECTED, not by API validation, which refuses it on every plan), the
    privileged case last (an API server without `--allow-privileged` refuses it in validation, before any
    admission plugin sees the namespace: cluster-wide); None when the plan forbids none (then the compliant
    pod is created, and must be admitted)."""
    forbidden = [c for c in Case if c not in INVALID_EVERYWHERE and expected_outcome(plan, c) is Outcome.REJECTED]
    return min(forbidden, key=lambda c: c is Case.PRIVILEGED, default=None)


@dataclass(frozen=True)
class Admission:
    """What admission did with a pod: `outcome` ADMITTED (layer NONE), REJECTED (by an admission `layer`)
    or ERROR (nothing decided: no verdict), with the API's words."""

    outcome: Outcome
    layer: Layer | None
    message: str = ""

    def describe(self) -> str:
        return f"{self.outcome.value} ({self.layer or '?'})"


def admission(answer: answers.Answer | None, message: str = "") -> Admission:
    """A dry-run create's `answer` (classified by `provisioning.model.answers.classify`; None: it
    succeeded) as an admission outcome, read as observe_plan reads a create (`refusal_layer`)."""
    if answer is None:
        return Admission(Outcome.ADMITTED, Layer.NONE, message or "admitted (dry run)")
    layer = refusal_layer(answer)
    return Admission(Outcome.REJECTED if layer in ADMISSION_LAYERS else Outcome.ERROR, layer, message)


def representatives_admission(verdict: PlanVerdicts, case: Case | None) -> Admission:
    """What admission did with the representative's pod for `case` (None: its compliant pod), from its
    observed cell: any outcome past admission (runs, node refused, ...) is ADMITTED; an unobserved cell,
    or a compliant pod that did not run, is ERROR."""
    if case is None:
        if verdict.control_ran:
            return Admission(Outcome.ADMITTED, Layer.NONE, f"compliant pod {verdict.control}")
        return Admission(Outcome.ERROR, None, f"compliant pod {verdict.control}")
    result = next((r for r in verdict.results if r.case is case), None)
    if result is None or result.observed in (Outcome.ERROR, Outcome.UNOBSERVED):
        return Admission(Outcome.ERROR, None, result.message if result else "not observed")
    if result.observed is Outcome.REJECTED:
        return Admission(Outcome.REJECTED, result.layer, result.message)
    return Admission(Outcome.ADMITTED, Layer.NONE, result.message)


def admission_difference(what: str, representative: Admission, tenant: Admission) -> str:
    """The line naming the dry run `what`, both outcomes and both layers when the tenant's differs from its
    representative's, e.g. `dry-run host network: representative rejected (PodSecurity admission), tenant
    admitted (-)`; empty when the same outcome from the same layer."""
    if (representative.outcome, representative.layer) == (tenant.outcome, tenant.layer):
        return ""
    return f"dry-run {what}: representative {representative.describe()}, tenant {tenant.describe()}"


@dataclass(frozen=True)
class Probe:
    """A covered tenant's dry run: the `case` it asked for (None: the compliant pod) and its `answer`."""

    case: Case | None
    answer: Admission

    @property
    def what(self) -> str:
        return self.case.value if self.case else COMPLIANT


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


def read_back(group: Group, tenant: Tenant, fences: Fences, probe: Probe | str, verdict: PlanVerdicts) -> ReadBack:
    """`tenant`'s read-back from `fences`, its dry run `probe` (or the error text of its request) and its
    representative's `verdict`; an error on either side is the read-back's error."""
    mine, theirs = fences[tenant.name], fences[group.representative.name]
    where = (tenant.name, group.plan, group.cluster, group.representative.name)
    if isinstance(theirs, str):
        return ReadBack(*where, error=f"representative's namespace not read: {theirs}")
    if isinstance(mine, str):
        return ReadBack(*where, error=mine)
    if isinstance(probe, str):
        return ReadBack(*where, error=f"dry run: {probe}")
    rep = representatives_admission(verdict, probe.case)
    probed = f"dry-run {probe.what}: {probe.answer.describe()}, as the representative's"
    if rep.outcome is Outcome.ERROR:
        return ReadBack(*where, error=f"representative's {probe.what} not observed: {rep.message}")
    if probe.answer.outcome is Outcome.ERROR:
        return ReadBack(*where, error=f"dry-run {probe.what}: {probe.answer.message}")
    differs = admission_difference(probe.what, rep, probe.answer)
    return ReadBack(*where, (*fence_differences(theirs, mine), *([differs] if differs else [])), probed=probed)


def read_backs(
    found: Sequence[Group], fences: Fences, probes: Mapping[str, Probe | str], verdicts: Sequence[PlanVerdicts]
) -> list[ReadBack]:
    """Every covered tenant's read-back, group by group (`verdicts`: the representatives', by tenant)."""
    by_tenant = {v.tenant: v for v in verdicts}
    return [
        read_back(group, tenant, fences, probes[tenant.name], by_tenant[group.representative.name])
        for group in found
        for tenant in group.covered
    ]


# --- the same shape for the checks that observe one tenant's namespace at a time (003, 005, 007, 008) ---


def quota_fence(quotas: Sequence[Mapping[str, Any]], limit_ranges: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A namespace's ResourceQuotas and LimitRanges (as the API returns them: dicts) flattened to one entry
    per thing quota and limit admission decide by: `ResourceQuota <name> hard <resource>` -> quantity,
    `ResourceQuota <name> scopes` and `... scopeSelector` (what a PriorityClass limit is written in), and
    `LimitRange <name> limits[<i>]` -> that item as canonical JSON. Compared by `fence_differences`;
    objects are matched by name (onboarding names them the same in every tenant's namespace: a provider
    naming them per tenant makes every tenant differ, hence observed in full: slower, never wrong)."""
    flat: dict[str, str] = {}
    for quota in quotas:
        name, spec = quota["metadata"]["name"], quota.get("spec") or {}
        flat |= {f"ResourceQuota {name} hard {key}": str(value) for key, value in (spec.get("hard") or {}).items()}
        if spec.get("scopes"):
            flat[f"ResourceQuota {name} scopes"] = ",".join(sorted(spec["scopes"]))
        if spec.get("scopeSelector"):
            flat[f"ResourceQuota {name} scopeSelector"] = json.dumps(spec["scopeSelector"], sort_keys=True)
    for limit_range in limit_ranges:
        name = limit_range["metadata"]["name"]
        for index, limit in enumerate((limit_range.get("spec") or {}).get("limits") or []):
            flat[f"LimitRange {name} limits[{index}]"] = json.dumps(limit, sort_keys=True)
    return flat


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
