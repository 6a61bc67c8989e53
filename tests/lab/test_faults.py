"""Faults on a lab cluster while checks observe it: a node's kubelet stopped, the API server down and
back, an exec that hangs, a slow API that drops connections, a namespace stuck Terminating. Each is
bounded in time, turns the affected observations into ERROR (never a pass, never a denial), and the
same observation earns its verdict again once the fault is gone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.matrix import Cell, Matrix, apply_positive_control, compare
from checks.network.probe import ProbePod, Prober, deploy_probe_pods, pod_targets
from checks.network.reachability import Verdict, require
from checks.verdicts import Inconclusive
from harness.backends import backend_for
from harness.settings import Timeouts, build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.kube.pods import exec_in_pod, run_pod
from provisioning.lab import cluster, host, images
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.state import DaemonRecord
from provisioning.model.onboarding import labels
from provisioning.model.pods import restricted_container_security, restricted_pod_security
from provisioning.tenancy import ProvisionedTenancy, Provisioner
from tests.lab.conftest import existing_cluster_targets
from tests.lab.flaky_proxy import FlakyProxy
from tests.lab.inventory import suite_run_id
from tests.support import run_caas

pytestmark = pytest.mark.lab
NAME = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}t-fault"
BUDGET = 60.0  # no faulty observation may take longer than this


@pytest.fixture(scope="module")
def lab(lab_paths: LabPaths, timeouts: Timeouts) -> Iterator[LabCluster]:
    if lab_paths.cluster_dir(NAME).exists():
        cluster.down(lab_paths, NAME)
    lab = cluster.up(lab_paths, NAME, "pks", 1, timeouts.lab_ready)
    yield lab
    cluster.down(lab_paths, NAME)


def _targets_file(directory: Path, kubeconfig: str) -> Path:
    return existing_cluster_targets(directory, kubeconfig, ("fblue",))


@pytest.fixture(scope="module")
def tenancy(lab: LabCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProvisionedTenancy]:
    targets = _targets_file(tmp_path_factory.mktemp("faults"), lab.layout.kubeconfig(cluster.ADMIN))
    settings = build_settings(targets_path=targets, environment={}, run_id="faults")
    provisioner = Provisioner(backend_for(settings, "existing"), settings.run_id)
    yield provisioner.provision(settings.targets.model, "existing")
    provisioner.release()


@pytest.fixture(scope="module")
def pods(tenancy: ProvisionedTenancy, timeouts: Timeouts) -> list[ProbePod]:
    return deploy_probe_pods(tenancy, timeouts.pod_ready)


def _round(tenancy: ProvisionedTenancy, pods: list[ProbePod]) -> tuple[Verdict, float]:
    """One probe round inside the tenant (must be ALLOWED), timed."""
    source, target = pods
    columns = [t.column for t in pod_targets([target], protocols=("tcp",))]
    expected = Matrix.build([source.label], columns, {(source.label, c): Cell.ALLOWED for c in columns})
    started = time.monotonic()
    observation = Prober(tenancy, Timeouts().probe).observe([source], pod_targets([target], protocols=("tcp",)))
    seconds = time.monotonic() - started
    comparison = compare(expected, apply_positive_control(expected, observation.matrix))
    return Verdict(comparison, 1, seconds, observation.probes), seconds


def _daemon(lab: LabCluster, component: str) -> DaemonRecord:
    return next(d for d in lab.state.daemons if d.component == component)


def test_a_stopped_kubelet_turns_the_round_into_errors_then_recovers(
    lab: LabCluster, tenancy: ProvisionedTenancy, pods: list[ProbePod], timeouts: Timeouts
) -> None:
    healthy, _ = _round(tenancy, pods)
    require(healthy)  # positive control: the round passes before the fault
    kubelet = f"kubelet-{lab.layout.worker_nodes[0].name}"
    host.kill_all([_daemon(lab, kubelet).pid])
    try:
        faulty, seconds = _round(tenancy, pods)
        assert seconds < BUDGET
        assert set(faulty.comparison.observed.cells.values()) == {Cell.ERROR}, faulty.report()
        with pytest.raises(Inconclusive):
            require(faulty)
    finally:
        lab.restart(kubelet, timeouts.lab_ready)
    recovered = wait_until(
        lambda: _round(tenancy, pods)[0],
        lambda v: v.comparison.passed,
        timeout=timeouts.pod_ready,
        what="the probe round to pass again with the kubelet back",
    )
    require(recovered)


def test_the_api_server_down_mid_scenario_is_error_and_the_next_round_passes(
    lab: LabCluster, tenancy: ProvisionedTenancy, pods: list[ProbePod], timeouts: Timeouts
) -> None:
    entry = _daemon(lab, "kube-apiserver")
    host.kill_all([entry.pid])
    try:
        faulty, seconds = _round(tenancy, pods)
        assert seconds < BUDGET
        assert set(faulty.comparison.observed.cells.values()) == {Cell.ERROR}, faulty.report()
        with pytest.raises(Inconclusive):
            require(faulty)
    finally:
        lab.restart("kube-apiserver", timeouts.lab_ready)
    recovered = wait_until(
        lambda: _round(tenancy, pods)[0],
        lambda v: v.comparison.passed,
        timeout=timeouts.pod_ready,
        what="the probe round to pass again with the API server back",
        retry_on=(kube.ApiFailure,),
    )
    require(recovered)


def test_an_exec_that_hangs_ends_at_its_deadline(
    lab: LabCluster, tenancy: ProvisionedTenancy, timeouts: Timeouts
) -> None:
    api = tenancy.admin_client(tenancy.clusters[0])
    namespace = tenancy.tenants[0].namespace
    try:
        pod = {
            "metadata": {"name": "hang", "labels": labels("faults", "fblue")},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "securityContext": restricted_pod_security(with_group=False),
                "containers": [
                    {
                        "name": "c",
                        "image": images.BUSYBOX_IMAGE.reference,
                        "imagePullPolicy": "Never",
                        "command": ["sleep", "3600"],
                        "securityContext": restricted_container_security(read_only_root=False),
                    }
                ],
            },
        }
        run_pod(api, namespace, pod, timeouts.pod_ready)
        started = time.monotonic()
        with pytest.raises(kube.ApiFailure) as hung:
            exec_in_pod(api, namespace, "hang", ["sleep", "3600"], timeout=3)
        assert time.monotonic() - started < 15
        assert "did not finish within 3s" in hung.value.message
        assert exec_in_pod(api, namespace, "hang", ["true"], timeout=10).ok, "positive control"
    finally:
        api.close()


def test_a_slow_api_that_drops_connections_gives_errors_never_denials(lab: LabCluster, tmp_path: Path) -> None:
    address = lab.layout.control_plane.ip
    proxy = FlakyProxy((address, 6443), delay=0.5)
    kubeconfig = tmp_path / "flaky.kubeconfig"
    admin = Path(lab.layout.kubeconfig(cluster.ADMIN))
    kubeconfig.write_text(admin.read_text().replace(f"https://{address}:6443", f"https://127.0.0.1:{proxy.port}"))
    outcomes = []
    try:
        for _ in range(6):
            api = kube.from_kubeconfig(kubeconfig, timeout=5)
            started = time.monotonic()
            try:
                kube.call(api, "CoreV1Api", "list_namespaced_secret", "kube-system")
                outcomes.append(("answered", time.monotonic() - started))
            except kube.ApiFailure as exc:
                outcomes.append((f"failed {exc.status}", time.monotonic() - started))
            finally:
                api.close()
    finally:
        proxy.close()
    assert proxy.dropped >= 2
    answered = [s for o, s in outcomes if o == "answered"]
    failed = [o for o, _ in outcomes if o != "answered"]
    assert answered, outcomes  # slow but answered: the positive control
    assert all(s >= 0.5 for s in answered), outcomes
    assert failed, outcomes
    assert all(o == "failed 0" for o in failed), outcomes  # a transport error, never a 403
    assert all(s < 10 for _, s in outcomes), "every call ends within its timeout"


def test_clean_releases_a_namespace_stuck_terminating(lab: LabCluster, tmp_path: Path) -> None:
    kubeconfig = lab.layout.kubeconfig(cluster.ADMIN)
    targets = _targets_file(tmp_path, kubeconfig)
    api = kube.from_kubeconfig(Path(kubeconfig))
    try:
        namespace = {"metadata": {"name": "tenant-stuck", "labels": labels(suite_run_id("faults-stuck"), "stuck")}}
        kube.call(api, "CoreV1Api", "create_namespace", namespace)
        held = {"metadata": {"name": "held", "finalizers": ["caas-conformance.io/hold"]}, "data": {"k": "v"}}
        kube.call(api, "CoreV1Api", "create_namespaced_config_map", "tenant-stuck", held)
        started = time.monotonic()
        clean = run_caas("clean", "--run-id", suite_run_id("faults-stuck"), "--targets", str(targets), timeout=300)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "released finalizers of configmaps/held in tenant-stuck" in clean.stdout
        assert time.monotonic() - started < 120
        with pytest.raises(kube.ApiFailure) as gone:
            kube.call(api, "CoreV1Api", "read_namespace", "tenant-stuck")
        assert gone.value.status == 404
    finally:
        api.close()
