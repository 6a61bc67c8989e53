"""What a covered tenant of the privileged checks is compared by with its representative (pure).

The privileged checks are observed once per (plan, cluster) (checks/representatives.py
`observe_once_per_plan`). The Pod Security case matrix (checks/privileged/cases.py) creates about 50 pods per
observed tenant. Its verdict depends on the tenant's plan and on what enforces it on the tenant's cluster:
the namespace's Pod Security Admission labels (set by onboarding from the plan:
provisioning/model/onboarding.py), cluster-wide settings shared by every tenant of the cluster (the API
server's `--allow-privileged`, its admission configuration, the nodes), and admission policies or webhooks,
which select namespaces by their labels (a refusal by one counts as the plan's:
provisioning/model/privileges.py `refusal_layer`) or, as Pod Security's exemptions do, by name. So the
matrix is asked once per (plan, cluster), of a `representative` (the first tenant of the group by name:
`checks.representatives.groups`), and every other tenant of the group is covered by its verdict only where
both hold (`read_back`):

- its namespace's whole label set reads back as the representative's, but for the labels that name the
  namespace or the tenant (`checks.representatives.IGNORED_LABELS`): `fence`, and
  `checks.representatives.fence_differences` names each label that differs;
- a server-side dry-run create of one pod its plan forbids at admission (`probe_case`; none forbidden:
  the compliant pod), as its own admin, gets the answer the representative's cell for that case got, from the same
  layer (`admission_difference`): this is what reaches a policy that names namespaces one by one.

Either differing is a FAIL (that tenant is not covered); a read or dry run that errors, or a representative's
cell that was not observed, is ERROR.

The checks that observe one tenant's namespace at a time (003 workload controllers, 005 plan limits, 007
object counts, 008 system priorities) read back the covered tenants' `quota_fence` of their ResourceQuotas
and LimitRanges, their labels (`fence`) and one `checks.representatives.DryRun`
(checks/privileged/read_back.py), compared by `checks.representatives.compare`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.representatives import IGNORED_LABELS, Fences, Group, ReadBack, fence_differences
from provisioning.model import answers
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

COMPLIANT = "compliant pod"  # what a covered tenant's dry run creates when its plan forbids no case


def fence(labels: Mapping[str, str] | None) -> dict[str, str]:
    """A namespace's `labels` (None: a namespace without labels) but `IGNORED_LABELS`: what an admission
    policy's namespace selector or Pod Security Admission can tell two tenants' namespaces apart by."""
    return {key: value for key, value in (labels or {}).items() if key not in IGNORED_LABELS}


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


# --- the fence of the checks that observe one tenant's namespace at a time (003, 005, 007, 008) ---


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
