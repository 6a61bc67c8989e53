"""A run killed with SIGKILL part-way, then `caas clean --run-id`: nothing of the run is left."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

from harness.settings import Timeouts
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from tests.lab.inventory import leaked_since, run_cluster_indices, suite_run_id
from tests.support import run_caas, spawn_caas

pytestmark = pytest.mark.lab


def test_sigkill_mid_provisioning_then_clean_leaves_nothing(lab_paths: LabPaths, tmp_path: Path) -> None:
    run_id = suite_run_id("killed")  # another suite on the same lab runs this test under its own run id
    before = host.inventory(lab_paths.home)
    indices: set[int] = set()
    # a whole `caas run`, in its own process group so the kill reaches pytest too
    run = spawn_caas("run", "--run-id", run_id, "--output", str(tmp_path), "-k", "provisioning", new_session=True)

    def ready_clusters() -> list[str]:
        indices.update(run_cluster_indices(lab_paths, run_id))
        return [s.name for s in cluster.list_clusters(lab_paths) if s.run_id == run_id and s.status == "ready"]

    try:
        wait_until(ready_clusters, bool, timeout=Timeouts().lab_ready, what="the run's first cluster to be ready")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    assert [s for s in cluster.list_clusters(lab_paths) if s.run_id == run_id], "the kill left clusters"
    indices.update(run_cluster_indices(lab_paths, run_id))
    clean = run_caas("clean", "--run-id", run_id, timeout=300)
    assert clean.returncode == 0, clean.stderr
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == run_id]
    leaked = leaked_since(lab_paths, before, indices)
    assert leaked.empty, leaked


# --- SIGKILL at random points of a whole run (provisioning, probing, teardown), then `caas clean` ---------

POINTS = ("a scenario has finished", "the scenarios are over", "a cluster is ready", "a tenant is onboarded")
# every point once (the first two also in CI), then six more drawn at random (seeded: reproducible)
RANDOM_KILLS = [
    (point, n)
    for n, point in enumerate([*POINTS, *random.Random(20261126).choices(POINTS, k=6)])  # noqa: S311
]


def _kill_point_reached(point: str, paths: LabPaths, run_id: str, log: Path, after_tests: int) -> bool:
    states = [s for s in cluster.list_clusters(paths) if s.run_id == run_id]
    text = log.read_text() if log.exists() else ""
    if point == "a cluster is ready":
        return any(s.status == "ready" for s in states)
    if point == "a tenant is onboarded":
        return any(_has_tenant_namespace(paths, s.name, run_id) for s in states if s.status == "ready")
    if point == "a scenario has finished":
        return text.count(" PASSED") + text.count(" FAILED") + text.count(" SKIPPED") > after_tests
    return " passed" in text or " failed" in text  # pytest's closing line: teardown and reports follow


def _has_tenant_namespace(paths: LabPaths, name: str, run_id: str) -> bool:
    try:
        api = kube.from_kubeconfig(paths.cluster_dir(name) / "kubeconfigs" / "admin.kubeconfig", timeout=5)
    except Exception:  # the run may be removing the cluster right now
        return False
    try:
        selector = f"caas-conformance.io/run-id={run_id}"
        return bool(kube.call(api, "CoreV1Api", "list_namespace", label_selector=selector).items)
    except kube.ApiFailure:
        return False
    finally:
        api.close()


@pytest.mark.parametrize(
    ("point", "seed"),
    [pytest.param(p, n, marks=() if n < 2 else pytest.mark.nightly) for p, n in RANDOM_KILLS],
    ids=[f"{n}-{p.replace(' ', '-')}" for p, n in RANDOM_KILLS],
)
def test_sigkill_at_a_random_point_then_clean_leaves_nothing(
    point: str, seed: int, lab_paths: LabPaths, tmp_path: Path
) -> None:
    run_id = suite_run_id(f"killed-{seed}")
    before = host.inventory(lab_paths.home)
    indices: set[int] = set()

    def reached() -> bool:
        indices.update(run_cluster_indices(lab_paths, run_id))
        return _kill_point_reached(point, lab_paths, run_id, log, after_tests) or run.poll() is not None

    run = spawn_caas(
        *("run", "--run-id", run_id, "--output", str(tmp_path), "--product", "pks", "-k", "provisioning or network"),
        new_session=True,
    )
    log = tmp_path / run_id / "pytest.log"
    after_tests = random.Random(seed).randrange(1, 6)  # noqa: S311 - a kill point, not a secret
    try:
        wait_until(
            reached,
            bool,
            timeout=900,
            what=f"the run to reach the kill point: {point}",
        )
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    indices.update(run_cluster_indices(lab_paths, run_id))
    clean = run_caas("clean", "--run-id", run_id, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == run_id]
    leaked = leaked_since(lab_paths, before, indices)
    assert leaked.empty, f"killed when {point}: {leaked}"
