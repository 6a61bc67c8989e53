"""A probe pod killed while its probes run: every cell of that round is ERROR, and nothing passes.
A probe that could not finish is never counted as a denial."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.matrix import Cell, Matrix, apply_positive_control, compare
from checks.network.probe import Observation, ProbePod, Prober, Target, probe_pod_manifest
from harness.settings import Timeouts
from harness.wait import wait_until
from provisioning.backends.protocol import ClusterHandle
from provisioning.kube import client as kube
from provisioning.kube.pods import create_pod, delete_pod, wait_running
from provisioning.lab import cluster
from provisioning.lab.cluster import LabCluster
from provisioning.lab.layout import BRIDGE_ADDRESS
from provisioning.model.onboarding import labels
from provisioning.model.tenancy import Plan, Product, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

pytestmark = pytest.mark.lab
TENANT = "fault"


@pytest.fixture
def tenancy(lab_clusters: dict[str, LabCluster]) -> Iterator[ProvisionedTenancy]:
    """The cfcr lab cluster as a one-tenant tenancy (cfcr: its pods may reach this machine)."""
    lab = lab_clusters["cfcr"]
    handle = ClusterHandle(
        lab.layout.name,
        "cfcr",
        lab.layout.api_server_url,
        (lab.layout.pki / "ca.crt").read_bytes(),
        Path(lab.layout.kubeconfig(cluster.ADMIN)),
        lab.profile.authorization,
        "lab",
    )
    tenant = Tenant(TENANT, "default")
    provisioned = ProvisionedTenancy(Product("cfcr", "lab", (Plan("default"),)), "probe-fault")
    provisioned.clusters.append(ProvisionedCluster(handle, (tenant,)))
    admin = provisioned.admin_client(provisioned.clusters[0])
    namespace = {"metadata": {"name": tenant.namespace, "labels": labels("probe-fault", TENANT)}}
    kube.call(admin, "CoreV1Api", "create_namespace", namespace)
    try:
        yield provisioned
    finally:
        kube.call(admin, "CoreV1Api", "delete_namespace", tenant.namespace)
        admin.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on this machine, on the lab bridge: its accepts show that a probe round is running."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((BRIDGE_ADDRESS, 0))
    server.listen(8)
    yield server
    server.close()


def test_killing_the_source_pod_mid_round_turns_its_cells_into_errors(
    tenancy: ProvisionedTenancy, listener: socket.socket, timeouts: Timeouts
) -> None:
    namespace = tenancy.clusters[0].tenants[0].namespace
    admin: Any = tenancy.admin_client(tenancy.clusters[0])
    try:
        for app in ("a", "b"):
            create_pod(admin, namespace, probe_pod_manifest(TENANT, app, tenancy.run_id))
        pods = {app: wait_running(admin, namespace, f"probe-{app}", timeouts.pod_ready) for app in ("a", "b")}
        source = ProbePod(TENANT, tenancy.clusters[0].handle.name, namespace, "probe-a", "a", pods["a"].status.pod_ip)
        port = listener.getsockname()[1]
        targets = [
            Target("machine", BRIDGE_ADDRESS, port, "tcp"),  # answers at once: the round has begun
            Target("b:8080/tcp", pods["b"].status.pod_ip, 8080, "tcp"),
            *(Target(f"silent-{i}/tcp", "10.213.254.254", 9000 + i, "tcp") for i in range(4)),  # hang until timeout
        ]
        prober = Prober(tenancy, probe_timeout=15.0)

        # Positive control: the same round, undisturbed, observes every target.
        undisturbed = prober.observe([source], targets[:2])
        assert undisturbed.matrix["fault/a", "b:8080/tcp"] is Cell.ALLOWED
        listener.accept()[0].close()

        result: list[Observation] = []
        round_thread = threading.Thread(target=lambda: result.append(prober.observe([source], targets)))
        round_thread.start()
        wait_until(
            lambda: select.select([listener], [], [], 0)[0],
            bool,
            timeout=30,
            what="the probe round to reach this machine",
        )
        delete_pod(admin, namespace, "probe-a", timeouts.pod_ready)
        round_thread.join(timeout=60)
        assert not round_thread.is_alive(), "the round ended although its source pod was killed"
    finally:
        admin.close()
    observed = result[0].matrix
    assert {observed["fault/a", t.column] for t in targets} == {Cell.ERROR}, observed.render()
    expected = Matrix.build(
        ["fault/a"],
        [t.column for t in targets],
        {("fault/a", t.column): Cell.ALLOWED if i < 2 else Cell.DENIED for i, t in enumerate(targets)},
    )
    comparison = compare(expected, apply_positive_control(expected, observed))
    assert not comparison.passed
    assert len(comparison.incomplete) == len(targets)
