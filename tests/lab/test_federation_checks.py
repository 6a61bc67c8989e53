"""check_rbac_012 to check_rbac_015 (#24) as a run of the suite: `caas run --targets
tests/lab/data/targets_broker.yaml -k federation` on the lab passes (the lab's broker started if it is not
running, and left running as the lab registry is), with nothing left of the run's clusters; the example
targets file names no broker, so there the checks are n/a (tests/unit/test_federation_groups.py). That
check_rbac_012 fails when the API server's mapping drops the per-customer prefix is
tests/lab/test_identity_broker.py's mutation test.

Measured: 44 to 111 s for the whole run (two clusters, the shared one and red's dedicated one, started side
by side; the checks 20 to 30 s together with the broker running, set up once for all four)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from harness.settings import lab_home
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from tests.lab.inventory import suite_run_id
from tests.support import ROOT, run_caas

pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(1800)]
TARGETS = ROOT / "tests" / "lab" / "data" / "targets_broker.yaml"
RUN_ID = suite_run_id("federation")


def test_the_federation_checks_pass_on_the_lab_pks_with_its_broker(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_caas(
        *("run", "--targets", str(TARGETS), "-k", "federation", "--output", str(tmp_path), "--run-id", RUN_ID),
        timeout=1500,
    )
    print(f"caas run -k federation: {time.monotonic() - started:.0f}s")
    comparison = tmp_path / RUN_ID / "comparison.json"
    assert comparison.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row["check"]: row for row in json.loads(comparison.read_text())["checks"]}
    for check in ("check_rbac_012", "check_rbac_013", "check_rbac_014", "check_rbac_015"):
        assert rows[check]["products"]["pks"]["status"] == "pass", result.stdout[-3000:]
    assert result.returncode == 0, result.stdout[-3000:]
    assert not [c for c in cluster.list_clusters(LabPaths(lab_home(dict(os.environ)))) if c.run_id == RUN_ID]
