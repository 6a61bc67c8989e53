"""Observe, as a tenant's admin, what happens to pods that ask for each privilege (observation only).

First a compliant pod must run (the positive control; without it nothing counts), then one pod per
case is created; a refusal is read from the API's answer, an admitted pod is followed until it runs
(then its privilege is proved from inside, and the same proof must fail in the compliant pod) or
the node refuses it. Anything that is not such an answer (transport, 401, 429, 5xx, timeout) is ERROR.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks import decided
from checks.answered import classified
from checks.matrix import Cell, Comparison
from checks.privileged.fences import Probe, admission, fence, probe_case, read_backs
from checks.representatives import Fences, Group, ReadBack, groups
from checks.verdicts import require, requirement_comparison, requirement_row, stacked
from harness.wait import WaitTimeout, wait_until
from provisioning.images.products import suite_pod
from provisioning.images.refs import PROBE_IMAGE
from provisioning.kube import client as kube
from provisioning.kube.pod_start import StartWatch
from provisioning.kube.pods import (
    PodFailed,
    create_pod,
    delete_pod,
    exec_in_pod,
    pod_state,
    retry_quota_conflicts,
    start_watch,
    wait_running,
)
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import (
    ADMISSION_LAYERS,
    ADMISSION_ONLY,
    INVALID_EVERYWHERE,
    PROOF_FROM_NEIGHBOUR,
    Case,
    CaseResult,
    Layer,
    Outcome,
    PlanVerdicts,
    case_pod,
    compliant_pod,
    expected_outcome,
    node_refusal,
    proof_command,
    refusal_layer,
)
from provisioning.model.tenancy import Plan, Tenant
from provisioning.tenancy import ProvisionedTenancy

CHECK_LABEL = "caas-conformance.io/check"
# admission decides these: their effect does not show on the lab's nodes, or no node runs them
NOT_FOLLOWED = ADMISSION_ONLY | INVALID_EVERYWHERE
_ADMITTED = "admitted; not followed (what it asks for has no effect these nodes can show)"


@dataclass(frozen=True)
class Fate:
    """Where an admitted pod ended up: running, refused by a node layer, or still undecided."""

    outcome: Outcome
    layer: Layer | None
    message: str
    pod: Any = None


def _fate(api: Any, namespace: str, name: str, watch: StartWatch) -> Fate:
    """Where the pod is now; a node layer's refusal is a verdict, any other reason it cannot start
    (provisioning/kube/pod_start.py: an image it cannot pull, no node for it) is ERROR at once."""
    pod = pod_state(api, namespace, name)
    status = pod.status
    if status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
        return Fate(Outcome.RUNS, Layer.NONE, "", pod)
    if status.phase == "Failed":
        layer = node_refusal(status.reason or "")
        return Fate(Outcome.NOT_RUN if layer else Outcome.ERROR, layer, f"{status.reason}: {status.message}", pod)
    for container in status.container_statuses or []:
        waiting = container.state.waiting if container.state else None
        if waiting and node_refusal(waiting.reason or ""):
            return Fate(Outcome.NOT_RUN, node_refusal(waiting.reason), f"{waiting.reason}: {waiting.message}", pod)
    events = kube.call(
        api, "CoreV1Api", "list_namespaced_event", namespace, field_selector=f"involvedObject.name={name}"
    ).items
    for event in events:
        if event.type == "Warning" and node_refusal(event.reason or ""):
            return Fate(Outcome.NOT_RUN, node_refusal(event.reason), f"{event.reason}: {event.message}", pod)
    cannot_start = watch.failure(pod)
    if cannot_start:
        return Fate(Outcome.ERROR, None, f"cannot start: {cannot_start}", pod)
    return Fate(Outcome.UNOBSERVED, None, f"phase {status.phase}", pod)


PROOF_WITHIN = 8.0  # seconds a privilege in effect has to show (its proof retried while it fails)


@dataclass(frozen=True)
class _Scene:
    """One tenant's namespace under observation: who acts, its compliant pod and that pod's node."""

    tenancy: ProvisionedTenancy
    api: Any
    user: str
    namespace: str
    plan: Plan
    control: str
    host_ip: str
    timeout: float

    def prove(self, pod: str, case: Case, host_ip: str) -> bool:
        api = self.tenancy.client_for(self.user)  # exec swaps the client's request function: one per exec
        try:
            return exec_in_pod(api, self.namespace, pod, proof_command(case, host_ip), timeout=20).ok
        finally:
            api.close()

    def proves_within(self, pod: str, case: Case, host_ip: str) -> bool:
        """Whether the proof holds at least once within PROOF_WITHIN seconds (tried again while it fails): a
        privilege in effect may show late on a loaded node (a hostPort's connection timed out once at 100
        tenants), one not in effect never shows. Raises kube.ApiFailure when an exec itself fails."""
        try:
            return wait_until(
                lambda: self.prove(pod, case, host_ip),
                bool,
                timeout=PROOF_WITHIN,
                what=f"the proof of {case.value} in {self.namespace}/{pod} to hold",
                interval=1.0,
                retry_on=(),
            )
        except WaitTimeout:
            return False


def observe_plan(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str, pod_timeout: float) -> PlanVerdicts:
    """Every case in `tenant`'s namespace, as `<tenant>-admin` (the scenario judges the tenant's plan:
    `checks.decided.judged`); removes its pods before returning."""
    decided.judged([tenant.name])
    plan = tenancy.product.plan(tenant.plan)
    user, namespace = f"{tenant.name}-admin", tenant.namespace
    labels = {**run_labels(run_id, tenant.name), CHECK_LABEL: "privileged"}
    suffix = secrets.token_hex(3)
    control_name = f"compliant-{suffix}"
    created: list[str] = []
    api = tenancy.client_for(user)

    def verdicts(control: str, results: list[CaseResult], ran: bool = False) -> PlanVerdicts:
        return PlanVerdicts(tenancy.product.name, plan.name, tenant.name, control, tuple(results), ran)

    try:
        try:
            pod = suite_pod(tenancy.product.name, api, namespace, compliant_pod(control_name, labels, PROBE_IMAGE))
            create_pod(api, namespace, pod)
            created.append(control_name)
            control = wait_running(api, namespace, control_name, pod_timeout)
        except (kube.ApiFailure, PodFailed, WaitTimeout) as exc:
            failed = f"failed ({exc}): no verdict counts"
            return verdicts(failed, [_error(plan, c, failed) for c in Case])
        node = control.spec.node_name
        scene = _Scene(tenancy, api, user, namespace, plan, control_name, control.status.host_ip, pod_timeout)
        try:  # what the neighbour proofs see before any privileged pod exists: they must not hold yet
            held_before = {c: scene.prove(control_name, c, scene.host_ip) for c in PROOF_FROM_NEIGHBOUR}
        except kube.ApiFailure as exc:
            failed = f"ran, but exec in it failed ({exc}): no verdict counts"
            return verdicts(failed, [_error(plan, c, failed) for c in Case])
        pending: dict[Case, str] = {}
        results: dict[Case, CaseResult] = {}
        for case in Case:
            name = f"{case.slug}-{suffix}"
            try:
                pod = suite_pod(
                    tenancy.product.name, api, namespace, case_pod(case, name, labels, PROBE_IMAGE, node=node)
                )
                create_pod(api, namespace, pod)
            except kube.ApiFailure as exc:
                layer = refusal_layer(classified(exc))
                outcome = Outcome.REJECTED if layer in ADMISSION_LAYERS else Outcome.ERROR
                results[case] = CaseResult(case, expected_outcome(plan, case), outcome, layer, exc.message)
                continue
            created.append(name)
            if case in NOT_FOLLOWED:
                results[case] = CaseResult(case, expected_outcome(plan, case), Outcome.ADMITTED, Layer.NONE, _ADMITTED)
            else:
                pending[case] = name
        for case, name in pending.items():
            results[case] = _follow(scene, case, name, held_before.get(case, False))
        return verdicts(f"ran ({control_name} on {node})", [results[c] for c in Case], ran=True)
    finally:
        for name in created:
            with contextlib.suppress(kube.ApiFailure, WaitTimeout):  # else it goes with the tenant's namespace
                delete_pod(api, namespace, name, pod_timeout)
        api.close()


@dataclass(frozen=True)
class PlansObserved:
    """The case matrix of each (plan, cluster)'s representative, and every other tenant's read-back."""

    verdicts: tuple[PlanVerdicts, ...]
    covered: tuple[ReadBack, ...] = ()

    def describe(self) -> str:
        """One line per tenant, those its representative's verdict does not cover first (`NOT COVERED`):
        which tenants were observed, and what each other tenant's read-back found."""
        uncovered = [f"NOT COVERED: {r.describe()}" for r in self.covered if not r.covered]
        observed = [f"{v.tenant} (plan {v.plan}): case matrix observed" for v in self.verdicts]
        return "\n".join([*uncovered, *observed, *(r.describe() for r in self.covered if r.covered)])


def observe_plans(
    tenancy: ProvisionedTenancy, tenants: Sequence[Tenant], run_id: str, pod_timeout: float
) -> PlansObserved:
    """The case matrix (`observe_plan`) of one representative per (plan, cluster) of `tenants` (the first
    by name: checks/representatives.py), then every other tenant's namespace labels read back
    as the cluster's admin and one dry-run create as its own admin (`_probe`), each compared with its
    representative's."""
    found = groups(tenants, lambda t: tenancy.cluster_of(t.name).handle.name)
    verdicts = tuple(observe_plan(tenancy, group.representative, run_id, pod_timeout) for group in found)
    compared = [g for g in found if g.covered]
    probes = {t.name: _probe(tenancy, t, run_id) for g in compared for t in g.covered}
    return PlansObserved(verdicts, tuple(read_backs(found, _fences(tenancy, compared), probes, verdicts)))


def _fences(tenancy: ProvisionedTenancy, found: Sequence[Group]) -> Fences:
    """Tenant name -> its namespace's labels but the ignored ones (`fence`), or why they could not be read."""
    fences: dict[str, Mapping[str, str] | str] = {}
    for group in found:
        api = tenancy.admin_client(tenancy.cluster_of(group.representative.name))
        try:
            for tenant in (group.representative, *group.covered):
                try:
                    namespace = kube.call(api, "CoreV1Api", "read_namespace", tenant.namespace)
                    fences[tenant.name] = fence(namespace.metadata.labels)
                except kube.ApiFailure as exc:
                    fences[tenant.name] = f"reading namespace {tenant.namespace}: {exc}"
        finally:
            api.close()
    return fences


def _probe(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str) -> Probe | str:
    """A server-side dry-run create (nothing is stored), as `<tenant>-admin`, of the pod for its plan's
    `probe_case` (none: the compliant pod) in its namespace, and admission's answer to it (classified by
    `checks.answered.classified`); the error text when the pod could not even be prepared."""
    case = probe_case(tenancy.product.plan(tenant.plan))
    labels = {**run_labels(run_id, tenant.name), CHECK_LABEL: "privileged"}
    name = f"{case.slug if case else 'compliant'}-{secrets.token_hex(3)}"
    manifest = case_pod(case, name, labels, PROBE_IMAGE) if case else compliant_pod(name, labels, PROBE_IMAGE)
    api = tenancy.client_for(f"{tenant.name}-admin")
    path = f"/api/v1/namespaces/{tenant.namespace}/pods"
    try:
        pod = suite_pod(tenancy.product.name, api, tenant.namespace, manifest)
        retry_quota_conflicts(lambda: kube.request(api, "POST", path, body=pod, query={"dryRun": "All"}))
    except kube.ApiFailure as exc:
        return Probe(case, admission(classified(exc), f"{exc.status}: {exc.message}"[:300]))
    finally:
        api.close()
    return Probe(case, admission(None))


def _error(plan: Plan, case: Case, message: str) -> CaseResult:
    return CaseResult(case, expected_outcome(plan, case), Outcome.ERROR, None, message)


def _follow(scene: _Scene, case: Case, name: str, held_before: bool) -> CaseResult:
    """Follow an admitted pod to its fate; if it runs, prove its privilege, and that the proof fails
    without it (in the compliant pod, or for neighbour proofs before the pod existed)."""
    expected = expected_outcome(scene.plan, case)
    watch = start_watch(scene.api, scene.namespace)
    try:
        fate = wait_until(
            lambda: _fate(scene.api, scene.namespace, name, watch),
            lambda f: f.outcome is not Outcome.UNOBSERVED,
            timeout=scene.timeout,
            what=f"pod {scene.namespace}/{name} to run or be refused by its node",
            retry_on=(kube.ApiFailure,),
        )
    except WaitTimeout as exc:
        return CaseResult(case, expected, Outcome.ERROR, None, str(exc)[:300])
    if fate.outcome is not Outcome.RUNS:
        return CaseResult(case, expected, fate.outcome, fate.layer, fate.message)
    try:
        if case in PROOF_FROM_NEIGHBOUR:
            proved = scene.proves_within(scene.control, case, fate.pod.status.host_ip)
            without = held_before
        else:
            proved = scene.proves_within(name, case, fate.pod.status.host_ip)
            without = scene.prove(scene.control, case, scene.host_ip)
    except kube.ApiFailure as exc:
        return CaseResult(case, expected, Outcome.ERROR, None, f"proof could not run: {exc}")
    if proved and without:
        return CaseResult(case, expected, Outcome.ERROR, None, "the proof holds without the privilege: proves nothing")
    if not proved:
        return CaseResult(case, expected, Outcome.INEFFECTIVE, Layer.NONE, "admitted, running, privilege not in effect")
    return CaseResult(
        case, expected, Outcome.RUNS, Layer.NONE, "admitted, running, privilege in effect (not without it)"
    )


POSITIVE_CONTROL = "compliant pod runs"
FENCE = "namespace and dry run as its representative's"


def plan_comparison(plan_verdicts: Sequence[PlanVerdicts], covered: Sequence[ReadBack] = ()) -> Comparison:
    """The check's requirement table (checks/verdicts.py): a row per tenant's plan, a column per case
    (it met the verdict its plan implies, with the layer that decided it) and the positive control (the
    tenant's compliant pod ran: `PlanVerdicts.control_ran`); when the control did not run, no case of its
    row is evidence. With `covered` read-backs (checks/privileged/fences.py) a column `FENCE`
    and a row per covered tenant: its namespace labels and its dry run's answer are its
    representative's (ALLOWED) and the representative's cells are its own, or one differs (DENIED) or
    was not compared (ERROR), and its cases are not observed."""
    rows = []
    by_tenant = {verdict.tenant: verdict for verdict in plan_verdicts}
    for verdict in plan_verdicts:
        cells, layers = _cells(verdict)
        if covered:
            cells[FENCE] = (Cell.ALLOWED, "the representative of its plan on its cluster: observed itself")
        rows.append(requirement_row(verdict.row, cells, layers))
    for read in covered:
        verdict = by_tenant[read.representative]
        rows.append(requirement_row(f"{verdict.product}/{read.plan} ({read.tenant})", *_as_covered(read, verdict)))
    return requirement_comparison(stacked(rows), [(v.row, POSITIVE_CONTROL) for v in plan_verdicts])


def _cells(verdict: PlanVerdicts) -> tuple[dict[str, tuple[Cell, str]], dict[str, str]]:
    results = {r.case: r for r in verdict.results}
    control = Cell.ALLOWED if verdict.control_ran else Cell.ERROR
    cells = {POSITIVE_CONTROL: (control, f"compliant pod {verdict.control}")}
    cells.update({case.value: _requirement(results.get(case)) for case in Case})
    layers = {case.value: r.layer.value for case, r in results.items() if r.layer is not None}
    return cells, layers


def _as_covered(read: ReadBack, verdict: PlanVerdicts) -> tuple[dict[str, tuple[Cell, str]], dict[str, str]]:
    """A covered tenant's cells: its representative's (a contradiction without the representative's
    positive control is no evidence: ERROR), or none observed where the fence is not the same."""
    cells, layers = _cells(verdict)
    if not read.covered:
        why = f"not covered by {read.representative}'s verdict: {read.error or '; '.join(read.differences)}"
        observed = {column: (Cell.UNOBSERVED, why) for column in cells}
        observed[FENCE] = (Cell.ERROR if read.error else Cell.DENIED, read.describe())
        return observed, {}
    rep = read.representative
    covered = {
        column: (Cell.ERROR if cell is Cell.DENIED and not verdict.control_ran else cell, f"as {rep}: {said}")
        for column, (cell, said) in cells.items()
    }
    covered[FENCE] = (Cell.ALLOWED, read.describe())
    return covered, layers


def _requirement(result: CaseResult | None) -> tuple[Cell, str]:
    """ALLOWED: as the plan implies; DENIED: observed and contradicting it, the outcome or the layer that
    refused it (`CaseResult.wrong_layer`, naming both layers); ERROR: not observed."""
    if result is None:
        return Cell.UNOBSERVED, "not observed"
    said = f"{result.observed.value} (expected {result.expected.value}; {result.layer or '?'}): {result.message}"
    if result.matches:
        return Cell.ALLOWED, said
    if result.observed in (Outcome.ERROR, Outcome.UNOBSERVED):
        return Cell.ERROR, said
    return Cell.DENIED, f"{result.wrong_layer}: {said}" if result.wrong_layer else said


def require_plan_verdicts(plan_verdicts: Sequence[PlanVerdicts], report: str, covered: Sequence[ReadBack] = ()) -> None:
    """The one verdict rule on the plans' requirement table (`plan_comparison`, with the `covered`
    tenants' read-backs): fail (AssertionError) when an observed case contradicts its plan or a covered
    tenant's fence differs from its representative's; otherwise ERROR (Inconclusive) when a case or a
    fence was not observed, as every case is when the positive control failed; otherwise pass. `report`
    is the message."""
    require(plan_comparison(plan_verdicts, covered), report)
