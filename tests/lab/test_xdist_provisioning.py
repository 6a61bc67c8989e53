"""Under pytest-xdist the tenancy is provisioned once per session, by the controller, and every
worker's scenarios use those same clusters."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from tests.lab.inventory import cluster_prefix, suite_run_id
from tests.support import ROOT, run_caas

pytestmark = pytest.mark.lab
RUN_ID = suite_run_id("xdist-once")


def test_two_workers_share_one_provisioned_tenancy(lab_paths: LabPaths) -> None:
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "steps/test_provisioning.py",
                "steps/test_smoke.py",
                "-n",
                "2",
                "-v",
                "-p",
                "no:cacheprovider",
                "--product",
                "pks",
                "--run-id",
                RUN_ID,
                "--keep",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        workers = set(re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED steps/test_provisioning", result.stdout))
        assert workers == {"gw0", "gw1"}, f"both workers ran provisioning scenarios: {result.stdout[-2000:]}"
        clusters = sorted(s.name for s in cluster.list_clusters(lab_paths) if s.run_id == RUN_ID)
        prefix = cluster_prefix()
        assert clusters == [f"{prefix}pks-red", f"{prefix}pks-shared"], "exactly the model's clusters, created once"
    finally:
        run_caas("clean", "--run-id", RUN_ID, timeout=300)
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == RUN_ID]
