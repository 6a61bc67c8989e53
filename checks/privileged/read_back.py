"""Read-backs of covered tenants for the checks observed once per (plan, cluster): 003, 005, 007, 008.

The rule (checks/representatives.py `observe_once_per_plan`): the representative is observed in
full; every other tenant of its group is read back, and observed in full itself when anything differs.

What is read back, and as whom:

- the fence objects, as the cluster's admin (`tenancy.admin_client`): one client per group, and a read
  whose answer does not depend on the tenant's own RBAC (a tenant that may not list its quota would be an
  ERROR about RBAC, not a difference of fence); admission decides by these objects whoever reads them.
  005 and 007 read the namespace's ResourceQuotas (`spec.hard`, `scopes`, `scopeSelector`) and
  LimitRanges (`spec.limits`): what quota and limit admission decide by (`quota_fence`); 008 those and
  the namespace's labels (an admission policy limiting priorities selects namespaces by their labels);
  003 the namespace's labels (`fence`): Pod Security Admission's enforce/warn/audit labels decide both
  the Deployment's warning and the ReplicaSet's refused pod.
- one server-side dry-run create (`dryRun=All`: admission runs, nothing is stored), as each tenant's own
  admin, in the representative's namespace and in the covered tenant's: its answer (outcome and the
  layer that decided, `checks.answered`) must be the same. 005/007: a pod one unit above the plan's
  `requests.cpu` (`above_quota`); 003: the Deployment of the plan's forbidden case (accepted, and who
  warned); 008: a pod of `system-cluster-critical`. ResourceQuota admission evaluates a dry run (it only
  skips recording the usage): observed on the lab's pks, where each covered tenant's dry-run pod above
  `requests.cpu` is rejected by ResourceQuota admission; a `limitedResources` PriorityClass limit is
  that same admission's evaluation of the same request (the lab's pks configures none: there the
  system-critical dry run is admitted, as check_privileged_008's expected FAIL says). Validating
  admission policies and Pod Security run on dry runs; a webhook whose sideEffects are not None/NoneOnDryRun
  makes the dry run fail, which is an error: that tenant is then observed in full.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from checks.answered import Answered, classified, dry_run
from checks.matrix import Cell
from checks.privileged.fences import fence, quota_fence
from checks.privileged.workloads import _deployment as deployment  # the observation's own manifest
from checks.representatives import DryRun, Fences, Group, ReadBack, compare
from provisioning.images.refs import PROBE_IMAGE
from provisioning.kube import client as kube
from provisioning.kube.quotas import quotas_and_limit_ranges
from provisioning.model import answers
from provisioning.model.object_limits import SYSTEM_PRIORITY_CLASSES, priority_pod
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import ADMISSION_LAYERS, Case, case_pod, compliant_pod, forbidden_case, refusal_layer
from provisioning.model.quantity import parse_quantity
from provisioning.model.tenancy import Plan, Tenant
from provisioning.tenancy import ProvisionedTenancy

QUOTAS = "ResourceQuota and LimitRange specs"
LABELS = "namespace labels"
CHECK_LABEL = "caas-conformance.io/check"
NOWHERE = {"caas-conformance.io/nowhere": "true"}  # pods that never schedule (dry runs: never stored anyway)


def fences_of(tenancy: ProvisionedTenancy, group: Group, quotas: bool, labels: bool) -> Fences:
    """Tenant name -> the group's tenants' fences as the cluster's admin: their ResourceQuotas and
    LimitRanges (`quota_fence`) when `quotas`, their namespace labels but the ignored ones (`fence`,
    keys prefixed `label `) when `labels`; or the error text of the read."""
    found: dict[str, Mapping[str, str] | str] = {}
    api = tenancy.admin_client(tenancy.cluster_of(group.representative.name))
    try:
        for tenant in (group.representative, *group.covered):
            try:
                flat: dict[str, str] = {}
                if quotas:
                    flat |= quota_fence(*quotas_and_limit_ranges(api, tenant.namespace))
                if labels:
                    namespace = kube.call(api, "CoreV1Api", "read_namespace", tenant.namespace)
                    flat |= {f"label {k}": v for k, v in fence(namespace.metadata.labels).items()}
                found[tenant.name] = flat
            except kube.ApiFailure as exc:
                found[tenant.name] = f"reading the fences of {tenant.namespace}: {exc}"
    finally:
        api.close()
    return found


def _answer(seen: Answered) -> str:
    """A dry run's answer as compared: outcome and layer (not the message, which names the namespace)."""
    return {Cell.ALLOWED: "admitted", Cell.DENIED: "rejected"}.get(seen.cell, "error") + f" ({seen.layer})"


def _dry_run(tenancy: ProvisionedTenancy, tenant: Tenant, path: str, body: dict[str, Any]) -> Answered:
    """POST `body` to the tenant's namespace's `path` (e.g. "pods") with dryRun=All as `<tenant>-admin`.
    Its images are the lab's names, as the observations' own dry runs (checks/privileged/limits.py): a
    dry run pulls nothing, and a product's pull secret would be one more object in the tenant's count quota."""
    api = tenancy.client_for(f"{tenant.name}-admin")
    try:
        return dry_run(api, f"/api/v1/namespaces/{tenant.namespace}/{path}", body)[0]
    finally:
        api.close()


def _dry_runs(
    tenancy: ProvisionedTenancy, group: Group, what: str, make: Callable[[Tenant], dict[str, Any]], path: str = "pods"
) -> dict[str, DryRun]:
    """The same dry run (`make(tenant)` -> manifest) for the representative and each covered tenant."""
    seen = {t.name: _dry_run(tenancy, t, path, make(t)) for t in (group.representative, *group.covered)}
    rep = seen[group.representative.name]
    out = {}
    for tenant in group.covered:
        mine = seen[tenant.name]
        undecided = [a.evidence for a in (rep, mine) if a.cell is Cell.ERROR]
        out[tenant.name] = DryRun(what, _answer(rep), _answer(mine), "; ".join(undecided))
    return out


def _pod(tenant: Tenant, run_id: str, check: str) -> dict[str, Any]:
    labels = {**run_labels(run_id, tenant.name), CHECK_LABEL: check}
    pod = compliant_pod(f"{check}-{secrets.token_hex(3)}", labels, PROBE_IMAGE)
    pod["spec"]["nodeSelector"] = NOWHERE
    return pod


def above_quota(plan: Plan) -> tuple[str, str] | None:
    """The (resource, amount) of the pod that a dry run asks above `plan`'s quota: requests.cpu, else
    requests.memory, one whole unit above the hard value; None when the plan limits neither (then only
    the objects are read back)."""
    for resource, unit in (("requests.cpu", 1), ("requests.memory", 2**30)):
        hard = plan.quota.hard.get(resource)
        if hard is not None:
            above = (int(parse_quantity(hard)) // unit + 1) * unit
            return resource.split(".")[1], str(above)
    return None


def quota_read_backs(tenancy: ProvisionedTenancy, group: Group, run_id: str) -> list[ReadBack]:
    """005 and 007: each covered tenant's ResourceQuotas and LimitRanges, and a dry-run pod above the
    plan's quota (`above_quota`), compared with its representative's."""
    fences = fences_of(tenancy, group, quotas=True, labels=False)
    asked = above_quota(tenancy.product.plan(group.plan))
    if asked is None:
        return [compare(group, t, fences, QUOTAS, None) for t in group.covered]
    resource, amount = asked

    def greedy(tenant: Tenant) -> dict[str, Any]:
        pod = _pod(tenant, run_id, "plan-limits")
        pod["spec"]["containers"][0]["resources"] = {"requests": {resource: amount}, "limits": {resource: amount}}
        return pod

    runs = _dry_runs(tenancy, group, f"pod requesting {resource} {amount}", greedy)
    return [compare(group, t, fences, QUOTAS, runs[t.name]) for t in group.covered]


def priority_read_backs(tenancy: ProvisionedTenancy, group: Group, run_id: str) -> list[ReadBack]:
    """008: each covered tenant's ResourceQuotas (their PriorityClass scopes), LimitRanges and namespace
    labels, and a dry-run pod of the first system-critical priority class, compared with its
    representative's."""
    fences = fences_of(tenancy, group, quotas=True, labels=True)
    priority_class = SYSTEM_PRIORITY_CLASSES[0]
    runs = _dry_runs(
        tenancy,
        group,
        f"pod of {priority_class}",
        lambda t: priority_pod(_pod(t, run_id, "system-priorities"), priority_class),
    )
    read = f"{QUOTAS} and {LABELS}"
    return [compare(group, t, fences, read, runs[t.name]) for t in group.covered]


def deployment_read_backs(tenancy: ProvisionedTenancy, group: Group, run_id: str) -> list[ReadBack]:
    """003: each covered tenant's namespace labels and a dry-run create, as its admin, of a Deployment
    whose pod asks for its plan's forbidden case: accepted or refused, and by whom it was warned (Pod
    Security warns on the template), compared with its representative's."""
    fences = fences_of(tenancy, group, quotas=False, labels=True)
    case = forbidden_case(tenancy.product.plan(group.plan))
    if case is None:
        return [compare(group, t, fences, LABELS, None) for t in group.covered]
    answers_of = {t.name: _deployment_dry_run(tenancy, t, case, run_id) for t in (group.representative, *group.covered)}
    rep = answers_of[group.representative.name]
    runs = {
        t.name: DryRun(
            f"Deployment asking for {case.value}",
            rep[0],
            answers_of[t.name][0],
            "; ".join(e for e in (rep[1], answers_of[t.name][1]) if e),
        )
        for t in group.covered
    }
    return [compare(group, t, fences, LABELS, runs[t.name]) for t in group.covered]


def _deployment_dry_run(tenancy: ProvisionedTenancy, tenant: Tenant, case: Case, run_id: str) -> tuple[str, str]:
    """(answer, error): `accepted, warned by <layers>` or `rejected (<layer>)`; error when nothing answered."""
    api = tenancy.client_for(f"{tenant.name}-admin")
    name = f"forbidden-{secrets.token_hex(3)}"
    labels = {**run_labels(run_id, tenant.name), "app": name}
    path = f"/apis/apps/v1/namespaces/{tenant.namespace}/deployments?dryRun=All"
    try:
        body = deployment(name, labels, case_pod(case, name, labels, PROBE_IMAGE))  # lab images: see `_dry_run`
        _, warnings = kube.create_with_warnings(api, path, body)
    except kube.ApiFailure as exc:
        layer = refusal_layer(classified(exc))
        if layer not in ADMISSION_LAYERS:
            return "", f"{exc.status}: {exc.message}"[:300]
        return f"rejected ({layer.value})", ""
    finally:
        api.close()
    warned = sorted({w.value for w in map(answers.warned_by, warnings) if w})
    return f"accepted, warned by {', '.join(warned) or 'nobody'}", ""


def cluster_name(tenancy: ProvisionedTenancy) -> Callable[[Tenant], str]:
    """The grouping key's cluster part (`representatives.groups`): the name of the tenant's cluster."""
    return lambda tenant: tenancy.cluster_of(tenant.name).handle.name
