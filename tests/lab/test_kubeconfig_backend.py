"""The kubeconfig backend on a real cluster it did not create: onboarding, identities, release."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.backends import backend_for
from harness.errors import InfrastructureError
from harness.settings import build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster
from provisioning.lab.cluster import LabCluster
from provisioning.model.onboarding import PROTECTION, labels
from provisioning.tenancy import Provisioner
from tests.lab.conftest import existing_cluster_targets
from tests.support import run_caas

pytestmark = pytest.mark.lab


def _targets(tmp_path: Path, kubeconfig: Path) -> Path:
    return existing_cluster_targets(tmp_path, kubeconfig, ("blue", "green"))


def _policies(admin: object, run_id: str) -> list[str]:
    listed = kube.request(
        admin,
        "GET",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        query={"labelSelector": f"caas-conformance.io/run-id={run_id}"},
    )
    return [item["metadata"]["name"] for item in listed["items"]]


def test_onboards_on_an_existing_cluster_and_removes_only_what_it_created(
    lab_clusters: dict[str, LabCluster], tmp_path: Path
) -> None:
    lab = lab_clusters["pks"]
    admin_path = lab.layout.kubeconfig(cluster.ADMIN)
    settings = build_settings(targets_path=_targets(tmp_path, admin_path), environment={}, run_id="kcfg")
    provisioner = Provisioner(backend_for(settings, "existing"), settings.run_id)
    tenancy = provisioner.provision(settings.targets.model, "existing")
    admin = kube.from_kubeconfig(admin_path)
    try:
        labelled = kube.call(
            admin, "CoreV1Api", "list_namespace", label_selector="caas-conformance.io/run-id=kcfg"
        ).items
        assert sorted(n.metadata.name for n in labelled) == ["tenant-blue", "tenant-green"]
        assert _policies(admin, "kcfg") == [f"{PROTECTION}-kcfg"], "onboarding's objects are guarded"
        viewer = tenancy.client_for("blue-viewer")
        try:
            assert kube.call(viewer, "CoreV1Api", "list_namespaced_pod", "tenant-blue").items == []
            with pytest.raises(kube.ApiFailure) as denied:
                kube.call(viewer, "CoreV1Api", "list_namespaced_pod", "tenant-green")
            assert denied.value.status == 403
        finally:
            viewer.close()
        provisioner.release()

        def remaining() -> list[str]:
            return [
                n.metadata.name
                for n in kube.call(
                    admin, "CoreV1Api", "list_namespace", label_selector="caas-conformance.io/run-id=kcfg"
                ).items
            ]

        wait_until(remaining, lambda names: not names, timeout=120, what="the run's namespaces to be deleted")
        assert _policies(admin, "kcfg") == [], "the admission policy is released with the run"
        assert kube.call(admin, "CoreV1Api", "read_namespace", "kube-system"), "the cluster itself stays"
    finally:
        admin.close()


def test_an_unreachable_cluster_is_one_clear_error(lab_clusters: dict[str, LabCluster], tmp_path: Path) -> None:
    admin_path = lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)
    text = admin_path.read_text().replace(lab_clusters["pks"].layout.api_server_url, "https://127.0.0.1:1")
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text(text)
    settings = build_settings(targets_path=_targets(tmp_path, broken), environment={}, run_id="kcfg-down")
    with pytest.raises(InfrastructureError) as failure:
        Provisioner(backend_for(settings, "existing"), settings.run_id).provision(settings.targets.model, "existing")
    assert "is unreachable" in str(failure.value)
    assert "fix: check the kubeconfig's server address" in str(failure.value)


def test_clean_sweeps_what_a_crashed_run_left_on_an_existing_cluster(
    lab_clusters: dict[str, LabCluster], tmp_path: Path
) -> None:
    admin_path = lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)
    targets = _targets(tmp_path, admin_path)
    settings = build_settings(targets_path=targets, environment={}, run_id="kcfg-crashed")
    Provisioner(backend_for(settings, "existing"), "kcfg-crashed").provision(settings.targets.model, "existing")
    admin = kube.from_kubeconfig(admin_path)
    other = {"metadata": {"name": "tenant-kept", "labels": labels("kcfg-other", "kept")}}
    kube.call(admin, "CoreV1Api", "create_namespace", other)  # another run's, still in use

    def labelled(run_id: str) -> list[str]:
        selector = f"caas-conformance.io/run-id={run_id}"
        return [n.metadata.name for n in kube.call(admin, "CoreV1Api", "list_namespace", label_selector=selector).items]

    def clean(run_id: str) -> subprocess.CompletedProcess[str]:
        return run_caas("clean", "--run-id", run_id, "--targets", str(targets), timeout=120)

    try:
        assert sorted(labelled("kcfg-crashed")) == ["tenant-blue", "tenant-green"]
        swept = clean("kcfg-crashed")
        assert swept.returncode == 0, swept.stdout + swept.stderr
        assert "removed namespace tenant-blue of existing" in swept.stdout
        wait_until(lambda: labelled("kcfg-crashed"), lambda n: not n, timeout=120, what="the crashed run's namespaces")
        assert f"removed validatingadmissionpolicies/{PROTECTION}-kcfg-crashed of existing" in swept.stdout
        assert _policies(admin, "kcfg-crashed") == [], "the crashed run's admission policy is swept"
        assert labelled("kcfg-other") == ["tenant-kept"], "another run's objects stay"
    finally:
        clean("kcfg-other")
        wait_until(lambda: labelled("kcfg-other"), lambda n: not n, timeout=120, what="the other run's namespace")
        admin.close()
