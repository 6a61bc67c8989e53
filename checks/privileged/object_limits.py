"""A tenant's object counts filled to one past its plan's limit, and its pods at the system-critical
priorities (observation only; the rules are provisioning/model/object_limits.py's).

Each observation is a requirement table's row per (tenant, quota key) or (tenant, priority class): an
`Answered` cell (`checks.answered`) whose layer is who decided it; the verdict is the one rule
(`checks.verdicts.requirement_comparison`, the positive-control rows its named controls)."""

from __future__ import annotations

import secrets
from typing import Any

from checks.answered import EVIDENCE_MAX, Answered, classified, dry_run, failed
from checks.matrix import REQUIREMENT_TERMS, Cell, term
from checks.representatives import ReadBack
from checks.verdicts import Observed, require, requirement_comparison, requirement_table
from harness.wait import wait_until
from provisioning.images.refs import PROBE_IMAGE
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.object_limits import (
    SYSTEM_PRIORITY_CLASSES,
    CountProbe,
    count_probes,
    priority_pod,
    refused_for,
    to_create,
)
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import compliant_pod
from provisioning.model.quantity import parse_quantity
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedTenancy

CHECK_LABEL = "caas-conformance.io/check"
COUNTS = "object-counts"
NOWHERE = {"caas-conformance.io/nowhere": "true"}  # pods that never schedule

Rows = dict[str, Answered]


def _error(evidence: str) -> Answered:
    return Answered(Cell.ERROR, evidence[:300], answers.Layer.NONE.value)


def observe_object_counts(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str, timeout: float) -> Rows:
    """One row per counted quota key of the tenant's plan (`provisioning.model.object_limits.count_probes`;
    none: the plan promises no count, n/a): ALLOWED when the (n+1)-th object got the ResourceQuota
    refusal naming the key after the n-th was admitted, DENIED when it was admitted, ERROR otherwise.
    Every object created is removed (by the run's labels) and awaited gone before it returns (`timeout`
    seconds for the quota's status and for the removal)."""
    probes = count_probes(tenancy.product.plan(tenant.plan))
    if not probes:
        return {}
    api = tenancy.client_for(f"{tenant.name}-admin")
    labels = {**run_labels(run_id, tenant.name), CHECK_LABEL: COUNTS}
    rows: Rows = {}
    try:
        for probe in probes:
            rows[f"{tenant.name}: {probe.key}"] = _fill(api, tenant.namespace, probe, labels, timeout)
    finally:
        removed = _remove(api, tenant.namespace, {p.resource for p in probes}, timeout)
        api.close()
    if removed:
        rows[f"{tenant.name}: probe objects removed"] = _error(removed)
    return rows


def _used(api: Any, namespace: str, key: str, timeout: float) -> int | None:
    """What the namespace's quotas naming `key` count of it (the most), once their status is computed;
    None when no quota names the key (nothing limits it)."""

    def naming() -> list[Any]:
        quotas = kube.call(api, "CoreV1Api", "list_namespaced_resource_quota", namespace).items
        return [q for q in quotas if key in (q.spec.hard or {})]

    quotas = naming()
    if not quotas:
        return None
    quotas = wait_until(
        naming,
        lambda qs: all(key in ((q.status and q.status.used) or {}) for q in qs),
        timeout=timeout,
        what=f"the quota controller to count {key} in {namespace}",
        retry_on=(kube.ApiFailure,),
    )
    return max(int(parse_quantity(q.status.used[key])) for q in quotas)


def _create(api: Any, namespace: str, probe: CountProbe, labels: dict[str, str], tag: str) -> None:
    name = f"count-{tag}-{secrets.token_hex(3)}"
    kube.request(api, "POST", probe.path(namespace), body=probe.manifest(name, labels))


def _fill(api: Any, namespace: str, probe: CountProbe, labels: dict[str, str], timeout: float) -> Answered:
    try:
        used = _used(api, namespace, probe.key, timeout)
    except Exception as exc:  # an unanswered list or a quota status never computed: nothing observed
        return _error(f"the quota's count of {probe.key} was not read: {exc}")
    counted = used or 0
    fill = to_create(probe.hard, counted)
    if fill == 0:
        return _error(f"{probe.key}: the quota already counts {counted} of {probe.hard}; the n-th create was not seen")
    for index in range(fill):
        try:
            _create(api, namespace, probe, labels, str(index))
        except kube.ApiFailure as exc:
            why = failed(exc).evidence
            return _error(
                f"positive control failed: {probe.kind} {counted + index + 1} of {probe.hard} refused ({why})"
            )
    filled = f"{fill} {probe.kind}s admitted up to {probe.key}={probe.hard} ({counted} already counted)"
    try:
        _create(api, namespace, probe, labels, "over")
    except kube.ApiFailure as exc:
        answer = classified(exc)
        evidence = f"{filled}; {probe.kind} {probe.hard + 1} refused: {exc.status}: {answer.message}"[:300]
        if refused_for(answer, probe.key):
            return Answered(Cell.ALLOWED, evidence, answer.layer.value)
        return _error(f"{evidence} (not the quota's refusal of {probe.key})")
    limited = "no quota names it" if used is None else f"the quota names {probe.key}"
    return Answered(Cell.DENIED, f"{filled}; {probe.kind} {probe.hard + 1} was admitted ({limited})", "-")


def _remove(api: Any, namespace: str, resources: set[str], timeout: float) -> str:
    """Delete this check's objects of `resources` in `namespace` and wait until none is listed; the
    error as text ("" when all are gone)."""
    selector = {"labelSelector": f"{CHECK_LABEL}={COUNTS}"}
    try:
        for resource in sorted(resources):
            path = f"/api/v1/namespaces/{namespace}/{resource}"

            def listed(path: str = path) -> list[Any]:
                items: list[Any] = kube.request(api, "GET", path, query=selector)["items"]
                return items

            for item in listed():
                kube.delete_if_present(api, f"{path}/{item['metadata']['name']}")
            wait_until(
                listed,
                lambda items: not items,
                timeout=timeout,
                what=f"the object-count probes ({resource}) of {namespace} to be gone",
                retry_on=(kube.ApiFailure,),
            )
    except Exception as exc:
        return f"cleanup: {exc}"
    return ""


def covered_rows(representative: Rows, read: ReadBack) -> Rows:
    """A covered tenant's rows: its representative's (`read.representative`), renamed to the tenant, each
    one's evidence saying whose it is and what the tenant's read-back found (its layer kept)."""
    head = f"{read.representative}: "
    return {
        f"{read.tenant}: {row[len(head) :]}": Answered(
            a.cell,
            f"as {read.representative} (its {read.read} read back the same): {a.evidence}"[:EVIDENCE_MAX],
            a.layer,
        )
        for row, a in representative.items()
        if row.startswith(head)
    }


def control_row(tenant: Tenant) -> str:
    """The row of a tenant's positive control in the system priorities' table."""
    return f"{tenant.name}: {CONTROL}"


CONTROL = "no priority class (the positive control: admitted)"


def observe_system_priorities(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str) -> Rows:
    """One row per system-critical priority class: a dry-run create of the tenant's plan-compliant pod
    asking for it. ALLOWED when some layer refused it (the layer recorded), DENIED when it was admitted,
    ERROR when the answer decided nothing; and the row of the positive control (`control_row`): the same
    pod without a class, ALLOWED when admitted, observed as any other row (`require_held` judges it, by
    the one rule). Observes only. Dry runs: nothing is left to remove."""
    api = tenancy.client_for(f"{tenant.name}-admin")
    labels = {**run_labels(run_id, tenant.name), CHECK_LABEL: "system-priorities"}
    pod = compliant_pod(f"priority-{secrets.token_hex(3)}", labels, PROBE_IMAGE)
    pod["spec"]["nodeSelector"] = NOWHERE
    path = f"/api/v1/namespaces/{tenant.namespace}/pods"
    try:
        rows: Rows = {control_row(tenant): dry_run(api, path, pod)[0]}
        for priority_class in SYSTEM_PRIORITY_CLASSES:
            seen, _ = dry_run(api, path, priority_pod(pod, priority_class))
            rows[f"{tenant.name}: {priority_class}"] = _refusal_holds(seen, priority_class, tenant.namespace)
        return rows
    finally:
        api.close()


def _refusal_holds(seen: Answered, priority_class: str, namespace: str) -> Answered:
    """The requirement "refused": a refusal holds it, an admission contradicts it, anything else is ERROR."""
    if seen.cell is Cell.DENIED:
        return Answered(Cell.ALLOWED, f"refused: {seen.evidence}", seen.layer)
    if seen.cell is Cell.ALLOWED:
        # every admission layer let it through: admission decided the contradiction
        admitted = f"a pod of {priority_class} was admitted in {namespace} (dry run)"
        return Answered(Cell.DENIED, admitted, answers.Layer.ADMISSION.value)
    return seen


def require_held(rows: Rows, requirement: str) -> None:
    """Fail when a row's requirement was contradicted; else ERROR when one was not observed; else pass:
    the one rule (`checks.verdicts.requirement_comparison` and `require`, the deciding layers recorded),
    the positive-control rows (`control_row`) the table's named controls: when one is not ALLOWED, no
    DENIED row is evidence (ERROR)."""
    observed: dict[str, Observed] = {row: a.observed for row, a in rows.items()}
    table = requirement_table(requirement, observed, {row: a.layer for row, a in rows.items()})
    controls = [(row, requirement) for row in rows if row.endswith(f": {CONTROL}")]
    judged = requirement_comparison(table, controls)
    seen = judged.observed
    cells = {
        r: Answered(
            seen[r, requirement], seen.evidence.get((r, requirement), ""), seen.layers.get((r, requirement), "-")
        )
        for r in rows
    }
    # the contradicted rows first, then those not observed: a report's reason is the message's first line
    # (reports.findings.observed_reason), which was the positive control's "holds" for a failing table
    order = {Cell.DENIED: 0, Cell.ERROR: 1, Cell.UNOBSERVED: 1, Cell.ALLOWED: 2}
    require(judged, describe_rows(dict(sorted(cells.items(), key=lambda row: order[row[1].cell]))))


def describe_rows(rows: Rows) -> str:
    """The rows as text, one a line (the scenario's attachment)."""
    return "\n".join(f"{row}: {term(a.cell, REQUIREMENT_TERMS)}{_layer(a)} {a.evidence}" for row, a in rows.items())


def _layer(answered: Answered) -> str:
    return f" [{answered.layer}]" if answered.layer not in ("", answers.Layer.NONE.value) else ""
