"""A tenant's plan limits as the tenant meets them: its ResourceQuota and LimitRange, a request above
quota, and the pod-count quota filled to the brim (observation only)."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from checks.answered import over_quota
from checks.matrix import Cell
from checks.representatives import ReadBack
from checks.verdicts import Observed, require_rows
from provisioning.images.refs import PROBE_IMAGE
from provisioning.kube import client as kube
from provisioning.kube.pods import delete_selected
from provisioning.model import answers
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import compliant_pod
from provisioning.model.quantity import parse_quantity, same_quantity
from provisioning.model.tenancy import Plan, Tenant
from provisioning.tenancy import ProvisionedTenancy

NOWHERE = {"caas-conformance.io/nowhere": "true"}  # pods that count against quota and never schedule


@dataclass
class LimitsObservation:
    """What the tenant saw; `problems` lists every way it differs from the plan (empty: as planned)."""

    tenant: str
    plan: str
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    decided_by: str = answers.Layer.NONE.value  # the layer whose refusal was observed (the quota's)

    def describe(self) -> str:
        lines = [f"{self.tenant} on plan {self.plan}:", *(f"  ok: {f}" for f in self.facts)]
        lines += [f"  DIFFERS: {p}" for p in self.problems] + [f"  ERROR: {e}" for e in self.errors]
        return "\n".join(lines)


def _pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def observe_limits(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str, timeout: float) -> LimitsObservation:
    plan = tenancy.product.plan(tenant.plan)
    seen = LimitsObservation(tenant.name, plan.name)
    api = tenancy.client_for(f"{tenant.name}-admin")
    labels = {**run_labels(run_id, tenant.name), "caas-conformance.io/check": "plan-limits"}
    try:
        _quota_and_defaults(api, tenant, plan, labels, seen)
        if not seen.errors and "pods" in plan.quota.hard:
            _fill_pod_quota(api, tenant, plan, labels, seen, timeout)
    except kube.ApiFailure as exc:
        seen.errors.append(f"{exc.status}: {exc.message}")
    finally:
        _remove(api, tenant.namespace, labels, timeout, seen)
        api.close()
    return seen


def _quota_and_defaults(api: Any, tenant: Tenant, plan: Plan, labels: dict[str, str], seen: LimitsObservation) -> None:
    namespace = tenant.namespace
    quotas = kube.call(api, "CoreV1Api", "list_namespaced_resource_quota", namespace).items
    hard = {k: v for q in quotas for k, v in (q.spec.hard or {}).items()}
    for resource, quantity in plan.quota.hard.items():
        if resource not in hard or not same_quantity(hard[resource], quantity):
            seen.problems.append(f"quota {resource}: plan {quantity}, namespace {hard.get(resource, 'none')}")
    if hard and not seen.problems:
        seen.facts.append(f"ResourceQuota hard = plan ({', '.join(f'{k}={v}' for k, v in sorted(hard.items()))})")
    probe = compliant_pod(f"defaults-{secrets.token_hex(3)}", labels, PROBE_IMAGE)
    admitted = kube.request(api, "POST", _pods_path(namespace), body=probe, query={"dryRun": "All"})
    resources = admitted["spec"]["containers"][0].get("resources", {})
    for kind, planned in (("requests", plan.quota.default_requests), ("limits", plan.quota.default_limits)):
        got = resources.get(kind, {})
        for resource, quantity in planned.items():
            if resource not in got or not same_quantity(got[resource], quantity):
                seen.problems.append(
                    f"LimitRange default {kind}.{resource}: plan {quantity}, pod got {got.get(resource)}"
                )
    if plan.quota.default_requests or plan.quota.default_limits:
        seen.facts.append(f"a pod without resources gets the plan's defaults {resources}")
    cpu = plan.quota.hard.get("requests.cpu")
    if cpu is None:
        return
    above = str(math.floor(parse_quantity(cpu)) + 1)
    greedy = compliant_pod(f"greedy-{secrets.token_hex(3)}", labels, PROBE_IMAGE)
    greedy["spec"]["containers"][0]["resources"] = {"requests": {"cpu": above}, "limits": {"cpu": above}}
    try:
        kube.request(api, "POST", _pods_path(namespace), body=greedy, query={"dryRun": "All"})
        seen.problems.append(f"a pod requesting cpu {above} (quota {cpu}) was admitted")
    except kube.ApiFailure as exc:
        refused = over_quota(exc)
        if refused.cell is not Cell.DENIED:
            seen.errors.append(f"a pod above quota got no quota answer: {exc.status}: {exc.message}")
        else:
            seen.facts.append(f"a pod requesting cpu {above} is rejected: {exc.message}")
            seen.decided_by = refused.layer


def _fill_pod_quota(
    api: Any, tenant: Tenant, plan: Plan, labels: dict[str, str], seen: LimitsObservation, timeout: float
) -> None:
    namespace = tenant.namespace
    quotas = kube.call(api, "CoreV1Api", "list_namespaced_resource_quota", namespace).items
    if not quotas:
        seen.problems.append(f"no ResourceQuota in {namespace}: the pod count is not limited")
        return
    quota = quotas[0]
    hard = int(parse_quantity(plan.quota.hard["pods"]))
    used = int(parse_quantity((quota.status.used or {}).get("pods", "0")))
    admitted = 0
    for index in range(hard - used):
        pod = compliant_pod(f"count-{index}-{secrets.token_hex(2)}", labels, PROBE_IMAGE)
        pod["spec"]["nodeSelector"] = NOWHERE
        kube.request(api, "POST", _pods_path(namespace), body=pod)
        admitted += 1
    seen.facts.append(f"{admitted} pods admitted up to the pod quota ({used} already counted, hard {hard})")
    extra = compliant_pod(f"count-over-{secrets.token_hex(2)}", labels, PROBE_IMAGE)
    extra["spec"]["nodeSelector"] = NOWHERE
    try:
        kube.request(api, "POST", _pods_path(namespace), body=extra)
        seen.problems.append(f"pod {hard + 1} was admitted past the pod quota of {hard}")
    except kube.ApiFailure as exc:
        refused = over_quota(exc)
        if refused.cell is Cell.DENIED:
            seen.facts.append(f"pod {hard + 1} is rejected: {exc.message}")
            seen.decided_by = refused.layer
        else:
            seen.errors.append(f"pod {hard + 1} got no quota answer: {exc.status}: {exc.message}")


def _remove(api: Any, namespace: str, labels: dict[str, str], timeout: float, seen: LimitsObservation) -> None:
    selector = "caas-conformance.io/check=plan-limits"
    try:
        delete_selected(api, namespace, selector, timeout, f"the pod-count probes of {namespace}")
    except Exception as exc:
        seen.errors.append(f"cleanup: {exc}")


def covered_limits(representative: LimitsObservation, read: ReadBack) -> LimitsObservation:
    """A covered tenant's observation: its representative's (`read.representative`), every line said to be
    the representative's, and what its read-back found (checks/representatives.py)."""
    said = f"as {representative.tenant}: "
    return LimitsObservation(
        read.tenant,
        representative.plan,
        [f"read back: {read.describe()}", *(said + f for f in representative.facts)],
        [said + p for p in representative.problems],
        [said + e for e in representative.errors],
        representative.decided_by,
    )


def require_limits(limits: list[LimitsObservation]) -> None:
    """Fail when a tenant's limits differ from its plan's; otherwise ERROR when something could not be
    observed (the compliant pod's dry run, which shows the defaults, was not answered); otherwise pass:
    one row per tenant through the one verdict rule (`checks.verdicts.require_rows`)."""
    report = "\n".join(o.describe() for o in limits)
    rows: dict[str, Observed] = {}
    for number, seen in enumerate(limits, 1):
        if seen.problems:
            cell: Observed = (Cell.DENIED, "; ".join(seen.problems))
        else:
            cell = (Cell.ERROR, "; ".join(seen.errors)) if seen.errors else (Cell.ALLOWED, "")
        rows[f"{number}. {seen.tenant}"] = cell
    layers = {f"{number}. {seen.tenant}": seen.decided_by for number, seen in enumerate(limits, 1)}
    require_rows(rows, report, "limits as planned", layers)
