"""First-class disks (FCDs): where a volume's disk lives, whether it sits where the plan says, and its removal.

A Kubernetes volume provisioned by the vSphere CSI driver names its FCD in
`spec.csi.volumeHandle`. vCenter lists FCDs per datastore, so finding one means
asking each datastore; every request is bounded by the session's timeout and
every wait by `harness.wait.wait_until`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import CaasError
from harness.wait import wait_until
from provisioning.vsphere.connection import Session, VSphereError, describe_fault, vim, vmodl

CSI_DRIVER = "csi.vsphere.vmware.com"


class Placement(enum.StrEnum):
    """Where a volume's disk was found relative to the datastore its plan names."""

    IN_PLAN_DATASTORE = "in the plan's datastore"
    WRONG_DATASTORE = "in another datastore"
    MISSING = "missing"


@dataclass(frozen=True)
class Disk:
    """A first-class disk as vCenter describes it."""

    id: str
    name: str
    datastore: str
    path: str
    capacity_mb: int


@dataclass(frozen=True)
class DiskCheck:
    """The outcome of checking a volume's disk against its plan's datastore, with the evidence."""

    disk_id: str
    wanted_datastore: str
    placement: Placement
    disk: Disk | None

    def describe(self) -> str:
        if self.disk is None:
            return f"disk {self.disk_id} is missing: no datastore of this vCenter holds it"
        return (
            f"disk {self.disk_id} ({self.disk.path}) is {self.placement.value}: "
            f"found in {self.disk.datastore}, the plan names {self.wanted_datastore}"
        )


def volume_handle(volume: Mapping[str, Any]) -> str:
    """The FCD id of a PersistentVolume (as a dict) provisioned by the vSphere CSI driver."""
    spec = volume.get("spec") or {}
    csi = spec.get("csi") or {}
    name = (volume.get("metadata") or {}).get("name", "?")
    if csi.get("driver") != CSI_DRIVER or not csi.get("volumeHandle"):
        driver = csi.get("driver") or "no CSI driver"
        raise CaasError(f"volume {name} is not a vSphere volume ({driver}; expected {CSI_DRIVER} with a volumeHandle)")
    return str(csi["volumeHandle"])


def datastores(session: Session) -> dict[str, Any]:
    """Every datastore of the vCenter by name."""
    try:
        view = session.content.viewManager.CreateContainerView(session.content.rootFolder, [vim.Datastore], True)
        try:
            return {ds.name: ds for ds in view.view}
        finally:
            view.Destroy()
    except (OSError, vmodl.MethodFault) as exc:
        raise VSphereError(f"listing datastores failed: {describe_fault(exc)}") from None


def _datastore(session: Session, name: str) -> Any:
    found = datastores(session)
    if name not in found:
        raise CaasError(f'datastore "{name}" does not exist in this vCenter (one of: {", ".join(sorted(found))})')
    return found[name]


def find_disk(session: Session, disk_id: str) -> Disk | None:
    """The disk with this id, searched in every datastore; None if no datastore holds it."""
    manager = session.disks
    for name, datastore in sorted(datastores(session).items()):
        try:
            ids = {i.id for i in manager.ListVStorageObject(datastore) or []}
            if disk_id not in ids:
                continue
            obj = manager.RetrieveVStorageObject(vim.vslm.ID(id=disk_id), datastore)
        except vim.fault.NotFound:
            continue
        except (OSError, vmodl.MethodFault) as exc:
            raise VSphereError(f"looking for disk {disk_id} in {name} failed: {describe_fault(exc)}") from None
        return _disk(obj, name)
    return None


def _disk(obj: Any, datastore: str) -> Disk:
    config = obj.config
    return Disk(config.id.id, config.name, datastore, config.backing.filePath, int(config.capacityInMB))


def check_placement(session: Session, disk_id: str, wanted_datastore: str) -> DiskCheck:
    """Find the disk and say whether it is in the datastore the plan names."""
    disk = find_disk(session, disk_id)
    if disk is None:
        return DiskCheck(disk_id, wanted_datastore, Placement.MISSING, None)
    placement = Placement.IN_PLAN_DATASTORE if disk.datastore == wanted_datastore else Placement.WRONG_DATASTORE
    return DiskCheck(disk_id, wanted_datastore, placement, disk)


def check_volume(session: Session, volume: Mapping[str, Any], plan_datastore: str) -> DiskCheck:
    """For a PersistentVolume (as a dict) of a vSphere target: its disk, checked against the plan's datastore."""
    if not plan_datastore:
        raise CaasError("the plan names no datastore (fix: set plans[].datastore in the targets file)")
    return check_placement(session, volume_handle(volume), plan_datastore)


def wait_gone(session: Session, disk_id: str, timeout: float) -> None:
    """Return once no datastore holds the disk; WaitTimeout names it and where it was last seen."""
    wait_until(
        lambda: find_disk(session, disk_id),
        lambda disk: disk is None,
        timeout=timeout,
        what=f"disk {disk_id} to be deleted",
        retry_on=(VSphereError,),
    )


def _wait_task(session: Session, task: Any, what: str, timeout: float) -> Any:
    """Wait for a vCenter task; reads only info.state/result/error (a whole TaskInfo may not deserialize)."""
    collector = session.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task)],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.Task, pathSet=["info.state", "info.result", "info.error"]
            )
        ],
    )

    def fetch() -> dict[str, Any]:
        result = collector.RetrieveContents([spec])
        return {p.name: p.val for p in result[0].propSet} if result else {}

    info = wait_until(
        fetch, lambda i: i.get("info.state") in ("success", "error"), timeout=timeout, what=what, retry_on=(OSError,)
    )
    if info["info.state"] == "error":
        raise VSphereError(f"{what} failed: {describe_fault(info.get('info.error') or Exception('no detail'))}")
    return info.get("info.result")


def create_disk(session: Session, name: str, datastore: str, capacity_mb: int, timeout: float) -> Disk:
    """Create a thin first-class disk in `datastore` (what a CSI driver does for a claim)."""
    target = _datastore(session, datastore)
    spec = vim.vslm.CreateSpec(
        name=name,
        capacityInMB=capacity_mb,
        backingSpec=vim.vslm.CreateSpec.DiskFileBackingSpec(datastore=target, provisioningType="thin"),
    )
    try:
        task = session.disks.CreateDisk_Task(spec)
    except (OSError, vmodl.MethodFault) as exc:
        raise VSphereError(f"creating disk {name} in {datastore} failed: {describe_fault(exc)}") from None
    return _disk(_wait_task(session, task, f"disk {name} to be created in {datastore}", timeout), datastore)


def delete_disk(session: Session, disk: Disk, timeout: float) -> None:
    """Delete a first-class disk (what a CSI driver does when its volume is reclaimed)."""
    target = _datastore(session, disk.datastore)
    try:
        task = session.disks.DeleteVStorageObject_Task(vim.vslm.ID(id=disk.id), target)
    except (OSError, vmodl.MethodFault) as exc:
        raise VSphereError(f"deleting disk {disk.id} failed: {describe_fault(exc)}") from None
    _wait_task(session, task, f"disk {disk.id} to be deleted", timeout)
