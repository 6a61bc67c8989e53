"""Which loop devices a lab cluster's teardown detaches (provisioning/lab/loops.py, issue 21)."""

from __future__ import annotations

from pathlib import Path

from provisioning.lab.loops import detach_under, to_detach

CLUSTER = Path("/lab/clusters/h9-pks")


def test_a_volume_device_goes_after_the_kubelets_lock_on_it() -> None:
    devices = [
        {"name": "/dev/loop1", "back-file": "/", "back-ino": 94, "back-maj:min": "   0:6  "},
        {
            "name": "/dev/loop0",
            "back-file": f"{CLUSTER}/volumes/pvc-1.img (deleted)",
            "back-ino": 7,
            "back-maj:min": "254:0",
        },
        {"name": "/dev/loop2", "back-file": "/other/cluster/volumes/pvc-2.img", "back-ino": 8, "back-maj:min": "254:0"},
        {"name": "/dev/loop3", "back-file": "/", "back-ino": 96, "back-maj:min": "0:6"},
    ]
    ids = {"/dev/loop0": (94, "0:6"), "/dev/loop2": (96, "0:6"), "/dev/loop1": (93, "0:6"), "/dev/loop3": (95, "0:6")}
    assert to_detach(devices, CLUSTER, ids) == ["/dev/loop1", "/dev/loop0"]


def test_a_cluster_whose_name_prefixes_another_takes_none_of_its_devices() -> None:
    devices = [
        {"name": "/dev/loop0", "back-file": f"{CLUSTER}-2/volumes/a.img", "back-ino": 7, "back-maj:min": "254:0"}
    ]
    assert to_detach(devices, CLUSTER, {"/dev/loop0": (94, "0:6")}) == []


def test_nothing_attached_under_a_directory_detaches_nothing(tmp_path: Path) -> None:
    assert detach_under(tmp_path / "no-such-cluster") == []
