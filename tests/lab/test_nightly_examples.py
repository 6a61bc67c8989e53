"""The documented nightly pipelines (.ci/examples) pass as written: their scripts run against the lab,
two nights in a row, with what the pipeline's own steps provide (checkouts, the history store, the JUnit
publisher) stood in for here. Each night installs the suite and the Allure CLI as the example says,
exits 0 (every check meets the targets file's expectations), publishes a JUnit file, and the second
night's history (which the Allure report's trends read) holds the first night's results too.

The products the examples name are the lab's: tkgi its pks profile (the lab backend), cfcr-bosh a bare pks
cluster reached through the kubeconfig backend, pulling the suite's images from the lab registry. Installing
(pip from PyPI, npm) needs the registries; nightly, as each night is a whole run on two clusters."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.images import refs, skopeo
from provisioning.lab import cluster, registry
from provisioning.lab.cluster import LabPaths
from tests.lab.existing_runs import PRODUCT_FAILS
from tests.support import ROOT

# 52 min measured for both examples, two nights each (nights of 5-22 min on a shared 2-core machine): nightly
pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(7200)]
EXAMPLES = ROOT / ".ci" / "examples"
NIGHT_TIMEOUT = 3600

PLAN = "{name: small, pod_security: restricted}"


def _targets(kubeconfig: Path, lab_registry: registry.LabRegistry) -> str:
    """tkgi: the lab backend's pks; cfcr-bosh: a bare pks lab cluster through the kubeconfig backend, its
    images pulled from the lab registry (a name the lab backend could not give its clusters)."""
    images = (
        f'{{registry: "{registry.LOCATION}", pull_secret: {{file: {lab_registry.login_file}}}, '
        f"ca_file: {lab_registry.ca_file}}}"
    )
    return (
        "version: 1\n"
        "products:\n"
        "  - name: tkgi\n"
        "    backend: lab\n"
        "    lab: {profile: pks, nodes: 1}\n"
        f"    plans: [{PLAN}]\n"
        "  - name: cfcr-bosh\n"
        "    backend: kubeconfig\n"
        f"    kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}\n"
        f"    images: {images}\n"
        f"    plans: [{PLAN}]\n"
        "tenancy:\n"
        "  - product: tkgi\n"
        "    tenants: [{name: blue, plan: small}, {name: green, plan: small}]\n"
        "  - product: cfcr-bosh\n"
        "    tenants: [{name: blue, plan: small}, {name: green, plan: small}]\n"
        "expectations:\n"  # what the lab's pks fails whatever the onboarding (tests.lab.existing_runs)
        + "".join(
            f"  - {{product: {p}, check: {check}, status: fail, reason: {json.dumps(why)}}}\n"
            for p in ("tkgi", "cfcr-bosh")
            for check, why in PRODUCT_FAILS.items()
        )
    )


@pytest.fixture(scope="module")
def existing(lab_paths: LabPaths) -> Iterator[tuple[Path, registry.LabRegistry]]:
    """A bare pks lab cluster (its admin kubeconfig) and the lab registry holding the suite's images."""
    served = registry.up(lab_paths.home)
    for name, archive in refs.archives(lab_paths.images).items():
        tag = refs.SUITE_IMAGES[name].reference.rsplit(":", 1)[-1]
        destination = f"docker://{refs.repository(registry.LOCATION, name)}:{tag}"
        skopeo.copy(f"oci-archive:{archive}", destination, dest=skopeo.Access(served.login(), served.ca_file))
    name = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}nightly"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    lab = cluster.up(lab_paths, name, "pks", 1, 300, bare=True)
    try:
        yield lab.layout.kubeconfig(cluster.ADMIN), served
    finally:
        cluster.down(lab_paths, name)


def _workspace(base: Path, existing: tuple[Path, registry.LabRegistry]) -> Path:
    """The directories a pipeline's job starts with: the suite (a clone of this checkout's HEAD) and the
    targets repository; the suite's clone is made once and kept for the second night, as a runner's."""
    if not (base / "suite").exists():
        subprocess.run(["git", "clone", "-q", str(ROOT), str(base / "suite")], check=True, timeout=300)
    (base / "targets").mkdir(exist_ok=True)
    (base / "targets" / "targets.yaml").write_text(_targets(*existing))
    return base


def _environment(extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "CAAS_CLUSTER_PREFIX", "CAAS_LAB_HOME", "PIP_INDEX_URL", "npm_config_registry")
    return {**{k: v for k, v in os.environ.items() if k in keep or k.endswith("_proxy")}, **extra}


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euc", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=NIGHT_TIMEOUT, check=False
    )


def _junit(path: Path) -> int:
    """The number of test cases in a JUnit file (it must parse)."""
    return len(ET.parse(path).getroot().findall(".//testcase"))  # noqa: S314 (the run's own file)


def _runs_kept(directory: Path) -> dict[str, int]:
    """The runs each history file beside the runs holds (one line per run), by file name."""
    return {path.name: len(path.read_text().splitlines()) for path in sorted(directory.glob("*.jsonl"))}


# -- Concourse --------------------------------------------------------------------------------------
def _concourse_task() -> dict[str, Any]:
    pipeline = yaml.safe_load((EXAMPLES / "concourse-nightly.yml").read_text())
    steps = pipeline["jobs"][0]["plan"]
    task: dict[str, Any] = next(step for step in steps if "task" in step)
    return task


def _concourse_night(base: Path) -> subprocess.CompletedProcess[str]:
    """One night of the Concourse task: its script (apt-get stood in for: the host has Node and git),
    the history resource's last version as its input, and the put of history-out as its `ensure`."""
    task = _concourse_task()
    config = task["config"]
    script: str = config["run"]["args"][-1]
    assert "apt-get install" in script, "the task installs Node and npm"
    assert "nodejs npm" in script, "the task installs Node and npm"
    script = script.replace(script.splitlines()[1], ': "apt-get stood in for: the host has Node, npm and git"')
    for directory in ("reports", "history-out"):
        shutil.rmtree(base / directory, ignore_errors=True)
        (base / directory).mkdir()
    params = {k: str(v) for k, v in config["params"].items() if not str(v).startswith("((")}
    done = _bash(script, base / config["run"]["dir"], _environment(params))
    put = task["ensure"]["put"], task["ensure"]["params"]["repository"]
    assert put == ("history", "history-out")
    if (base / "history-out" / ".git").exists():  # the put: history-out's commit becomes the next input
        subprocess.run(["git", "-C", str(base / "history"), "pull", "-q", str(base / "history-out")], check=True)
    return done


def _git_log(repository: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repository), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout


def test_the_concourse_example_passes_two_nights_keeping_the_history(
    tmp_path_factory: pytest.TempPathFactory, existing: tuple[Path, registry.LabRegistry]
) -> None:
    base = _workspace(tmp_path_factory.mktemp("concourse"), existing)
    history = base / "history"
    history.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(history)], check=True)
    (history / "README").write_text("caas nightly history\n")
    git = ["git", "-C", str(history), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], check=True)
    nights = []
    for night in (1, 2):
        started = time.monotonic()
        done = _concourse_night(base)
        print(f"concourse night {night}: exit {done.returncode} in {time.monotonic() - started:.0f}s")
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        assert _junit(history / "junit" / "latest.xml") > 0, "the JUnit file is published"
        nights.append(_runs_kept(history))
    assert nights[0] == {"history.jsonl": 1, "trends.jsonl": 1}, nights
    assert nights[1] == {"history.jsonl": 2, "trends.jsonl": 2}, f"the second night keeps the first: {nights}"
    assert _git_log(history).count("nightly run nightly-") == 2


# -- GitHub Actions ---------------------------------------------------------------------------------
def _github_night(base: Path, cache: Path, run_number: int) -> subprocess.CompletedProcess[str]:
    """One night of the workflow's job: its `run` steps in order, in their working directories, with the
    job's environment; the actions' part stood in for (checkout: the workspace; setup-python/node: the
    host's; cache restore/save: `cache`; the JUnit publisher: the file must parse)."""
    workflow = yaml.safe_load((EXAMPLES / "github-actions-nightly.yml").read_text())
    job = workflow["jobs"]["conformance"]
    shutil.rmtree(base / "reports", ignore_errors=True)
    expressions = {"github.workspace": str(base), "github.run_id": str(run_number)}

    def expand(value: str) -> str:
        return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: expressions.get(m.group(1), ""), value)

    env = _environment({k: expand(str(v)) for k, v in job["env"].items()})
    expressions["env.CAAS_RUN_ID"] = env["CAAS_RUN_ID"]
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/setup-node@") for u in uses), "the job installs Node for the Allure step"
    failed: subprocess.CompletedProcess[str] | None = None
    for step in job["steps"]:
        action = step.get("uses", "")
        condition = step.get("if", "")
        if failed is not None and condition != "always()":
            continue
        if action.startswith("actions/cache/restore@"):
            assert step["with"]["path"] == "reports/*.jsonl"
            (base / "reports").mkdir(exist_ok=True)
            for kept in cache.glob("*.jsonl"):
                shutil.copy(kept, base / "reports")
        elif action.startswith("actions/cache/save@"):
            assert step["with"]["path"] == "reports/*.jsonl"
            shutil.rmtree(cache, ignore_errors=True)  # a new cache entry each night, holding what the run left
            cache.mkdir()
            for kept in (base / "reports").glob("*.jsonl"):
                shutil.copy(kept, cache)
        elif action.startswith("mikepenz/action-junit-report@"):
            junit = base / expand(step["with"]["report_paths"])
            if failed is not None and not junit.exists():
                return failed  # the publisher would fail too: the failed step says why
            assert _junit(junit) > 0, "the JUnit file is published"
        elif "run" in step:
            done = _bash(expand(step["run"]), base / step.get("working-directory", "."), env)
            if done.returncode != 0:
                failed = done
            last = done
    return failed or last


def test_the_github_actions_example_passes_two_nights_keeping_the_history(
    tmp_path_factory: pytest.TempPathFactory, existing: tuple[Path, registry.LabRegistry]
) -> None:
    base = _workspace(tmp_path_factory.mktemp("github"), existing)
    cache = base / "actions-cache"
    nights = []
    for night in (1, 2):
        started = time.monotonic()
        done = _github_night(base, cache, night)
        print(f"github-actions night {night}: exit {done.returncode} in {time.monotonic() - started:.0f}s")
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        nights.append(_runs_kept(cache))
    assert nights == [{"history.jsonl": 1, "trends.jsonl": 1}, {"history.jsonl": 2, "trends.jsonl": 2}], nights
