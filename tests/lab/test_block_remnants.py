"""The raw-device remnant engine (checks/storage/block_remnants.py) against the lab's provisioner on a
`pks` lab cluster (issue 21, storage identity).

The lab's provisioner hands out Block claims as loop devices over fresh sparse files: tenant B's new
Block claim must not show tenant A's marker, and the engine passes. Its test double, a second class
with `caas.local/test-double: reuse-unwiped` made only here, hands A's backing file to B unwiped: the
engine must fail on the NO_REMNANT cell with both positive controls holding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.matrix import Cell
from checks.storage import block_remnants
from checks.storage.volumes import Workspace, workspace
from checks.verdicts import requirement_comparison
from harness.backends import backend_for
from harness.settings import Timeouts, build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster, configs
from provisioning.lab.addons import LAB_LABEL, STORAGE_CLASS
from provisioning.lab.cluster import LabCluster
from provisioning.tenancy import ProvisionedTenancy, Provisioner
from tests.lab.conftest import existing_cluster_targets

pytestmark = pytest.mark.lab
TENANTS = ("bred", "bblue")
CARELESS_CLASS = "lab-careless-block"


@pytest.fixture(scope="module")
def tenancy(
    lab_clusters: dict[str, LabCluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProvisionedTenancy]:
    admin = lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)
    targets = existing_cluster_targets(tmp_path_factory.mktemp("block"), admin, TENANTS)
    run_settings = build_settings(targets_path=targets, environment={}, run_id="block")
    provisioner = Provisioner(backend_for(run_settings, "existing"), run_settings.run_id)
    yield provisioner.provision(run_settings.targets.model, "existing")
    provisioner.release()


@pytest.fixture(scope="module")
def careless_class(lab_clusters: dict[str, LabCluster]) -> Iterator[str]:
    """The test double's StorageClass: the lab's provisioner, reusing deleted Block volumes' files unwiped."""
    api = kube.from_kubeconfig(Path(lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)))
    body = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": CARELESS_CLASS, "labels": {LAB_LABEL: "test-double"}},
        "provisioner": configs.PROVISIONER_NAME,
        "parameters": {"caas.local/test-double": "reuse-unwiped"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    kube.request(api, "POST", "/apis/storage.k8s.io/v1/storageclasses", body=body)
    try:
        yield CARELESS_CLASS
    finally:
        kube.request(api, "DELETE", f"/apis/storage.k8s.io/v1/storageclasses/{CARELESS_CLASS}")
        api.close()


def _volumes_of(api: object, namespaces: set[str]) -> list[str]:
    volumes = kube.call(api, "CoreV1Api", "list_persistent_volume").items
    return [v.metadata.name for v in volumes if v.spec.claim_ref and v.spec.claim_ref.namespace in namespaces]


@pytest.fixture
def ws(tenancy: ProvisionedTenancy) -> Iterator[Workspace]:
    """A workspace whose claims' volumes are gone when the test ends: the provisioner has detached their
    loop devices before the cluster goes down (a device left attached outlives the cluster)."""
    with workspace(tenancy, Timeouts().pod_ready, keep=False) as made:
        yield made
    namespaces = {tenancy.tenant(t).namespace for t in TENANTS}
    api = tenancy.admin_client(tenancy.clusters[0])
    try:
        wait_until(
            lambda: _volumes_of(api, namespaces),
            lambda left: not left,
            timeout=Timeouts().pod_ready,
            what=f"the volumes of {sorted(namespaces)} to be deleted",
            retry_on=(kube.ApiFailure,),
        )
    finally:
        api.close()


def _remnant_cells(ws: Workspace, storage_class: str) -> tuple[str, dict[str, Cell], str]:
    timeout = Timeouts().pod_ready
    written = block_remnants.claim_and_mark(ws, TENANTS[0], storage_class, timeout)
    block_remnants.delete_device(ws, written, timeout)
    table = block_remnants.remnant_row(ws, written, TENANTS[1], timeout)
    comparison = requirement_comparison(table, block_remnants.controls(table.rows[0]))
    row = table.rows[0]
    cells = {column: comparison.observed[row, column] for column in table.columns}
    return row, cells, comparison.render() + "\n" + str(table.evidence)


def test_the_lab_provisioner_hands_the_next_block_claim_no_remnant(ws: Workspace) -> None:
    _, cells, text = _remnant_cells(ws, STORAGE_CLASS)
    assert cells == {
        block_remnants.OWN_MARKER: Cell.ALLOWED,
        block_remnants.READ_WORKED: Cell.ALLOWED,
        block_remnants.NO_REMNANT: Cell.ALLOWED,
    }, text


def test_a_provisioner_reusing_an_unwiped_backing_file_is_caught(ws: Workspace, careless_class: str) -> None:
    _, cells, text = _remnant_cells(ws, careless_class)
    assert cells == {
        block_remnants.OWN_MARKER: Cell.ALLOWED,
        block_remnants.READ_WORKED: Cell.ALLOWED,
        block_remnants.NO_REMNANT: Cell.DENIED,
    }, text
