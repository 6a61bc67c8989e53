"""Volumes on demand (check_storage_001): every shared tenant's claim without a storage class is bound, in
time, to a new volume of the cluster's one default class (Kubernetes "Dynamic Volume Provisioning",
Defaulting Behavior: the DefaultStorageClass admission plugin gives a claim without a class the class
annotated storageclass.kubernetes.io/is-default-class, and with two such classes the newest; the
provisioner then creates a volume bound to it).

Observed once per (plan, cluster) (`checks.storage.represented`): the representative's claim is created and
must bind; every other tenant of its plan on that cluster is read back, and its claim created and observed
in full only when the read-back differs or errs. The read-back is what decides the default class for a
tenant's claim beyond what is cluster-wide (the StorageClasses and their default annotation, the
DefaultStorageClass admission plugin, the provisioner, all the same for every tenant of a cluster): its
namespace's ResourceQuota storage entries, per class included (a class quota of 0 refuses claims of it),
and LimitRange claim limits, as the cluster's admin; and one dry-run create, as the tenant's admin, of
the same claim without a class, whose answer shows what admission did with it: admitted, with the class
DefaultStorageClass admission (or a mutating webhook or policy selecting the namespace) set, or refused
by whom. Equal to the representative's, the tenant's claim would be admitted with the same class and be
provisioned by the same provisioner from the same class parameters: the representative's binding stands
for it. Not reached: a provisioner that, for one class, provisions differently by the claim's namespace.

Observations as requirement tables (`checks.verdicts`): ALLOWED where a requirement holds, DENIED
where what was read contradicts it, ERROR where it could not be read (an API error, a claim never bound
within the deadline)."""

from __future__ import annotations

from collections.abc import Sequence

from checks.matrix import Cell, Matrix
from checks.representatives import Represented, observe_once_per_plan
from checks.storage.represented import as_covered, claim_read_backs
from checks.storage.volumes import (
    SMALL_CLAIM,
    Workspace,
    claim_manifest,
    default_storage_classes,
    read_volume,
    unique,
)
from checks.verdicts import Observed, holds, requirement_table, stacked
from harness.wait import WaitTimeout
from provisioning.kube import client as kube
from provisioning.model.tenancy import Tenant

ONE_DEFAULT = "exactly one default storage class"
BOUND = "bound in time to a new volume of the default class"
Claim = tuple[str, str]  # (tenant, claim name)


def claim_once_per_plan(ws: Workspace, tenants: Sequence[Tenant]) -> Represented[Claim]:
    """As the representative of each (plan, cluster) of `tenants`: a small claim without a storage class;
    the others of its plan read back (`claim_read_backs`: storage quota, claim limits and the same claim
    as a dry run), each that differs claiming too. Raises ApiFailure if a claim is refused."""

    def claim(tenant: Tenant) -> Claim:
        name = unique("sto-claim")
        ws.create_claim(tenant.name, claim_manifest(name, tenant.name, ws.tenancy.run_id))
        return tenant.name, name

    return observe_once_per_plan(
        tenants,
        lambda t: ws.tenancy.cluster_of(t.name).handle.name,
        claim,
        lambda group: claim_read_backs(
            ws,
            group,
            f"claim of {SMALL_CLAIM} without a class",
            lambda t: claim_manifest(unique("sto-claim-dry"), t.name, ws.tenancy.run_id),
        ),
    )


def _defaults(ws: Workspace, tenant: str) -> tuple[list[str] | None, str]:
    try:
        return default_storage_classes(ws.tenancy, tenant), ""
    except kube.ApiFailure as exc:
        return None, f"listing the storage classes: {exc}"


def default_class_table(ws: Workspace, claims: Sequence[Claim]) -> Matrix:
    """One row per cluster of the claims' tenants: does it mark exactly one storage class default?"""
    rows: dict[str, Observed] = {}
    for tenant, _ in claims:
        cluster = f"cluster {ws.tenancy.cluster_of(tenant).handle.name}"
        if cluster in rows:
            continue
        defaults, error = _defaults(ws, tenant)
        rows[cluster] = (Cell.ERROR, error) if defaults is None else holds(len(defaults) == 1, f"defaults {defaults}")
    return requirement_table(ONE_DEFAULT, rows)


def _bound(ws: Workspace, tenant: str, claim: str, timeout: float) -> Observed:
    try:
        bound = ws.wait_bound(tenant, claim, timeout)
    except (WaitTimeout, kube.ApiFailure) as exc:
        return Cell.ERROR, str(exc)[:300]
    defaults, error = _defaults(ws, tenant)
    if defaults is None or len(defaults) != 1:
        return Cell.ERROR, error or f"no one default class to compare with (defaults {defaults})"
    (default,) = defaults
    got, volume_name = bound.spec.storage_class_name, bound.spec.volume_name
    if got != default:
        return Cell.DENIED, f"bound to {volume_name} of class {got}, not the default {default}"
    try:
        volume = read_volume(ws.tenancy, tenant, volume_name)
    except kube.ApiFailure as exc:
        return Cell.ERROR, f"reading volume {volume_name}: {exc}"
    if volume is None:
        return Cell.DENIED, f"volume {volume_name} not found"
    ref = volume.spec.claim_ref
    return holds(
        ref is not None and ref.name == claim,
        f"-> {volume_name} ({default}), which names claim {ref.name if ref else None}",
    )


def binding_table(ws: Workspace, claims: Represented[Claim] | Sequence[Claim], timeout: float) -> Matrix:
    """One row per claim created (`claims`: the claims of `claim_once_per_plan`, or claims each observed):
    bound within `timeout` seconds to a volume of the default class that names it; one row per covered
    tenant, its representative's (`as_covered`); rows by tenant name."""
    if not isinstance(claims, Represented):
        return requirement_table(BOUND, {f"{t}/{c}": _bound(ws, t, c, timeout) for t, c in claims})
    tables = {
        tenant: requirement_table(BOUND, {f"{tenant}/{claim}": _bound(ws, tenant, claim, timeout)})
        for tenant, (_, claim) in claims.observed.items()
    }
    return stacked(Represented(tables, claims.read_backs).each(as_covered))
