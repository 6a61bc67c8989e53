"""A deleted claim's volume reclaimed as its reclaim policy says (Kubernetes "Persistent Volumes",
Reclaiming: Delete removes the PersistentVolume, Retain leaves it Released; a recycler that fails leaves
it Failed). Observation by polling the volume as the cluster's operator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks.matrix import Cell, Matrix
from checks.storage.volumes import (
    MOUNT,
    Workspace,
    WrittenVolume,
    claim_manifest,
    claim_volume,
    read_volume,
    unique,
    volume_pod_manifest,
)
from checks.verdicts import Observed, holds, requirement_row, requirement_table
from harness.wait import WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed

DELETE = "Delete"
RELEASED_PHASES = ("Released", "Failed")
RECLAIMED = "reclaimed in time as its reclaim policy says"


def reclaimed(policy: str) -> Callable[[Any | None], bool]:
    """Whether a volume as read (None: gone) is reclaimed under `policy` (pure): Delete, once it is gone;
    any other policy, once it is still there and Released or Failed."""
    if policy == DELETE:
        return lambda volume: volume is None
    return lambda volume: volume is not None and volume.status.phase in RELEASED_PHASES


def reclaim_goal(policy: str, volume: str) -> str:
    """What is waited for, for the timeout's message (pure)."""
    if policy == DELETE:
        return f"volume {volume} (reclaim policy Delete) to be deleted"
    return f"volume {volume} (reclaim policy {policy}) to be released"


def wait_reclaimed(
    ws: Workspace,
    tenant: str,
    name: str,
    policy: str,
    timeout: float,
    *,
    retry_on: tuple[type[BaseException], ...] = (kube.ApiFailure,),
) -> Any | None:
    """Wait up to `timeout` seconds until the PersistentVolume `name` (of a deleted claim of `tenant`, read
    as the operator) is reclaimed as its reclaim `policy` says (`reclaimed`); the volume as last read
    (None: deleted). Errors of `retry_on` types count as "not yet"; raises WaitTimeout, or an error of
    another type."""
    return wait_until(
        lambda: read_volume(ws.tenancy, tenant, name),
        reclaimed(policy),
        timeout=timeout,
        what=reclaim_goal(policy, name),
        retry_on=retry_on,
    )


@dataclass(frozen=True)
class Deleted:
    """A tenant's claim deleted with its pods, and its volume as the operator read it just before (None:
    the volume was already gone, which the reclaim table reports)."""

    written: WrittenVolume
    volume: Any | None


def delete_claim(ws: Workspace, written: WrittenVolume) -> Deleted:
    """As the operator: read the written claim's volume, then delete the writer pod and the claim; raises
    ApiFailure or WaitTimeout when a step fails (the check is then ERROR)."""
    volume = read_volume(ws.tenancy, written.tenant, written.volume)
    ws.delete_pod(written.tenant, written.pod)
    ws.delete_claim(written.tenant, written.claim)
    return Deleted(written, volume)


def delete_reclaimed(ws: Workspace, written: WrittenVolume, timeout: float) -> Deleted:
    """`delete_claim`, then wait up to `timeout` seconds until the volume is reclaimed as its policy says
    (`reclaimed`), so that a next claim comes after it (check_storage_007's precondition; check_storage_004
    judges the reclaim itself). Raises ApiFailure or WaitTimeout (the check is then ERROR)."""
    deleted = delete_claim(ws, written)
    if deleted.volume is not None:
        policy = deleted.volume.spec.persistent_volume_reclaim_policy
        wait_reclaimed(ws, written.tenant, written.volume, policy, timeout)
    return deleted


def _reclaimed(ws: Workspace, deleted: Deleted, timeout: float) -> Observed:
    written = deleted.written
    if deleted.volume is None:
        return Cell.DENIED, f"volume {written.volume} of {written.tenant}/{written.claim} was gone before the claim"
    policy = deleted.volume.spec.persistent_volume_reclaim_policy
    try:
        volume = wait_reclaimed(ws, written.tenant, written.volume, policy, timeout, retry_on=(Exception,))
    except (WaitTimeout, kube.ApiFailure) as exc:
        return Cell.ERROR, str(exc)[:300]
    if volume is None:
        return Cell.ALLOWED, f"policy {policy}: deleted"
    ref = volume.spec.claim_ref
    return holds(
        ref is None or ref.name == written.claim,
        f"policy {policy}: {volume.status.phase}, naming claim {ref.name if ref else None} (deleted: {written.claim})",
    )


def reclaim_table(ws: Workspace, deleted: Deleted, timeout: float) -> Matrix:
    """The deleted claim's volume reclaimed within `timeout` seconds as its policy says; a volume kept must
    still name the deleted claim, if any."""
    return requirement_table(RECLAIMED, {f"volume {deleted.written.volume}": _reclaimed(ws, deleted, timeout)})


MARKER = ".caas-probe"  # written by the reader first: its listing shows it, or the listing proves nothing
CONTROL = f"the new pod lists its volume (it shows the {MARKER} it wrote)"
ANOTHER_VOLUME = "a different volume"
EMPTY = "empty, without the deleted claim's token"


def reuse_table(ws: Workspace, written: WrittenVolume, other: str, timeout: float) -> Matrix:
    """As tenant `other`: a new claim, bound within `timeout`, must get a volume other than the deleted
    one, and a pod mounting it must find it empty. Rows: the positive control (the pod wrote a marker
    and listed it), then the two requirements (`verdicts.requirement_comparison` with the control)."""
    row = f"{other}/new claim"
    try:
        claim = unique("sto-after")
        ws.create_claim(other, claim_manifest(claim, other, ws.tenancy.run_id))
        bound = ws.wait_bound(other, claim, timeout)
        row = f"{other}/{claim}"
        pod = unique("sto-reader")
        ws.run_pod(other, volume_pod_manifest(pod, other, ws.tenancy.run_id, claim_volume(claim)))
        listing = ws.run(other, pod, ["sh", "-c", f"touch {MOUNT}/{MARKER} && ls -A {MOUNT}"]).split()
    except (kube.ApiFailure, PodFailed, WaitTimeout) as exc:
        failed = (Cell.ERROR, str(exc)[:300])
        return requirement_row(row, {CONTROL: failed, ANOTHER_VOLUME: failed, EMPTY: failed})
    files = [f for f in listing if f != MARKER]
    volume = bound.spec.volume_name
    return requirement_row(
        row,
        {
            CONTROL: holds(MARKER in listing, f"listed {listing[:10]}"),
            ANOTHER_VOLUME: holds(volume != written.volume, f"got volume {volume} (deleted: {written.volume})"),
            EMPTY: holds(not files and written.token not in listing, f"other files: {files[:10]}"),
        },
    )
