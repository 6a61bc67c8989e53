"""Faults at the level of a whole run: `caas run` of several checks on pks, one fault hitting the scenarios
of ONE check (`tests/lab/fault_injection.py`, loaded into the run's pytest). For each fault:

- the run ends within its budget;
- the affected check is ERROR, or the verdict it has without the fault if the suite legitimately
  recovered, never the opposite verdict;
- every other check has exactly the verdict it has without the fault (the products' defaults of
  `tests/lab/expected_verdicts.py`);
- the fault really hit (its log says what it did), and after `caas clean --run-id` nothing of the run is
  left on the host: no cluster, process, network namespace, link, mount, cgroup or host rule.

The API server restart runs in CI; the other faults nightly.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.wait import WaitTimeout, wait_until
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from tests.lab.expected_verdicts import EXPECTED
from tests.lab.inventory import leaked_since, run_cluster_indices, suite_run_id
from tests.support import run_caas, spawn_caas

pytestmark = pytest.mark.lab
PRODUCT = "pks"
CHECKS = (  # a small run: network, privileged, RBAC and provisioning checks, one of them failing on pks
    "check_provisioning_001",
    "check_network_005",
    "check_network_001",
    "check_privileged_001",
    "check_rbac_003",
    "check_rbac_001",
    "check_rbac_004",
)
RUN_BUDGET = 420.0  # fault-free: about 100 s on a warm, shared lab (2 clusters); faulty runs took 100-160 s
CLEAN_BUDGET = 300.0

# fault -> the check whose scenarios it hits
FAULTS = {
    "api-restart": "check_rbac_001",  # the whole RBAC matrix: about 25 s of requests
    "kubelet-stopped": "check_network_001",
    "hung-exec": "check_network_001",
    "probe-pod-killed": "check_network_005",
    "slow-api": "check_rbac_004",
    "stuck-namespace": "check_provisioning_001",
}
CI_FAULTS = ("api-restart",)


@dataclass(frozen=True)
class FaultyRun:
    exit_code: int
    seconds: float
    statuses: dict[str, str]
    fault_log: list[dict[str, Any]]
    output: str
    pytest_log: str

    def explained(self) -> str:
        """What to read when the run went wrong: the run's own output, then the end of its pytest log
        (the short summary names each check's error)."""
        return f"{self.output[-2000:]}\n--- the run's pytest log, its end:\n{self.pytest_log[-6000:]}"


def _statuses(comparison: Path) -> dict[str, str]:
    rows = json.loads(comparison.read_text())["checks"]
    return {row["check"]: row["products"][PRODUCT]["status"] for row in rows if PRODUCT in row["products"]}


def _caas(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return run_caas(*args, timeout=timeout)


def _run_with_fault(fault: str, check: str, lab_paths: LabPaths, tmp_path: Path) -> FaultyRun:
    """`caas run` of CHECKS on pks with `fault` in `check`'s scenarios, within RUN_BUDGET, then `caas clean`;
    asserts that nothing of the run is left."""
    run_id = suite_run_id(f"fault-{fault}")
    log = tmp_path / "fault.jsonl"
    before = host.inventory(lab_paths.home)
    plugin = ["-p", "tests.lab.fault_injection", f"--fault={fault}@{check}", f"--fault-log={log}"]
    addopts = " ".join([os.environ.get("PYTEST_ADDOPTS", ""), *(shlex.quote(a) for a in plugin)]).strip()
    env = {**os.environ, "PYTEST_ADDOPTS": addopts}
    started = time.monotonic()
    with (tmp_path / "caas-run.out").open("w") as out:
        run = spawn_caas(
            *("run", "--product", PRODUCT),
            *("-k", " or ".join(CHECKS), "--run-id", run_id, "--output", str(tmp_path)),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            new_session=True,  # its own process group: a run over budget is killed whole
        )
    indices: set[int] = set()

    def poll() -> int | None:
        indices.update(run_cluster_indices(lab_paths, run_id))
        return run.poll()

    try:
        code = wait_until(poll, lambda rc: rc is not None, timeout=RUN_BUDGET, what=f"the run with {fault} to end")
    except WaitTimeout:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        raise
    finally:
        seconds = time.monotonic() - started
        clean = _caas("clean", "--run-id", run_id, timeout=CLEAN_BUDGET)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == run_id], "no cluster is left"
        leaked = leaked_since(lab_paths, before, indices)
        assert leaked.empty, f"{fault}: the run and `caas clean` left {leaked}"
    output = (tmp_path / "caas-run.out").read_text()
    comparison = tmp_path / run_id / "comparison.json"
    assert comparison.exists(), output[-3000:]
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    pytest_log = tmp_path / run_id / "pytest.log"
    log_text = pytest_log.read_text(errors="replace") if pytest_log.exists() else f"(no {pytest_log})"
    return FaultyRun(code or 0, seconds, _statuses(comparison), events, output, log_text)


@pytest.mark.parametrize(
    "fault",
    [pytest.param(f, marks=() if f in CI_FAULTS else pytest.mark.nightly) for f in FAULTS],
)
def test_a_fault_in_one_check_leaves_the_others_verdicts_alone(fault: str, lab_paths: LabPaths, tmp_path: Path) -> None:
    check = FAULTS[fault]
    run = _run_with_fault(fault, check, lab_paths, tmp_path)
    print(f"{fault}@{check}: {run.seconds:.0f} s, exit code {run.exit_code}, verdicts {run.statuses}")
    for event in run.fault_log:
        print(f"  {event}")

    started = [e for e in run.fault_log if e["event"] == "started"]
    healed = [e for e in run.fault_log if e["event"] == "healed"]
    assert started, f"the fault never started: {run.explained()}"
    if fault == "api-restart":
        assert any(e["details"]["killed"] for e in healed), "the API server went down during the observation"
    assert len(healed) == len(started), f"every fault is healed before the next scenario: {run.fault_log}"
    assert run.seconds < RUN_BUDGET

    without_fault = EXPECTED[(check, PRODUCT)]
    assert run.statuses[check] in ("error", without_fault), (
        f"{check} under {fault} is {run.statuses[check]}: only error or its verdict without the fault "
        f"({without_fault}) are right"
    )
    others = {c: run.statuses.get(c, "missing") for c in CHECKS if c != check}
    assert others == {c: EXPECTED[(c, PRODUCT)] for c in CHECKS if c != check}, (
        f"the other checks keep their verdicts: {run.explained()}"
    )
    expected_code = 3 if run.statuses[check] == "error" else 0
    assert run.exit_code == expected_code, run.explained()
