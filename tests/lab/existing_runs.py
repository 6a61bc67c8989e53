"""`caas run` against a pks lab cluster treated as an existing cluster (the kubeconfig backend, tenant
identities impersonated), as a new user would run it: the targets file, the run, its verdicts and time,
and the suite's images taken off the node."""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.settings import Timeouts, lab_home
from provisioning.lab import cluster, host, images
from provisioning.lab.cluster import LabCluster, LabPaths
from tests.lab.inventory import cluster_prefix
from tests.support import run_caas

PRODUCT = "existing"
SMALLEST = "{name: smallest, pod_security: baseline}"  # no quota, no limits, no control-plane egress
RICHEST = (
    "{name: richest, pod_security: restricted, control_plane_egress: true, quota: {"
    'hard: {pods: "20", requests.cpu: "2", requests.memory: 4Gi, requests.storage: 2Gi, '
    'persistentvolumeclaims: "4", count/configmaps: "5", secrets: "5"}, default_requests: {cpu: 50m, memory: 64Mi}, '
    "default_limits: {cpu: 250m, memory: 128Mi}}}"
)
# What the lab's pks earns whatever the plan, the onboarding or the images on its nodes (no plan promises or
# withholds these fences), and why: these checks fail on it, and only these
PRODUCT_FAILS = {
    # no AlwaysPullImages: green's pods run blue's cached private image (test_private_images.py)
    "check_privileged_006": "green's pods run blue's cached private image",
    # no limitedResources for PriorityClass: tenants' pods of system-cluster-critical are admitted
    "check_privileged_008": "a tenant's pod of a system-critical priority class is admitted",
}
SUITE_IMAGES = (images.BUSYBOX_IMAGE, images.PROBE)  # the suite's own; the node's pause image stays


@contextlib.contextmanager
def pks_cluster(name: str) -> Iterator[LabCluster]:
    """A fresh one-node pks lab cluster named `<CAAS_CLUSTER_PREFIX><name>`, removed afterwards."""
    paths = LabPaths(lab_home(dict(os.environ)))
    full = f"{cluster_prefix()}{name}"
    if paths.cluster_dir(full).exists():
        cluster.down(paths, full)
    lab = cluster.up(paths, full, "pks", 1, Timeouts().lab_ready)
    try:
        yield lab
    finally:
        cluster.down(paths, full)


def targets(directory: Path, kubeconfig: Path, plans: tuple[str, ...], tenants: dict[str, str]) -> Path:
    """A targets file: product "existing" on the kubeconfig backend with `plans` (flow-style YAML) and
    `tenants` (name -> plan) on one shared cluster."""
    listed = ", ".join(f"{{name: {t}, plan: {p}}}" for t, p in tenants.items())
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: {PRODUCT}
            backend: kubeconfig
            kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}
            plans: [{", ".join(plans)}]
        tenancy:
          - product: {PRODUCT}
            tenants: [{listed}]
        """)
    )
    return path


@dataclass(frozen=True)
class Run:
    code: int
    seconds: float
    statuses: dict[str, str]  # check id -> pass, fail, error, skipped, unknown
    messages: dict[str, str]  # check id -> the result's message (Allure statusDetails), "" if none
    durations: dict[str, float]  # check id -> seconds its scenarios took (setup of shared fixtures aside)
    output: str

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for status in self.statuses.values():
            counted[status] = counted.get(status, 0) + 1
        return dict(sorted(counted.items()))


def caas_run(
    targets_path: Path,
    output: Path,
    run_id: str,
    timeout: float,
    checks: tuple[str, ...] = (),
    product: str = PRODUCT,
    inside: tuple[str, ...] = (),
) -> Run:
    """`caas run --targets ... --run-id ...` as a subprocess, timed, on `checks` only (their ids as a -k
    expression) or on every check, run through the command prefix `inside` (e.g. a lab outside client's);
    the verdicts of `product` read from comparison.json (the selected checks') and its messages from the
    Allure results."""
    selection = ["-k", " or ".join(checks)] if checks else []
    started = time.monotonic()
    done = run_caas(
        *("run", "--targets", str(targets_path), "--output", str(output), "--run-id", run_id, *selection),
        timeout=timeout,
        inside=inside,
    )
    seconds = time.monotonic() - started
    run_dir = output / run_id
    comparison = run_dir / "comparison.json"
    assert comparison.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(comparison.read_text())["checks"]
    statuses = {
        row["check"]: row["products"][product]["status"] for row in rows if not checks or row["check"] in checks
    }
    messages: dict[str, str] = {}
    durations: dict[str, float] = {}
    for result in (run_dir / "allure-results").glob("*-result.json"):
        data = json.loads(result.read_text())
        check = next((label["value"] for label in data.get("labels", []) if label["value"] in statuses), "")
        if check:
            message = (data.get("statusDetails") or {}).get("message", "")
            messages[check] = "\n".join(m for m in (messages.get(check, ""), message) if m)
            durations[check] = durations.get(check, 0.0) + (data.get("stop", 0) - data.get("start", 0)) / 1000
    return Run(done.returncode, seconds, statuses, messages, durations, done.stdout + done.stderr)


def remove_suite_images(lab: LabCluster) -> None:
    """Take the suite's images off every worker's containerd, as on a node that never had them: every
    reference to their manifests (the name and the runtime's image-ID reference)."""
    for node in lab.layout.worker_nodes:
        ctr = ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io", "images"]
        rows = [line.split() for line in host.run([*ctr, "ls"], timeout=60).splitlines()[1:] if line.strip()]
        digests = {row[2] for row in rows if row[0] in {i.reference for i in SUITE_IMAGES}}
        references = [row[0] for row in rows if row[2] in digests]
        host.run([*ctr, "rm", "--sync", *references], timeout=60)
        left = host.run([*ctr, "ls", "-q"], timeout=60).split()
        assert not set(references) & set(left), f"{node.name} still has {set(references) & set(left)}"
