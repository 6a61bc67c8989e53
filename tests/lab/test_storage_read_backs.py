"""Mutation test of the read-backs of check_storage_005 (observed once per plan and cluster): two tenants of
the pks lab's plan small (requests.storage 2Gi) on one shared cluster, onboarded by the suite, then the
ResourceQuota of the second patched to requests.storage 20Gi (tests/lab/storage_quota_patch.py, as the
cluster's admin, before the scenario). Its read-back against its plan-mate (the representative) must
differ, it must be observed in full itself (claims created in its own namespace), and the check must fail
on its own row: the claim just beyond the plan's storage quota is admitted there."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from bench.scale import EXAMPLE, scale_targets
from tests.lab.existing_runs import prefix
from tests.lab.storage_quota_patch import PATCHED_TENANT
from tests.support import ROOT, run_caas

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]
CHECK = "check_storage_005"


def _records(run_dir: Path) -> tuple[str, str]:
    """The run's text attachments, and its results' messages (Allure statusDetails), each joined."""
    results = run_dir / "allure-results"
    details = [json.loads(p.read_text()).get("statusDetails") or {} for p in results.glob("*-result.json")]
    attachments = [p.read_text(errors="replace") for p in results.glob("*-attachment.txt")]
    return "\n".join(attachments), "\n".join(d.get("message", "") for d in details)


def test_a_plan_mate_whose_storage_quota_differs_is_observed_in_full_and_fails(tmp_path: Path) -> None:
    targets = scale_targets(yaml.safe_load(EXAMPLE.read_text()), 1, 1)
    targets["tenancy"][0]["tenants"] = [{"name": "t001", "plan": "small"}, {"name": "t002", "plan": "small"}]
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(targets, sort_keys=False))
    env = {
        **os.environ,
        PATCHED_TENANT: "t002",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    run_id, out = f"{prefix()}storage-mates", tmp_path / "out"
    started = time.monotonic()
    done = run_caas(
        *("run", "--targets", str(path), "--output", str(out), "--run-id", run_id, "-k", CHECK),
        *("--", "-p", "tests.lab.storage_quota_patch"),
        env=env,
        timeout=600,
    )
    comparison = out / run_id / "comparison.json"
    assert comparison.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    statuses = {r["check"]: r["products"]["pks"]["status"] for r in json.loads(comparison.read_text())["checks"]}
    print(f"{CHECK} on two plan-mates, one storage quota patched: {time.monotonic() - started:.0f}s, {statuses}")
    records, messages = _records(out / run_id)
    assert "observed t001 (plan small), t002 (plan small); read back 1 tenants: 0 " in records, done.stdout[-3000:]
    assert "t002: observed in full (read back: t002 (plan small on" in records
    assert "hard requests.storage: representative 2Gi, tenant 20Gi" in records
    assert statuses.get(CHECK) == "fail", done.stdout[-3000:]
    # t002's own observation decided its row: a claim beyond the plan's 2Gi admitted in its namespace
    assert "t002 (as " not in messages, "not covered by its representative's row"
    assert "t002 / a claim beyond the storage quota: " in messages
    assert done.returncode == 1, "the run reports the failure"
