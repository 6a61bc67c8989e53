"""A run killed with SIGKILL part-way, then `caas clean --run-id`: nothing of the run is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.settings import Timeouts
from provisioning.wait import wait_until

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_mid_provisioning_then_clean_leaves_nothing(lab_paths: LabPaths, tmp_path: Path) -> None:
    before = host.inventory(lab_paths.home)
    run = subprocess.Popen(  # a whole `caas run`, in its own process group so the kill reaches pytest too
        [
            sys.executable,
            "-m",
            "provisioning.cli.main",
            "run",
            "--run-id",
            "killed",
            "--output",
            str(tmp_path),
            "-k",
            "provisioning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ready_clusters() -> list[str]:
        return [
            s["name"]
            for s in cluster.list_clusters(lab_paths)
            if s.get("run_id") == "killed" and s.get("status") == "ready"
        ]

    try:
        wait_until(ready_clusters, bool, timeout=Timeouts().lab_ready, what="the run's first cluster to be ready")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    assert [s for s in cluster.list_clusters(lab_paths) if s.get("run_id") == "killed"], "the kill left clusters"
    clean = subprocess.run(
        [sys.executable, "-m", "provisioning.cli.main", "clean", "--run-id", "killed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert clean.returncode == 0, clean.stderr
    assert not [s for s in cluster.list_clusters(lab_paths) if s.get("run_id") == "killed"]
    leaked = host.inventory(lab_paths.home).new_since(before)
    assert leaked.empty, leaked
