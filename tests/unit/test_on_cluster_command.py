"""`caas run --on-cluster`'s input is checked before anything is created: one error line, exit 2, no run
folder (harness/cli/on_cluster.py); a Job runs the local run's pytest options on its one product."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.cli import on_cluster
from harness.cli.main import main
from harness.errors import ConfigError, SecretLeakError
from harness.oncluster import results
from harness.settings import DEFAULT_TARGETS, build_settings
from provisioning.kube import jobs
from provisioning.oncluster import bundle, manifests
from tests.support import existing_product_targets, offline_kubeconfig, run_caas


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


def test_a_job_that_found_a_secret_ends_the_run_with_exit_code_4_naming_its_product_and_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod_folder = tmp_path / "pod"
    (pod_folder / "allure-results").mkdir(parents=True)
    (pod_folder / "allure-results" / "clean-result.json").write_text("{}")
    logs = {
        manifests.namespace_name("r1", "clean"): results.pack(pod_folder, 0),
        manifests.namespace_name(
            "r1", "leaky"
        ): f"{results.LEAKS} count=2\n{results.LEAK} pytest.log:3: bearer token\n",
    }
    removed: list[list[str]] = []
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", lambda api, method, path: {})
    monkeypatch.setattr(jobs, "create", lambda api, objects: None)
    monkeypatch.setattr(jobs, "wait_done", lambda api, namespace, name, timeout: SimpleNamespace(pod="p"))
    monkeypatch.setattr(jobs, "pod_log", lambda api, namespace, pod, container: logs[namespace])
    monkeypatch.setattr(jobs, "namespaces_of_run", lambda api, run_id, component: sorted(logs))
    monkeypatch.setattr(jobs, "remove_namespaces", lambda api, names, timeout: removed.append(names))
    plan = on_cluster.Plan(tmp_path / "k", "image", {"clean": {}, "leaky": {}})
    settings: Any = SimpleNamespace(run_id="r1", keep=False, selected_products=("clean", "leaky"))
    run_dir = tmp_path / "run"
    said: list[str] = []
    with pytest.raises(SecretLeakError) as leaked:
        on_cluster.run_jobs(plan, settings, run_dir, ["python", "-m", "pytest", "steps"], said.append)
    assert leaked.value.exit_code == 4
    assert str(leaked.value).startswith("leaky: its Job found 2 secret(s) in its run folder and printed no results")
    assert "pytest.log:3: bearer token" in str(leaked.value)
    assert "clean" not in str(leaked.value)
    assert removed == [sorted(logs)]
    assert (run_dir / "allure-results" / "clean-result.json").exists()
    assert any(line.startswith("  clean: its Job ended after") and "pytest exit code 0" in line for line in said)


def test_every_refused_product_is_named_before_the_runner_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab example's products are all on the lab backend, and the lab home has no runner image: a line
    per product, and none about the image (fixing it would not make the run possible)."""
    monkeypatch.setenv("CAAS_LAB_HOME", str(tmp_path / "lab"))
    kubeconfig = tmp_path / "management.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    products = build_settings(targets_path=DEFAULT_TARGETS, environment={}, run_id="r1").selected_products
    assert len(products) > 1
    code = main(["run", "--output", str(tmp_path / "out"), "--on-cluster", str(kubeconfig)])
    errors = _errors(capsys)
    assert code == 2
    assert [e.split(": ")[3] for e in errors] == [f"products[{i}].backend" for i in range(len(products))], errors
    assert all("--on-cluster runs only products on the kubeconfig backend, not lab" in e for e in errors)
    assert not (tmp_path / "out").exists()


def test_a_product_kubeconfig_with_an_exec_user_is_refused_before_its_plugin_runs(tmp_path: Path) -> None:
    """The pre-flight reads each kubeconfig product's cluster, which runs an exec user's plugin (here one
    that fails, and logs `ERROR:root:exec: process returned 1`): --on-cluster refuses the user first."""
    product_kubeconfig = tmp_path / "product.kubeconfig"
    product_kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\n'
        "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: 'false'}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
    )
    targets = existing_product_targets(tmp_path, product_kubeconfig)
    management = offline_kubeconfig(tmp_path / "management.kubeconfig")
    done = run_caas(
        *("run", "--targets", str(targets), "--output", str(tmp_path / "out")),
        *("--on-cluster", str(management), "--runner-image", "caas.local/caas/runner:x"),
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f'caas: error: {targets}: {product_kubeconfig}: user "u" has `exec`, which a Job\'s pod cannot run or read '
        "(fix: a kubeconfig whose users hold a client certificate or a token, or run locally)"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("lab_management", [True, False])
def test_the_runner_image_built_here_is_the_default_only_for_a_lab_management_cluster(
    tmp_path: Path, lab_management: bool
) -> None:
    """`caas images build-runner`'s image is named caas.local/caas/runner:…, which only lab nodes that
    imported it hold: without --runner-image a management cluster that is no lab cluster is refused in one
    line naming the option and how to push the image; a lab cluster's kubeconfig takes the default."""
    from provisioning.oncluster import runner_image

    lab = tmp_path / "lab"
    (lab / "images").mkdir(parents=True)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    layer = tmp_path / "layer.tar"
    reference = runner_image.write_archive(
        layer, runner_image.write_layer(root, layer), on_cluster.default_archive(lab), "0.1.0+src.1"
    )
    folder = lab / "clusters" / "mgmt" / "kubeconfigs" if lab_management else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    management = offline_kubeconfig(folder / "admin.kubeconfig")
    targets = existing_product_targets(tmp_path, offline_kubeconfig(tmp_path / "product.kubeconfig"))
    settings = build_settings(targets_path=targets, environment={"CAAS_LAB_HOME": str(lab)}, run_id="r1")
    args = SimpleNamespace(on_cluster=str(management), runner_image="")
    if lab_management:
        assert on_cluster.prepare(args, settings).image == reference
    else:
        with pytest.raises(ConfigError, match=r"held only by lab nodes .*fix: push it, `skopeo copy oci-archive:"):
            on_cluster.prepare(args, settings)
