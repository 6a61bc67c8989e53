"""Storage checks observed once per (plan, cluster): the representative claims, its plan-mates are read back.

check_storage_001 (a claim without a class gets a volume of the default class) and check_storage_005
(claims within the plan's storage quota admitted, the first beyond it refused) create real claims, and
volumes, per observed tenant. Their verdict for a tenant is decided by what is the same for every tenant
of a plan on a cluster (the StorageClasses, the DefaultStorageClass admission plugin, the provisioner,
ResourceQuota admission: cluster-wide) and by what the tenant's namespace holds or is selected by:

- the namespace's ResourceQuota storage entries (`requests.storage`, `persistentvolumeclaims`,
  `count/persistentvolumeclaims`, `<class>.storageclass.storage.k8s.io/requests.storage` and
  `.../persistentvolumeclaims`, with the scopes of a quota that holds one) and its LimitRange items of type
  PersistentVolumeClaim (min/max storage): what ResourceQuota and LimitRanger admission decide a claim by
  (Kubernetes "Resource Quotas", Storage Resource Quota; "Limit Ranges"); `storage_fence`;
- admission webhooks and policies, which select namespaces by their labels or names and may change a
  claim's class (mutating) or refuse it (validating): reached by one server-side dry-run create of a claim
  as the tenant's own admin (`dryRun=All`: every admission plugin runs, ResourceQuota included, nothing is
  stored, and the answer is the object as admission left it, its `spec.storageClassName` set by
  DefaultStorageClass admission).

So the representative (the first tenant of the group by name: `checks.representatives.groups`)
is observed in full, and each other tenant of its group is read back: its storage fence, read as the
cluster's admin, and the answer to the same dry-run claim (outcome, layer that refused, class admission
gave it) must equal the representative's. A read-back that differs or errs sends that tenant to a full
observation of its own (`representatives.observe_once_per_plan`); small tenancies (one tenant per plan)
are observed in full, as before. What the read-back does not reach is the provisioner acting on a claim
of a given class differently by namespace: a provisioner acts on the class's parameters, which are
cluster-wide; the representative's claim shows that it provisions and binds a claim of that class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from checks.answered import Answered, dry_run
from checks.matrix import Cell, Matrix
from checks.representatives import DryRun, Fences, Group, ReadBack, Represented, compare
from checks.storage.volumes import Workspace
from provisioning.kube import client as kube
from provisioning.kube.quotas import quotas_and_limit_ranges
from provisioning.model.tenancy import Tenant

STORAGE_RESOURCES = ("requests.storage", "persistentvolumeclaims", "count/persistentvolumeclaims")
CLASS_SUFFIX = ".storageclass.storage.k8s.io/"  # <class>.storageclass.storage.k8s.io/<resource>
CLAIM_LIMIT = "PersistentVolumeClaim"  # a LimitRange item's type for claims
READ = "storage quota and claim limits"


def is_storage_resource(resource: str) -> bool:
    """Whether a ResourceQuota `resource` name limits claims: the STORAGE_RESOURCES, or any per-class
    entry `<class>.storageclass.storage.k8s.io/<resource>` (e.g. `fast.storageclass.storage.k8s.io/
    requests.storage`); `requests.ephemeral-storage` is a pod's, not a claim's."""
    return resource in STORAGE_RESOURCES or CLASS_SUFFIX in resource


def storage_fence(quotas: Sequence[Mapping[str, Any]], limit_ranges: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A namespace's ResourceQuotas and LimitRanges (dicts, as the API lists them) flattened to what admits
    or refuses a claim: `ResourceQuota <name> hard <resource>` -> quantity for each storage resource
    (`is_storage_resource`), `ResourceQuota <name> scopes`/`scopeSelector` of a quota holding one, and
    `LimitRange <name> limits[<i>]` -> canonical JSON of each item of type PersistentVolumeClaim. Objects
    are matched by name (onboarding names them alike in every namespace; a provider naming them per tenant
    makes every tenant differ, hence observed in full: slower, never wrong)."""
    flat: dict[str, str] = {}
    for quota in quotas:
        name, spec = quota["metadata"]["name"], quota.get("spec") or {}
        hard = {key: str(value) for key, value in (spec.get("hard") or {}).items() if is_storage_resource(key)}
        flat |= {f"ResourceQuota {name} hard {key}": value for key, value in hard.items()}
        if hard and spec.get("scopes"):
            flat[f"ResourceQuota {name} scopes"] = ",".join(sorted(spec["scopes"]))
        if hard and spec.get("scopeSelector"):
            flat[f"ResourceQuota {name} scopeSelector"] = json.dumps(spec["scopeSelector"], sort_keys=True)
    for limit_range in limit_ranges:
        name = limit_range["metadata"]["name"]
        for index, limit in enumerate((limit_range.get("spec") or {}).get("limits") or []):
            if limit.get("type") == CLAIM_LIMIT:
                flat[f"LimitRange {name} limits[{index}]"] = json.dumps(limit, sort_keys=True)
    return flat


def claim_answer(seen: Answered, created: Mapping[str, Any] | None) -> str:
    """A dry-run claim's answer as compared between two tenants: `admitted, class <name>` (the class
    admission gave it; `(none)` without one) or `rejected (<layer>)`; `error` when nothing decided
    (never the message, which names the namespace)."""
    if seen.cell is Cell.ALLOWED:
        spec = (created or {}).get("spec") or {}
        return f"admitted, class {spec.get('storageClassName') or '(none)'}"
    return f"rejected ({seen.layer})" if seen.cell is Cell.DENIED else "error"


def _dry_run_claim(ws: Workspace, tenant: Tenant, manifest: dict[str, Any]) -> tuple[str, str]:
    """(answer, error): POST the claim to the tenant's namespace with dryRun=All as `<tenant>-admin`."""
    api = ws.as_tenant(tenant.name)
    try:
        seen, created = dry_run(api, f"/api/v1/namespaces/{tenant.namespace}/persistentvolumeclaims", manifest)
    finally:
        api.close()
    return claim_answer(seen, created), seen.evidence if seen.cell is Cell.ERROR else ""


def fences_of(ws: Workspace, group: Group) -> Fences:
    """Tenant name -> `storage_fence` of each tenant of `group`'s namespace, read as the cluster's admin
    (a read that does not depend on the tenant's own RBAC), or the error text of the read."""
    found: dict[str, Mapping[str, str] | str] = {}
    api = ws.admin(group.representative.name)
    try:
        for tenant in (group.representative, *group.covered):
            try:
                found[tenant.name] = storage_fence(*quotas_and_limit_ranges(api, tenant.namespace))
            except kube.ApiFailure as exc:
                found[tenant.name] = f"reading the storage quota of {tenant.namespace}: {exc}"
    finally:
        api.close()
    return found


def claim_read_backs(
    ws: Workspace, group: Group, what: str, manifest: Callable[[Tenant], dict[str, Any]]
) -> list[ReadBack]:
    """Each covered tenant of `group`: its `storage_fence` and the answer to the dry-run claim `manifest(
    tenant)` (`what` names it), compared with the representative's (`representatives.compare`)."""
    fences = fences_of(ws, group)
    seen = {t.name: _dry_run_claim(ws, t, manifest(t)) for t in (group.representative, *group.covered)}
    rep_answer, rep_error = seen[group.representative.name]
    reads = []
    for tenant in group.covered:
        answer, error = seen[tenant.name]
        dry_run = DryRun(what, rep_answer, answer, "; ".join(e for e in (rep_error, error) if e))
        reads.append(compare(group, tenant, fences, READ, dry_run))
    return reads


def summary(seen: Represented[Any], plan_of: Callable[[str], str]) -> str:
    """One line first, e.g. `observed t001 (plan small), t002 (plan medium); read back 4 tenants: 4 equal,
    0 differ (observed in full)`, then `seen.describe()` (one line per tenant)."""
    observed = ", ".join(f"{name} (plan {plan_of(name)})" for name in seen.observed)
    equal = len(seen.covering())
    differ = len(seen.read_backs) - equal
    head = f"observed {observed}; read back {len(seen.read_backs)} tenants: {equal} {READ} and dry-run claim equal"
    head += f", {differ} differ (observed in full)"
    return f"{head}\n{seen.describe()}"


def as_covered(table: Matrix, read: ReadBack) -> Matrix:
    """A representative's one-row `table` said of the covered tenant of `read`: the row is renamed to the
    tenant (`<tenant>` for a row `<representative>`, `<tenant>/<claim>` for `<representative>/<claim>`:
    `<tenant> (as <representative>/<claim>)`), every cell kept, its evidence saying whose it is and what
    was read back. Raises ValueError for a table of more than one row."""
    if len(table.rows) != 1:
        raise ValueError(f"a representative's table has one row, not {len(table.rows)}")
    (row,) = table.rows
    name = read.tenant if row == read.representative else f"{read.tenant} (as {row})"
    said = f"covered by {read.representative}'s observation (same {read.read}; {read.probed})"
    cells = {(name, c): table[row, c] for c in table.columns if (row, c) in table.cells}
    evidence = {(name, c): f"{said}: {e}" for (r, c), e in table.evidence.items() if r == row}
    layers = {(name, c): layer for (r, c), layer in table.layers.items() if r == row}
    return Matrix.build([name], table.columns, cells, evidence, layers)
