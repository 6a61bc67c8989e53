"""Whether a plan's storage quota holds: claims within it are admitted, the first beyond it refused
(check_storage_005).

Observed once per (plan, cluster) (`checks.storage.represented`): the representative fills its quota with
real claims; every other tenant of its plan on that cluster is read back (its namespace's ResourceQuota
storage entries and LimitRange claim limits as the cluster's admin, and a dry-run claim one MiB beyond its
plan's `requests.storage` as its admin, which quota admission must refuse as it refused the
representative's) and observed in full when anything differs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from checks.answered import over_quota
from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare
from checks.representatives import Group, ReadBack, Represented, observe_once_per_plan
from checks.storage.represented import as_covered, claim_read_backs
from checks.storage.volumes import Workspace, claim_manifest, unique
from checks.verdicts import stacked
from provisioning.kube import client as kube
from provisioning.model.needs import STORAGE_QUOTA_KEYS, sets_storage_quotas
from provisioning.model.tenancy import Tenant

STORAGE, COUNT = STORAGE_QUOTA_KEYS  # bytes of claims, number of claims
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_QUANTITY = re.compile(r"^([0-9]+)(|k|M|G|T|Ki|Mi|Gi|Ti)$")
TINY = "1Mi"


def quantity_bytes(text: str) -> int:
    """A whole-number Kubernetes quantity in bytes ("2Gi" -> 2147483648)."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f'"{text}" is not a whole-number quantity such as 2Gi or 500M')
    return int(match.group(1)) * _UNITS[match.group(2)]


def _try_claim(ws: Workspace, tenant: str, size: str, resource: str) -> tuple[Cell, str]:
    """ALLOWED if admitted; DENIED only when the ResourceQuota admission refused it for exceeding
    `resource`; ERROR for any other answer (`checks.answered.over_quota`)."""
    try:
        ws.create_claim(tenant, claim_manifest(unique("sto-quota"), tenant, ws.tenancy.run_id, size))
    except kube.ApiFailure as exc:
        return over_quota(exc, resource).observed
    return Cell.ALLOWED, f"a claim of {size} was admitted"


def _used(ws: Workspace, tenant: str) -> dict[str, str]:
    api = ws.as_tenant(tenant)
    try:
        quotas = kube.call(
            api, "CoreV1Api", "list_namespaced_resource_quota", ws.tenancy.tenant(tenant).namespace
        ).items
    finally:
        api.close()
    used: dict[str, str] = {}
    for quota in quotas:
        used.update((quota.status.used or {}) if quota.status else {})
    return used


COLUMNS = (
    "a claim within the storage quota",
    "a claim beyond the storage quota",
    "claims up to the claim count",
    "one claim beyond the claim count",
)


def observe_quota(ws: Workspace, tenant: str, hard: dict[str, str]) -> Matrix:
    """Fill the tenant's storage quota, then step over it, as the tenant admin."""
    cells: dict[tuple[str, str], Cell] = {}
    evidence: dict[tuple[str, str], str] = {}

    def put(column: str, outcome: tuple[Cell, str]) -> None:
        cells[tenant, column], evidence[tenant, column] = outcome

    put(COLUMNS[0], _try_claim(ws, tenant, TINY, STORAGE))
    ws.wait_quota_settled(tenant)
    used = _used(ws, tenant)
    remaining = quantity_bytes(hard[STORAGE]) - quantity_bytes(used.get(STORAGE, "0"))
    put(COLUMNS[1], _try_claim(ws, tenant, str(remaining + 2**20), STORAGE))
    free = int(hard[COUNT]) - int(used.get(COUNT, "0"))
    outcome: tuple[Cell, str] = (Cell.ALLOWED, "no claim was left to fill") if free <= 0 else (Cell.ERROR, "")
    for _ in range(free):
        outcome = _try_claim(ws, tenant, TINY, COUNT)
        if outcome[0] is not Cell.ALLOWED:
            break
    put(COLUMNS[2], outcome)
    ws.wait_quota_settled(tenant)  # the count the next claim is judged against is the claims that exist
    put(COLUMNS[3], _try_claim(ws, tenant, TINY, COUNT))
    return Matrix.build([tenant], COLUMNS, cells, evidence)


def observe_quotas(ws: Workspace, tenants: Sequence[Tenant]) -> Represented[Matrix] | None:
    """`observe_quota` once per (plan, cluster) of the tenants whose plan sets both a storage and a
    claim-count quota, one one-row table per tenant observed (`observe_once_per_plan`), the others of
    each plan read back (`claim_read_backs` with a dry-run claim one MiB beyond the plan's
    `requests.storage`); None when no tenant's plan sets both (the check does not apply)."""
    plans = ws.tenancy.product.plan
    found = [t for t in tenants if sets_storage_quotas(plans(t.plan))]
    if not found:
        return None

    def beyond(group: Group) -> list[ReadBack]:
        size = str(quantity_bytes(plans(group.plan).quota.hard[STORAGE]) + 2**20)
        return claim_read_backs(
            ws,
            group,
            f"claim of {size} bytes, beyond {STORAGE}",
            lambda t: claim_manifest(unique("sto-quota-dry"), t.name, ws.tenancy.run_id, size),
        )

    return observe_once_per_plan(
        found,
        lambda t: ws.tenancy.cluster_of(t.name).handle.name,
        lambda t: observe_quota(ws, t.name, dict(plans(t.plan).quota.hard)),
        beyond,
    )


def quota_matrix(seen: Represented[Matrix]) -> Matrix:
    """Every tenant's row, by name: its own observation, or its representative's said of it (`as_covered`)."""
    return stacked(seen.each(as_covered))


def quota_comparison(quota_matrix: Matrix, wanted: dict[str, Cell]) -> Comparison:
    """Every tenant's row against `wanted` (column -> cell, the feature's table); the claims within the
    quota are the positive controls: when one is not ALLOWED, no refusal counts (ERROR, never a pass)."""
    if tuple(wanted) != COLUMNS:
        raise KeyError(f"the feature's rows must be {COLUMNS}")
    expected = Matrix.build(
        quota_matrix.rows, COLUMNS, {(row, column): wanted[column] for row in quota_matrix.rows for column in COLUMNS}
    )
    return compare(expected, apply_positive_control(expected, quota_matrix))
