"""Remnants on raw devices: a deleted Block claim's bytes must not reach the next tenant's Block claim.

A listing of a fresh filesystem (reclaim.reuse_table) cannot see the old bytes of a reused block device:
the reader here reads the raw device. Tenant A claims a Block volume (Kubernetes "Persistent Volumes",
Raw Block Volume Support: volumeMode Block, the pod's `volumeDevices`), writes a marker at its first
byte with `dd` and reads it back (the positive control: the device is A's and the write reached it),
then the claim is deleted; tenant B claims a Block volume of the same class and reads the first
`READ_BYTES` bytes of its raw device. A's marker there is a FAIL (NIST SP 800-88 r1 "media
sanitization": storage handed to another party is cleared first; kubestr / kubo-ci storage items).
B's read returning `READ_BYTES` bytes is B's positive control.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from checks.matrix import Cell, Matrix
from checks.storage.reclaim import wait_reclaimed
from checks.storage.volumes import (
    Workspace,
    claim_manifest,
    claim_volume,
    read_volume,
    unique,
    volume_pod_manifest,
)
from checks.verdicts import Observed, holds, requirement_row
from harness.wait import WaitTimeout
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed

DEVICE = "/dev/caas-block"
READ_BYTES = 64  # the marker is 45 bytes at offset 0
MARKER_PREFIX = "caas-remnant-"
OWN_MARKER = "the writer reads its marker back from its raw device"
READ_WORKED = f"the new claim's raw device reads ({READ_BYTES} bytes)"
NO_REMNANT = "no byte of the deleted claim's marker on the new claim's device"
_SHOWN = re.compile(r"[^a-z0-9-]")


# NUL and any byte outside [a-z0-9-] shown as '.', so the output is printable and exactly READ_BYTES long.
_READ = f"dd if={DEVICE} bs={READ_BYTES} count=1 2>/dev/null | tr -c 'a-z0-9-' '.'"
READ_COMMAND = ["sh", "-c", _READ]


def new_marker() -> str:
    """A fresh marker: MARKER_PREFIX and 32 hex digits (45 characters, all in [a-z0-9-])."""
    return MARKER_PREFIX + secrets.token_hex(16)


def block_claim_manifest(name: str, tenant: str, run_id: str, storage_class: str = "") -> dict[str, Any]:
    """A ReadWriteOnce claim of volumeMode Block (no class: the cluster's default class)."""
    manifest = claim_manifest(name, tenant, run_id, storage_class=storage_class)
    manifest["spec"]["volumeMode"] = "Block"
    return manifest


def block_pod_manifest(name: str, tenant: str, run_id: str, claim: str) -> dict[str, Any]:
    """A pod that passes the `restricted` level and gets the Block claim's device at DEVICE (owned by its
    non-root user where the runtime hands devices to the pod's user, e.g. containerd's
    device_ownership_from_security_context)."""
    pod = volume_pod_manifest(name, tenant, run_id, claim_volume(claim))
    container = pod["spec"]["containers"][0]
    del container["volumeMounts"]
    container["volumeDevices"] = [{"name": "data", "devicePath": DEVICE}]
    return pod


def write_command(marker: str) -> list[str]:
    """Write `marker` at the device's first byte, synchronously, and read the first READ_BYTES back."""
    if _SHOWN.search(marker):
        raise ValueError(f"marker {marker!r}: only [a-z0-9-] may be written")
    return ["sh", "-c", f"printf %s {marker} | dd of={DEVICE} conv=notrunc,fsync 2>/dev/null && {_READ}"]


def judge_read(marker: str, own: bool, shown: str) -> Observed:
    """A device's first bytes as READ_COMMAND shows them, judged (pure): `own` (the writer reading back)
    needs the marker there; anyone else must not find it, nor its random part."""
    found = marker in shown or marker[len(MARKER_PREFIX) :] in shown
    if own:
        return holds(found, f"read {shown!r}")
    return holds(not found, f"read {shown!r}" + (" (the deleted claim's marker)" if found else ""))


def judge_read_worked(shown: str) -> Observed:
    """B's positive control (pure): the read returned READ_BYTES bytes."""
    return holds(len(shown) == READ_BYTES, f"{len(shown)} bytes read")


@dataclass(frozen=True)
class WrittenDevice:
    """A tenant's Block claim, its writer pod, its volume, the marker and what the writer read back."""

    tenant: str
    claim: str
    pod: str
    volume: str
    storage_class: str
    marker: str
    read_back: str


def claim_and_mark(ws: Workspace, tenant: str, storage_class: str, timeout: float) -> WrittenDevice:
    """As the tenant: a Block claim of `storage_class` bound within `timeout` seconds, a pod with its
    device, the marker written at its first byte and read back. Raises ApiFailure, PodFailed or
    WaitTimeout (the check is then ERROR)."""
    run_id = ws.tenancy.run_id
    claim = unique("sto-block")
    ws.create_claim(tenant, block_claim_manifest(claim, tenant, run_id, storage_class))
    bound = ws.wait_bound(tenant, claim, timeout)
    pod = unique("sto-block-writer")
    ws.run_pod(tenant, block_pod_manifest(pod, tenant, run_id, claim))
    marker = new_marker()
    shown = ws.run(tenant, pod, write_command(marker))
    return WrittenDevice(tenant, claim, pod, bound.spec.volume_name, bound.spec.storage_class_name or "", marker, shown)


def delete_device(ws: Workspace, written: WrittenDevice, timeout: float) -> None:
    """As the operator: delete the writer pod, then the claim, and wait up to `timeout` seconds until its
    volume is reclaimed as its policy says (reclaim.wait_reclaimed), so that the next claim comes after it.
    Raises ApiFailure or WaitTimeout (the check is then ERROR)."""
    volume = read_volume(ws.tenancy, written.tenant, written.volume)
    ws.delete_pod(written.tenant, written.pod)
    ws.delete_claim(written.tenant, written.claim)
    if volume is not None:
        policy = volume.spec.persistent_volume_reclaim_policy
        wait_reclaimed(ws, written.tenant, written.volume, policy, timeout)


def remnant_row(ws: Workspace, written: WrittenDevice, other: str, timeout: float) -> Matrix:
    """As tenant `other`: a new Block claim of the written claim's class, bound within `timeout`, read raw.
    Columns: OWN_MARKER and READ_WORKED (the positive controls), NO_REMNANT (the requirement); pass
    CONTROLS(row) to `verdicts.requirement_comparison`. The row is `other`/<claim>."""
    row = f"{other}/new Block claim"
    own = judge_read(written.marker, True, written.read_back)
    try:
        claim = unique("sto-block-after")
        ws.create_claim(other, block_claim_manifest(claim, other, ws.tenancy.run_id, written.storage_class))
        ws.wait_bound(other, claim, timeout)
        row = f"{other}/{claim}"
        pod = unique("sto-block-reader")
        ws.run_pod(other, block_pod_manifest(pod, other, ws.tenancy.run_id, claim))
        shown = ws.run(other, pod, READ_COMMAND).strip()
    except (kube.ApiFailure, PodFailed, WaitTimeout) as exc:
        failed = (Cell.ERROR, str(exc)[:300])
        return requirement_row(row, {OWN_MARKER: own, READ_WORKED: failed, NO_REMNANT: failed})
    return requirement_row(
        row,
        {OWN_MARKER: own, READ_WORKED: judge_read_worked(shown), NO_REMNANT: judge_read(written.marker, False, shown)},
    )


def controls(row: str) -> list[tuple[str, str]]:
    """The positive-control cells of a remnant row, for `verdicts.requirement_comparison`."""
    return [(row, OWN_MARKER), (row, READ_WORKED)]
