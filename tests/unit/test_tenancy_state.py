"""The provisioned tenancy an xdist controller hands its workers survives the round trip intact,
and the file that carries its credentials is private."""

from __future__ import annotations

import stat
from pathlib import Path

from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from provisioning.tenancy_state import read, write_private


def test_round_trip_keeps_clusters_tenants_and_every_kind_of_credential(tmp_path: Path) -> None:
    model = load_targets(DEFAULT_TARGETS).model
    product = model.product("pks")
    tenants = model.tenants["pks"]
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x/admin"), AuthorizationMode.RBAC, "lab"
    )
    credentials = {
        "blue-admin": Credential(cert_pem=b"CERT", key_pem=b"KEY"),
        "blue-viewer": Credential(token="t0ken"),
        "green-admin": Credential(kubeconfig=Path("/k"), context="green"),
        "green-viewer": Credential(impersonate=("green-viewer", ("green:viewers", "green:members"))),
    }
    tenancy = ProvisionedTenancy(product, "run-1", timings={"cluster pks-shared": 12.5})
    tenancy.clusters.append(ProvisionedCluster(handle, tenants[:2], credentials, {"total": 1.0}))
    path = tmp_path / "state.json"
    write_private(path, [tenancy])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = read(path, model)["pks"]
    assert back == tenancy
