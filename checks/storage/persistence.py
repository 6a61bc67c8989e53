"""A tenant's data outlives its pods (check_storage_002): after the pod that wrote a token to a claim is
deleted, a new pod of the tenant mounting the same claim reads the token back. Observed as a
requirement table (`checks.verdicts`): ALLOWED when the token is read back, DENIED when the new pod
ran and read something else, ERROR when it could not run or read."""

from __future__ import annotations

from checks.matrix import Cell, Matrix
from checks.storage.volumes import TOKEN_FILE, Workspace, WrittenVolume, mount_and_list
from checks.verdicts import holds, requirement_table
from harness.wait import WaitTimeout
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed

READ_BACK = "a new pod reads the token written"


def reread_after_the_writer_is_gone(ws: Workspace, written: WrittenVolume) -> Matrix:
    """Delete the writer pod, mount the claim in a new pod of the tenant, and read the volume."""
    row = f"{written.tenant}/{written.claim}"
    try:
        ws.delete_pod(written.tenant, written.pod)
        _, listing = mount_and_list(ws, written.tenant, written.claim)
    except (kube.ApiFailure, PodFailed, WaitTimeout) as exc:
        return requirement_table(READ_BACK, {row: (Cell.ERROR, str(exc)[:300])})
    found = written.token in listing
    evidence = f"read the token from {TOKEN_FILE}" if found else f"read {listing.strip()[:80]!r}, not the token"
    return requirement_table(READ_BACK, {row: holds(found, evidence)})
