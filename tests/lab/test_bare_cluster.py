"""A cluster the suite did not build: a bare pks lab cluster (no suite image on its nodes), reached only
through the kubeconfig backend, its nodes pulling the suite's images from the lab registry with a pull
secret. Every check gives the verdict the `lab` backend gives on the same profile and targets; with a
wrong pull secret, or the registry stopped, every pod-based check is ERROR naming the kubelet's pull
failure (never a pass, never a denial) and the run leaves nothing behind. Prints the time of `caas
images push` and of the runs. Nightly: a whole run of both products, two runs of the pod-based checks.
The CI part, one run of the bare product alone against the lab backend's verdicts held in
tests/lab/expected_verdicts.py, is tests/lab/test_bare_parity.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.images.pull_secret import docker_config
from provisioning.kube import client as kube
from provisioning.lab import cluster, registry
from provisioning.lab.cluster import LabCluster, LabPaths
from tests.lab.inventory import cluster_prefix, suite_run_id
from tests.support import run_caas

pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(3600)]
PLANS = """\
      - name: small
        pod_security: restricted
        quota:
          hard: {pods: "10", requests.cpu: "1", requests.memory: 2Gi, requests.storage: 2Gi}
          default_requests: {cpu: 50m, memory: 64Mi}
          default_limits: {cpu: 250m, memory: 128Mi}
      - name: medium
        pod_security: baseline
        control_plane_egress: true
"""
# the checks whose verdict rests on pods the suite starts (probe pods, compliant pods and Deployments,
# storage pods): with no image to pull they can only be ERROR
POD_BASED = (
    "check_network_001",
    "check_network_003",
    "check_network_004",
    "check_network_005",
    "check_network_006",
    "check_network_007",
    "check_privileged_001",
    "check_privileged_003",
    "check_storage_002",
    "check_storage_003",
    "check_storage_004",
    "check_storage_006",
)
PULL_FAILURE = re.compile(r"(ErrImagePull|ImagePullBackOff)")


@dataclass(frozen=True)
class Run:
    code: int
    seconds: float
    statuses: dict[str, dict[str, str]]  # product -> check -> status
    messages: dict[str, str]  # check -> the messages of its scenarios (Allure statusDetails), one a line
    output: str


def caas_run(targets: Path, output: Path, run_id: str, *options: str) -> Run:
    started = time.monotonic()
    done = run_caas(
        *("run", "--targets", str(targets), "--output", str(output), "--run-id", run_id, *options), timeout=3600
    )
    seconds = time.monotonic() - started
    comparison = output / run_id / "comparison.json"
    assert comparison.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    statuses: dict[str, dict[str, str]] = {}
    for row in json.loads(comparison.read_text())["checks"]:
        for product, cell in row["products"].items():
            statuses.setdefault(product, {})[row["check"]] = cell["status"]
    messages: dict[str, str] = {}
    for result in (output / run_id / "allure-results").glob("*-result.json"):
        data = json.loads(result.read_text())
        for label in data.get("labels", []):
            if str(label.get("value", "")).startswith("check_"):
                message = (data.get("statusDetails") or {}).get("message", "")
                messages[label["value"]] = messages.get(label["value"], "") + message + "\n"
    return Run(done.returncode, seconds, statuses, messages, done.stdout + done.stderr)


def targets(directory: Path, kubeconfig: Path, login_file: Path, ca_file: Path) -> Path:
    """lab-pks (the lab backend, its own cluster) and bare-pks (the bare cluster through the kubeconfig
    backend, images from the lab registry): the same plans and tenancy."""
    path = directory / "targets.yaml"
    images = f'{{registry: "{registry.LOCATION}", pull_secret: {{file: {login_file}}}, ca_file: {ca_file}}}'
    path.write_text(
        "version: 1\n"
        "products:\n"
        "  - name: lab-pks\n"
        "    backend: lab\n"
        "    lab: {profile: pks, nodes: 1}\n"
        f"    plans:\n{PLANS}"
        "  - name: bare-pks\n"
        "    backend: kubeconfig\n"
        f"    kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}\n"
        f"    images: {images}\n"
        f"    plans:\n{PLANS}"
        "tenancy:\n"
        "  - product: lab-pks\n"
        "    tenants: [{name: blue, plan: small}, {name: green, plan: medium}]\n"
        "  - product: bare-pks\n"
        "    tenants: [{name: blue, plan: small}, {name: green, plan: medium}]\n"
    )
    return path


@dataclass(frozen=True)
class Runs:
    wrong_secret: Run
    registry_stopped: Run
    both: Run  # lab-pks and bare-pks side by side
    push_seconds: float


def _namespaces(lab: LabCluster, run_id: str) -> list[str]:
    api = kube.from_kubeconfig(lab.layout.kubeconfig(cluster.ADMIN))
    try:
        listed = kube.call(api, "CoreV1Api", "list_namespace", label_selector=f"caas-conformance.io/run-id={run_id}")
        return [n.metadata.name for n in listed.items]
    finally:
        api.close()


@pytest.fixture(scope="module")
def runs(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    served = registry.up(lab_paths.home)
    started = time.monotonic()
    pushed = run_caas(
        *("images", "push", "--registry", registry.LOCATION),
        *("--authfile", str(served.login_file), "--ca-file", str(served.ca_file)),
        timeout=300,
    )
    push_seconds = time.monotonic() - started
    assert pushed.returncode == 0, pushed.stderr
    name = f"{cluster_prefix()}bare"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    lab = cluster.up(lab_paths, name, "pks", 1, 300, bare=True)
    directory = tmp_path_factory.mktemp("bare")
    kubeconfig = lab.layout.kubeconfig(cluster.ADMIN)
    try:
        # first the failures, on nodes that have never pulled the images (nothing cached to fall back on)
        wrong = directory / "wrong.json"
        wrong.write_text(json.dumps(docker_config(registry.HOST, registry.USER, "not-the-password")))
        pod_based = " or ".join(POD_BASED)
        file = targets(directory, kubeconfig, wrong, served.ca_file)
        wrong_secret = caas_run(
            file, directory / "out", suite_run_id("wrong"), "--product", "bare-pks", "-k", pod_based
        )
        assert not _namespaces(lab, suite_run_id("wrong")), "the run leaves nothing behind"
        file = targets(directory, kubeconfig, served.login_file, served.ca_file)
        registry.down(lab_paths.home)
        try:
            stopped = caas_run(
                file, directory / "out", suite_run_id("stopped"), "--product", "bare-pks", "-k", pod_based
            )
        finally:
            registry.up(lab_paths.home)
        assert not _namespaces(lab, suite_run_id("stopped")), "the run leaves nothing behind"
        # both products in one run, side by side: the same outside client (the lab's) probes both
        both = caas_run(file, directory / "out", suite_run_id("both"))
        print(
            f"caas images push: {push_seconds:.1f}s; lab-pks (lab backend) beside bare-pks (kubeconfig backend, "
            f"images pulled from the lab registry) in one run: {both.seconds:.0f}s; pod-based checks only: "
            f"wrong pull secret {wrong_secret.seconds:.0f}s, registry stopped {stopped.seconds:.0f}s"
        )
        yield Runs(wrong_secret, stopped, both, push_seconds)
    finally:
        cluster.down(lab_paths, name)


def test_a_bare_cluster_gives_every_check_the_lab_backends_verdict(runs: Runs) -> None:
    lab, bare = runs.both.statuses["lab-pks"], runs.both.statuses["bare-pks"]
    differing = {check: (lab[check], bare.get(check)) for check in lab if lab[check] != bare.get(check)}
    assert not differing, differing
    assert set(bare) == set(lab)


@pytest.mark.parametrize("scenario", ["wrong_secret", "registry_stopped"])
def test_without_pullable_images_every_pod_based_check_is_error_naming_the_pull(runs: Runs, scenario: str) -> None:
    run: Run = getattr(runs, scenario)
    statuses = run.statuses["bare-pks"]
    for check in POD_BASED:
        message = run.messages.get(check, "")
        assert statuses[check] == "error", f"{check}: {statuses[check]}: {message[:600]}"
        assert PULL_FAILURE.search(message), f"{check} does not name the pull failure: {message[:600]}"
    assert run.code == 3, "ERROR verdicts end the run with exit code 3"
