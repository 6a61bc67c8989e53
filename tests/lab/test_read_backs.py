"""Mutation test of the read-backs of the checks observed once per plan and cluster (check_privileged_005,
check_storage_005): two tenants of the pks lab's plan small on one shared cluster, onboarded by the suite,
then the ResourceQuota of the second patched to requests.cpu 2 and requests.storage 20Gi where the plan says
1 and 2Gi (tests/lab/plan_mate_quota_patch.py, as the cluster's admin, before each scenario). In each check
its read-back against its plan-mate (the representative) must differ, it must be observed in full itself,
and the check must fail on its own observation, not be covered by its representative's green verdict."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from bench.scale import EXAMPLE, scale_targets
from tests.lab.inventory import suite_run_id
from tests.lab.plan_mate_quota_patch import PATCHED_TENANT
from tests.support import ROOT, run_caas

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]
PRIVILEGED, STORAGE = "check_privileged_005", "check_storage_005"


def _records(run_dir: Path) -> tuple[str, str]:
    """The run's text attachments, and its results' messages (Allure statusDetails), each joined."""
    results = run_dir / "allure-results"
    details = [json.loads(p.read_text()).get("statusDetails") or {} for p in results.glob("*-result.json")]
    attachments = [p.read_text(errors="replace") for p in results.glob("*-attachment.txt")]
    return "\n".join(attachments), "\n".join(d.get("message", "") for d in details)


def test_a_plan_mate_whose_quota_differs_is_observed_in_full_and_fails(tmp_path: Path) -> None:
    targets = scale_targets(yaml.safe_load(EXAMPLE.read_text()), 1, 1)
    targets["tenancy"][0]["tenants"] = [{"name": "t001", "plan": "small"}, {"name": "t002", "plan": "small"}]
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(targets, sort_keys=False))
    env = {
        **os.environ,
        PATCHED_TENANT: "t002",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    run_id, out = suite_run_id("plan-mates"), tmp_path / "out"
    started = time.monotonic()
    done = run_caas(
        *("run", "--targets", str(path), "--output", str(out), "--run-id", run_id),
        *("-k", f"{PRIVILEGED} or {STORAGE}", "--", "-p", "tests.lab.plan_mate_quota_patch"),
        env=env,
        timeout=600,
    )
    comparison = out / run_id / "comparison.json"
    assert comparison.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    statuses = {r["check"]: r["products"]["pks"]["status"] for r in json.loads(comparison.read_text())["checks"]}
    print(f"two plan-mates, one quota patched: {time.monotonic() - started:.0f}s, {statuses}")
    records, messages = _records(out / run_id)
    assert statuses.get(PRIVILEGED) == "fail", done.stdout[-3000:]
    assert statuses.get(STORAGE) == "fail", done.stdout[-3000:]
    assert "t002: observed in full (read back: t002 (plan small on" in records, done.stdout[-3000:]
    # privileged: t002's own observation decided its row (the plan's quota against its namespace's)
    assert "hard requests.cpu: representative 1, tenant 2" in records
    assert re.search(
        r"t002 on plan small:\n(  ok: .*\n)*  DIFFERS: quota requests.cpu: plan 1, namespace 2\n", messages
    )
    assert "as t001: quota requests.cpu" not in records
    # storage: observed t002 itself, and a claim beyond the plan's 2Gi was admitted in its namespace
    assert "observed t001 (plan small), t002 (plan small); read back 1 tenants: 0 " in records
    assert "hard requests.storage: representative 2Gi, tenant 20Gi" in records
    assert "t002 / a claim beyond the storage quota: " in messages
    assert "t002 (as " not in messages, "not covered by its representative's row"
    assert done.returncode == 1, "the run reports the failures"
