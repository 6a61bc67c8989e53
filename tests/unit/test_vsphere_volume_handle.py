"""Which first-class disk backs a Kubernetes volume (pure: no vCenter needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import CaasError
from harness.targets import load_targets
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


def test_a_plans_datastore_reaches_the_model(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\n"
        "products:\n"
        "  - name: vs\n"
        "    backend: lab\n"
        "    plans: [{name: small, datastore: vsanDatastore}, {name: plain}]\n"
        "tenancy: [{product: vs, tenants: [{name: blue, plan: small}]}]\n"
    )
    product = load_targets(targets).model.product("vs")
    assert product.plan("small").datastore == "vsanDatastore"
    assert product.plan("plain").datastore == ""
