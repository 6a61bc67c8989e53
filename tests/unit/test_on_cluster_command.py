"""`caas run --on-cluster`'s input is checked before anything is created: one error line, exit 2, no run
folder (harness/cli/on_cluster.py); a Job runs the local run's pytest options on its one product."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import on_cluster
from harness.cli.main import main
from provisioning.oncluster import bundle, manifests


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("caas: error:")]


def test_a_missing_management_kubeconfig_is_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--output", str(tmp_path / "out"), "--on-cluster", str(tmp_path / "nowhere")])
    assert code == 2
    errors = _errors(capsys)
    assert len(errors) == 1
    assert errors[0].startswith("caas: error: --on-cluster: ")
    assert "fix:" in errors[0]
    assert not (tmp_path / "out").exists()


def test_a_lab_product_is_refused_before_a_run_folder_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "management.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    code = main(
        [
            *("run", "--output", str(tmp_path / "out"), "--product", "pks"),
            *("--on-cluster", str(kubeconfig), "--runner-image", "caas.local/caas/runner:x"),
        ]
    )
    assert code == 2
    errors = _errors(capsys)
    assert len(errors) == 1
    assert ".backend: --on-cluster runs only products on the kubeconfig backend, not lab" in errors[0]
    assert not (tmp_path / "out").exists()


def test_a_job_runs_the_local_runs_pytest_options_on_its_product_with_the_secrets_targets() -> None:
    local = [
        *("/usr/bin/python", "-m", "pytest", "steps", "-p", "no:cacheprovider"),
        *("--targets=/home/u/targets.yaml", "--run-id=r1", "--alluredir=/tmp/run/allure-results"),
        *("--product=a", "--product=b", "-k", "check_rbac_001", "-x"),
    ]
    assert on_cluster.job_arguments(local, "b") == [
        manifests.RUN_DIR,
        "--",
        "steps",
        f"--targets={bundle.MOUNT}/{bundle.TARGETS_KEY}",
        "--product=b",
        *("-p", "no:cacheprovider", "--run-id=r1", "--alluredir=/tmp/run/allure-results", "-k", "check_rbac_001", "-x"),
    ]
