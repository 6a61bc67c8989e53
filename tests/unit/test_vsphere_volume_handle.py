"""Which first-class disk backs a Kubernetes volume (pure: no vCenter needed)."""

from __future__ import annotations

import pytest

from provisioning.errors import CaasError
from provisioning.vsphere.disks import CSI_DRIVER, volume_handle


def test_a_vsphere_csi_volume_names_its_disk() -> None:
    volume = {"metadata": {"name": "pvc-1"}, "spec": {"csi": {"driver": CSI_DRIVER, "volumeHandle": "a1b2-c3"}}}
    assert volume_handle(volume) == "a1b2-c3"


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"hostPath": {"path": "/x"}}, "no CSI driver"),
        ({"csi": {"driver": "hostpath.csi.k8s.io", "volumeHandle": "x"}}, "hostpath.csi.k8s.io"),
        ({"csi": {"driver": CSI_DRIVER}}, CSI_DRIVER),
    ],
)
def test_other_volumes_are_refused_with_one_clear_line(spec: dict[str, object], named: str) -> None:
    with pytest.raises(CaasError, match=f"volume pvc-2 is not a vSphere volume \\({named}") as refused:
        volume_handle({"metadata": {"name": "pvc-2"}, "spec": spec})
    assert "\n" not in str(refused.value)
