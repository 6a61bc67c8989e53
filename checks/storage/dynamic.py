"""Volumes on demand (check_storage_001): every shared tenant's claim without a storage class is bound, in
time, to a new volume of the cluster's one default class (Kubernetes "Dynamic Volume Provisioning",
Defaulting Behavior: the DefaultStorageClass admission plugin gives a claim without a class the class
annotated storageclass.kubernetes.io/is-default-class, and with two such classes the newest; the
provisioner then creates a volume bound to it).

Observations as requirement tables (`checks.verdicts`): ALLOWED where a requirement holds, DENIED
where what was read contradicts it, ERROR where it could not be read (an API error, a claim never bound
within the deadline)."""

from __future__ import annotations

from collections.abc import Sequence

from checks.matrix import Cell, Matrix
from checks.storage.volumes import Workspace, claim_manifest, default_storage_classes, read_volume, unique
from checks.verdicts import Observed, holds, requirement_table
from harness.wait import WaitTimeout
from provisioning.kube import client as kube
from provisioning.model.tenancy import Tenant

ONE_DEFAULT = "exactly one default storage class"
BOUND = "bound in time to a new volume of the default class"
Claim = tuple[str, str]  # (tenant, claim name)


def claim_on_every_tenant(ws: Workspace, tenants: Sequence[Tenant]) -> list[Claim]:
    """As each tenant: a small claim without a storage class; raises ApiFailure if one is refused."""
    claims = []
    for tenant in tenants:
        name = unique("sto-claim")
        ws.create_claim(tenant.name, claim_manifest(name, tenant.name, ws.tenancy.run_id))
        claims.append((tenant.name, name))
    return claims


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


def binding_table(ws: Workspace, claims: Sequence[Claim], timeout: float) -> Matrix:
    """One row per claim: bound within `timeout` seconds to a volume of the default class that names it."""
    return requirement_table(
        BOUND, {f"{tenant}/{claim}": _bound(ws, tenant, claim, timeout) for tenant, claim in claims}
    )
