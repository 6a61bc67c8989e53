"""What another tenant can do with a tenant's claim and volume, observed with real credentials.

Each attempt yields a cell: ALLOWED on evidence that it worked, DENIED only on
positive evidence of refusal (a 403, an admission rejection, a scheduler or
binder message that names the refusal), ERROR for anything else.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks.answered import Answered, failed
from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare
from checks.storage.volumes import (
    TOKEN_FILE,
    Workspace,
    WrittenVolume,
    claim_manifest,
    claim_volume,
    unique,
    volume_pod_manifest,
)
from harness.wait import WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.kube.pod_start import StartWatch
from provisioning.kube.pods import PodFailed, pod_state, start_watch
from provisioning.model import privileges

Outcome = tuple[Cell, str] | Answered  # an attempt's cell and evidence (and, from an API answer, who decided)
DRY_RUN = "All"


@dataclass(frozen=True)
class Parties:
    owner: str  # the tenant whose volume it is
    other: str  # the tenant trying to use it


def _refused(exc: kube.ApiFailure) -> Answered:
    """The attempt's answer as a cell by the one mapping (`checks.answered.failed`, the request as a
    whole): a refusal the API server names (the authorizer or an admission layer) is DENIED, its layer
    kept; an answer about the object after authorization and admission (404, 409) ALLOWED: the request
    went through every fence; an invalid object or an error ERROR: it observed no refusal."""
    return failed(exc)


def owner_mounts_own_claim(ws: Workspace, written: WrittenVolume, _parties: Parties) -> Outcome:
    """Positive control: the owner's new pod mounts its claim and reads its token."""
    pod = unique("sto-owner")
    try:
        ws.run_pod(
            written.tenant, volume_pod_manifest(pod, written.tenant, ws.tenancy.run_id, claim_volume(written.claim))
        )
        text = ws.run(written.tenant, pod, ["cat", TOKEN_FILE])
    except (kube.ApiFailure, PodFailed, WaitTimeout) as exc:
        return Cell.ERROR, str(exc)[:300]
    finally:
        _quietly(lambda: ws.delete_pod(written.tenant, pod))
    if text.strip() == written.token:
        return Cell.ALLOWED, "the owner's pod read the token back"
    return Cell.ERROR, f"the owner's pod read {text.strip()[:40]!r}, not its token"


class _Fate(enum.Enum):
    """Where the other tenant's pod naming the owner's claim ended up."""

    RUNNING = "running"
    UNSCHEDULABLE = "unschedulable"  # the claim is not found in the other tenant's namespace: the refusal
    CANNOT_START = "cannot start"  # any other terminal reason: no observation
    PENDING = "pending"  # not yet


def _fate(state: Any, watch: StartWatch) -> tuple[_Fate, str]:
    """The pod's fate and what showed it (the scheduler's message, or why it cannot start)."""
    if state.status.phase == "Running":
        return _Fate.RUNNING, ""
    for condition in state.status.conditions or []:
        if (
            condition.type == "PodScheduled"
            and condition.status == "False"
            and "not found" in (condition.message or "")
        ):
            return _Fate.UNSCHEDULABLE, str(condition.message)
    cannot_start = watch.failure(state)
    return (_Fate.CANNOT_START, str(cannot_start)) if cannot_start else (_Fate.PENDING, "")


def other_mounts_claim_by_name(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    """The other tenant's pod names the owner's claim: it must never run with the owner's data."""
    pod = unique("sto-intruder")
    manifest = volume_pod_manifest(pod, parties.other, ws.tenancy.run_id, claim_volume(written.claim))
    try:
        ws.create_pod(parties.other, manifest)
    except kube.ApiFailure as exc:
        return _refused(exc)
    api = ws.as_tenant(parties.other)
    namespace = ws.tenancy.tenant(parties.other).namespace
    watch = start_watch(api, namespace)

    try:
        state = wait_until(
            lambda: pod_state(api, namespace, pod),
            lambda s: _fate(s, watch)[0] is not _Fate.PENDING,
            timeout=ws.timeout,
            what=f"pod {namespace}/{pod} to run or be refused its volume",
            retry_on=(kube.ApiFailure,),
        )
    except WaitTimeout as exc:
        return Cell.ERROR, str(exc)[:300]
    finally:
        api.close()
    fate, seen = _fate(state, watch)
    if fate is _Fate.CANNOT_START:
        return Cell.ERROR, f"pod {namespace}/{pod} cannot start: {seen}"
    if fate is _Fate.UNSCHEDULABLE:
        return Cell.DENIED, f"unschedulable: {seen}"
    try:
        text = ws.run(parties.other, pod, ["sh", "-c", f"cat {TOKEN_FILE} 2>/dev/null || true"])
    except kube.ApiFailure as exc:
        return Cell.ERROR, str(exc)
    if written.token in text:
        return Cell.ALLOWED, "the other tenant's pod read the owner's token"
    return Cell.DENIED, "the pod runs but sees none of the owner's data"


def other_binds_owner_volume(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    """The other tenant asks for the owner's volume by name in a claim of its own."""
    claim = unique("sto-steal")
    manifest = claim_manifest(
        claim,
        parties.other,
        ws.tenancy.run_id,
        written.size,
        volume_name=written.volume,
        storage_class=written.storage_class,
    )
    try:
        ws.create_claim(parties.other, manifest)
    except kube.ApiFailure as exc:
        return _refused(exc)
    api = ws.as_tenant(parties.other)
    namespace = ws.tenancy.tenant(parties.other).namespace

    def observe() -> str:
        state = kube.call(api, "CoreV1Api", "read_namespaced_persistent_volume_claim", claim, namespace)
        if state.status.phase == "Bound":
            return "bound"
        events = kube.call(
            api, "CoreV1Api", "list_namespaced_event", namespace, field_selector=f"involvedObject.name={claim}"
        ).items
        refusals = [
            e.message
            for e in events
            if e.reason == "FailedBinding" and "bound to a different claim" in (e.message or "")
        ]
        return f"FailedBinding: {refusals[0]}" if refusals else ""

    try:
        seen = wait_until(
            observe,
            bool,
            timeout=ws.timeout,
            what=f"claim {namespace}/{claim} to bind or be refused",
            retry_on=(kube.ApiFailure,),
        )
    except WaitTimeout as exc:
        return Cell.ERROR, str(exc)[:300]
    finally:
        api.close()
    return (Cell.ALLOWED, f"bound to {written.volume}") if seen == "bound" else (Cell.DENIED, seen)


def other_reads_owner_claim(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    api = ws.as_tenant(parties.other)
    try:
        kube.call(
            api,
            "CoreV1Api",
            "read_namespaced_persistent_volume_claim",
            written.claim,
            ws.tenancy.tenant(written.tenant).namespace,
        )
    except kube.ApiFailure as exc:
        return _refused(exc)
    finally:
        api.close()
    return Cell.ALLOWED, "read the owner's claim"


def _hostpath_volume(path: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": unique("sto-hostpath")},
        "spec": {
            "capacity": {"storage": "16Mi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": path},
        },
    }


def _create_volume(api: Any, written: WrittenVolume) -> Outcome:
    """Create (dry run) a PersistentVolume that points at a host path."""
    try:
        kube.call(
            api,
            "CoreV1Api",
            "create_persistent_volume",
            _hostpath_volume(f"/srv/{written.volume}"),
            dry_run=DRY_RUN,
        )
    except kube.ApiFailure as exc:
        return _refused(exc)
    return Cell.ALLOWED, "the API server accepted the volume (dry run)"


def operator_creates_volume(ws: Workspace, written: WrittenVolume, _parties: Parties) -> Outcome:
    """Positive control: the cluster's operator can create volumes (dry run), so a tenant's 403 means something."""
    api = ws.admin(written.tenant)
    try:
        return _create_volume(api, written)
    finally:
        api.close()


def other_creates_volume(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    api = ws.as_tenant(parties.other)
    try:
        return _create_volume(api, written)
    finally:
        api.close()


def other_changes_owner_volume(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    """The other tenant tries to point the owner's volume at a claim of its own (dry run)."""
    api = ws.as_tenant(parties.other)
    namespace = ws.tenancy.tenant(parties.other).namespace
    patch = {"spec": {"claimRef": {"namespace": namespace, "name": "sto-steal", "uid": None, "resourceVersion": None}}}
    try:
        kube.call(api, "CoreV1Api", "patch_persistent_volume", written.volume, patch, dry_run=DRY_RUN)
    except kube.ApiFailure as exc:
        return _refused(exc)
    finally:
        api.close()
    return Cell.ALLOWED, "the API server accepted the new claimRef (dry run)"


def _pod_with(ws: Workspace, tenant: str, volume: dict[str, Any]) -> Outcome:
    manifest = volume_pod_manifest(unique("sto-pod"), tenant, ws.tenancy.run_id, volume)
    api = ws.as_tenant(tenant)
    try:
        kube.call(
            api, "CoreV1Api", "create_namespaced_pod", ws.tenancy.tenant(tenant).namespace, manifest, dry_run=DRY_RUN
        )
    except kube.ApiFailure as exc:
        return _refused(exc)
    finally:
        api.close()
    return Cell.ALLOWED, "the API server accepted the pod (dry run)"


def other_runs_hostpath_pod(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    return _pod_with(ws, parties.other, {"hostPath": {"path": "/", "type": "Directory"}})


def other_runs_pod_with_own_volume(ws: Workspace, written: WrittenVolume, parties: Parties) -> Outcome:
    """Positive control for the hostPath denial: the same tenant may create a pod with an ordinary volume."""
    return _pod_with(ws, parties.other, {"emptyDir": {}})


ACTIONS: dict[str, tuple[str, Callable[[Workspace, WrittenVolume, Parties], Outcome]]] = {
    "mounts its claim in a new pod": ("owner", owner_mounts_own_claim),
    "mounts a claim of that name in its namespace": ("other", other_mounts_claim_by_name),
    "binds a claim of its own to that volume": ("other", other_binds_owner_volume),
    "reads that claim": ("other", other_reads_owner_claim),
    "creates a host path volume": ("other", other_creates_volume),
    "points that volume at its own claim": ("other", other_changes_owner_volume),
    "runs a pod with a host path volume": ("other", other_runs_hostpath_pod),
    "runs a pod with an empty-dir volume": ("other", other_runs_pod_with_own_volume),
    "creates a host path volume as the operator": ("operator", operator_creates_volume),
}
ROLES = {"the owner": "owner", "another tenant": "other", "the operator": "operator"}
PLAN_RULE = "as its plan says"  # a feature's cell whose expectation is the acting tenant's plan's rule
PLAN_CASES = {
    "runs a pod with a host path volume": privileges.Case.HOST_PATH
}  # the privilege each such attempt asks for


def expected_cell(ws: Workspace, parties: Parties, subject: str, action: str, written: str) -> Cell:
    """The feature's expectation for one attempt. "as its plan says" comes from the model of the acting
    tenant's plan: an attempt whose pod asks for a privilege the plan's pod-security level forbids is
    refused at admission (DENIED), otherwise admitted (ALLOWED) (provisioning/model/privileges.py)."""
    if written != PLAN_RULE:
        return Cell(written)
    if action not in PLAN_CASES:
        raise KeyError(f'"{action}" has no plan rule; write allowed or denied in the feature')
    tenant = {"owner": parties.owner, "other": parties.other}[ROLES[subject]]
    plan = ws.tenancy.product.plan(ws.tenancy.tenant(tenant).plan)
    rejected = privileges.expected_outcome(plan, PLAN_CASES[action]) is privileges.Outcome.REJECTED
    return Cell.DENIED if rejected else Cell.ALLOWED


def observe_separation(ws: Workspace, written: WrittenVolume, parties: Parties, rows: list[tuple[str, str]]) -> Matrix:
    """Run each (subject, action) attempt once; rows name the subject as in the feature ("the owner", ...);
    an attempt the API server answered keeps who decided it (the matrix's layers)."""
    cells: dict[tuple[str, str], Cell] = {}
    evidence: dict[tuple[str, str], str] = {}
    layers: dict[tuple[str, str], str] = {}
    for subject, action in rows:
        role, attempt = ACTIONS[action]
        if ROLES[subject] != role:
            raise KeyError(f'"{action}" is an attempt of {role}, not of "{subject}"')
        key = (row_name(subject, action), "access")
        seen = attempt(ws, written, parties)
        if isinstance(seen, Answered):
            cells[key], evidence[key] = seen.observed
            layers[key] = seen.layer
        else:
            cells[key], evidence[key] = seen
    return Matrix.build([row_name(s, a) for s, a in rows], ["access"], cells, evidence, layers)


def row_name(subject: str, action: str) -> str:
    return f"{subject} {action}"


def _quietly(step: Callable[[], None]) -> None:
    """Remove a pod now; the workspace removes it again at the end if this fails."""
    with contextlib.suppress(kube.ApiFailure, WaitTimeout):
        step()


def separation_comparison(
    ws: Workspace, parties: Parties, table: list[tuple[str, str, str]], observed: Matrix
) -> Comparison:
    """The feature's (subject, action, access) rows as the expected matrix (`expected_cell`), against what
    was observed; the allowed rows are the positive controls: when one is not ALLOWED, no denial counts
    (ERROR, never a pass)."""
    rows = [row_name(subject, action) for subject, action, _ in table]
    expected = Matrix.build(
        rows,
        ["access"],
        {(row_name(s, a), "access"): expected_cell(ws, parties, s, a, access) for s, a, access in table},
    )
    return compare(expected, apply_positive_control(expected, observed))
