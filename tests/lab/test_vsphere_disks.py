"""The vSphere adapter against vcsim, VMware's vCenter simulator (built by `caas lab build`).

Each test starts its own simulator on a free loopback port, creates first-class
disks through the adapter (pyVmomi's vCenter VStorageObjectManager), and stops
it; teardown proves that no disk is left in the simulator and no file on disk.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import CaasError, InfrastructureError
from harness.settings import lab_home
from harness.wait import WaitTimeout
from provisioning.lab.cluster import LabPaths
from provisioning.lab.vcsim import Vcsim
from provisioning.vsphere.connection import Session, VCenter, VSphereError, VSphereLoginError, connect
from provisioning.vsphere.disks import (
    CSI_DRIVER,
    Disk,
    Placement,
    check_placement,
    check_volume,
    create_disk,
    datastores,
    delete_disk,
    find_disk,
    wait_gone,
)

pytestmark = pytest.mark.lab
TIMEOUT = 10.0
PLAN_DATASTORE = "LocalDS_0"
OTHER_DATASTORE = "LocalDS_1"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Vcsim]:
    paths = LabPaths(lab_home(dict(os.environ)))
    vcsim = Vcsim.start(paths.bin, tmp_path / "vcsim")
    try:
        yield vcsim
        with connect(_target(vcsim), TIMEOUT) as session:
            disks = {n: list(session.disks.ListVStorageObject(ds) or []) for n, ds in datastores(session).items()}
        assert not any(disks.values()), f"disks left in vcsim: {disks}"
    finally:
        vcsim.stop()
    assert vcsim.process.returncode is not None
    assert not list((tmp_path / "vcsim").iterdir()), "vcsim left files behind"


def _target(vcsim: Vcsim, password: str | None = None) -> VCenter:
    return VCenter(vcsim.url, vcsim.username, vcsim.password if password is None else password)


@pytest.fixture
def session(simulator: Vcsim) -> Iterator[Session]:
    with connect(_target(simulator), TIMEOUT) as opened:
        yield opened


@pytest.fixture
def disks(session: Session) -> Iterator[list[Disk]]:
    """Disks a test creates; any the test did not delete are deleted after it."""
    created: list[Disk] = []
    yield created
    for disk in created:
        if find_disk(session, disk.id) is not None:
            delete_disk(session, disk, TIMEOUT)


def test_a_volume_disk_is_found_in_the_datastore_its_plan_names(session: Session, disks: list[Disk]) -> None:
    disk = create_disk(session, "pvc-in-plan", PLAN_DATASTORE, 16, TIMEOUT)
    disks.append(disk)
    check = check_placement(session, disk.id, PLAN_DATASTORE)
    assert check.placement is Placement.IN_PLAN_DATASTORE
    assert check.disk is not None
    assert check.disk.datastore == PLAN_DATASTORE
    assert check.disk.path.startswith(f"[{PLAN_DATASTORE}] fcd/")
    assert check.disk.capacity_mb == 16


def test_a_disk_in_another_datastore_is_reported_with_both_names(session: Session, disks: list[Disk]) -> None:
    disk = create_disk(session, "pvc-elsewhere", OTHER_DATASTORE, 16, TIMEOUT)
    disks.append(disk)
    check = check_placement(session, disk.id, PLAN_DATASTORE)
    assert check.placement is Placement.WRONG_DATASTORE
    assert f"found in {OTHER_DATASTORE}, the plan names {PLAN_DATASTORE}" in check.describe()


def test_deletion_is_detected_and_a_disk_that_stays_times_out(session: Session, disks: list[Disk]) -> None:
    doomed = create_disk(session, "pvc-doomed", PLAN_DATASTORE, 16, TIMEOUT)
    staying = create_disk(session, "pvc-staying", PLAN_DATASTORE, 16, TIMEOUT)
    disks.extend([doomed, staying])
    delete_disk(session, doomed, TIMEOUT)
    wait_gone(session, doomed.id, TIMEOUT)
    assert find_disk(session, doomed.id) is None
    assert check_placement(session, doomed.id, PLAN_DATASTORE).placement is Placement.MISSING
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match=f"disk {staying.id} to be deleted"):
        wait_gone(session, staying.id, 1.0)
    assert time.monotonic() - started < 1.0 + TIMEOUT


def test_a_vsphere_volume_is_checked_against_its_plans_datastore(session: Session, disks: list[Disk]) -> None:
    disk = create_disk(session, "pvc-csi", PLAN_DATASTORE, 16, TIMEOUT)
    disks.append(disk)
    volume = {"metadata": {"name": "pvc-csi"}, "spec": {"csi": {"driver": CSI_DRIVER, "volumeHandle": disk.id}}}
    assert check_volume(session, volume, PLAN_DATASTORE).placement is Placement.IN_PLAN_DATASTORE
    assert check_volume(session, volume, OTHER_DATASTORE).placement is Placement.WRONG_DATASTORE
    with pytest.raises(CaasError, match="the plan names no datastore"):
        check_volume(session, volume, "")


def test_a_missing_disk_is_reported_clearly(session: Session) -> None:
    missing = str(uuid.uuid4())
    check = check_placement(session, missing, PLAN_DATASTORE)
    assert check.placement is Placement.MISSING
    assert check.disk is None
    assert check.describe() == f"disk {missing} is missing: no datastore of this vCenter holds it"


def test_an_unknown_datastore_names_the_ones_that_exist(session: Session) -> None:
    with pytest.raises(CaasError, match=f'datastore "nope" does not exist in this vCenter \\(one of: {PLAN_DATASTORE}'):
        create_disk(session, "pvc-x", "nope", 16, TIMEOUT)


def test_a_refused_login_is_a_configuration_error_without_the_password(simulator: Vcsim) -> None:
    with pytest.raises(VSphereLoginError) as refused, connect(_target(simulator, password="wrong-secret"), TIMEOUT):
        pass
    assert "wrong-secret" not in str(refused.value)
    assert simulator.username in str(refused.value)


def test_an_unreachable_vcenter_fails_within_the_timeout() -> None:
    with socket.socket() as listener:  # a port that accepts connections and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with (
            pytest.raises(VSphereError, match="did not answer"),
            connect(VCenter(f"http://127.0.0.1:{port}/sdk", "user", "pass"), timeout=1.0),
        ):
            pass
    assert time.monotonic() - started < 5.0


def test_leftovers_in_the_simulator_and_on_disk_are_detected(tmp_path: Path) -> None:
    """The teardown checks above can fail: a disk left in vcsim is listed, a file left on disk is reported."""
    vcsim = Vcsim.start(LabPaths(lab_home(dict(os.environ))).bin, tmp_path / "vcsim")
    try:
        with connect(_target(vcsim), TIMEOUT) as opened:
            disk = create_disk(opened, "pvc-left", PLAN_DATASTORE, 16, TIMEOUT)
            listed = {i.id for i in opened.disks.ListVStorageObject(datastores(opened)[PLAN_DATASTORE])}
            assert disk.id in listed
            assert any((tmp_path / "vcsim").rglob(f"{disk.id}*")), "the disk's file is on disk while vcsim runs"
            delete_disk(opened, disk, TIMEOUT)
        (tmp_path / "vcsim" / "stray").write_text("left behind")
    finally:
        with pytest.raises(InfrastructureError, match=r"vcsim left files in .*: stray"):
            vcsim.stop()
    assert vcsim.process.returncode is not None
    assert [p.name for p in (tmp_path / "vcsim").iterdir()] == ["stray"], "vcsim removed its own datastores"
