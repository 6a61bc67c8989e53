"""Plain pytest honours the targets file's expectations, with `caas run`'s verdicts and exit code rule, on
the lab: cfcr's check_network_001 (flannel does not enforce NetworkPolicy), which the example targets file
expects to fail.

- `pytest steps -k "network and check_network_001" --product cfcr` exits 0, the scenario XFAIL with
  the targets file's reason;
- with a copy of the targets file without that expectation it exits 1, naming the check;
- `caas run` with the same selection gives the same verdict (FAIL, expected) and the same exit code.

Each run provisions cfcr's shared cluster (two tenants; the onboarding alone takes about 27 s, ABAC
restarts the API server) and runs check_network_001's two scenarios. Measured on the 2-core machine shared
with other suites (load 5-7): plain pytest 95 s, without the expectation 109 s, `caas run` 162 s (with
its Allure report). Only the first runs on every CI run: the second is a plain failure, which
tests/unit/test_expectation_marks.py covers without a cluster, and test_verdicts.py's `caas run` of
everything asserts cfcr's check_network_001 FAIL (expected) and exit code 0 on every CI run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.settings import DEFAULT_TARGETS
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from tests.lab.inventory import suite_run_id
from tests.support import ROOT, run_caas

pytestmark = pytest.mark.lab
CHECK, PRODUCT = "check_network_001", "cfcr"
SELECTION = ("-k", f"network and {CHECK}", "--product", PRODUCT)
SCENARIO = "steps/test_network.py::test_podtopod_traffic_stays_inside_each_tenant_over_tcp_and_udp_in_both_directions"
RUN_BUDGET = 600.0  # one run: about 60 s when the lab is not busy


def _reason(targets: Path) -> str:
    expectations = yaml.safe_load(targets.read_text())["expectations"]
    return next(e["reason"] for e in expectations if (e["check"], e["product"]) == (CHECK, PRODUCT))


def _without_the_expectation(directory: Path) -> Path:
    spec = yaml.safe_load(DEFAULT_TARGETS.read_text())
    spec["expectations"] = [e for e in spec["expectations"] if (e["check"], e["product"]) != (CHECK, PRODUCT)]
    copy = directory / "targets-without-net-001.yaml"
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    return copy


def _run(command: list[str], run_id: str, lab_paths: LabPaths) -> subprocess.CompletedProcess[str]:
    """One run with its own run id (`command` pytest's argv, or ["caas", <caas args>]); whatever it leaves
    (it should leave nothing) is cleaned after."""
    run_id = suite_run_id(run_id)
    try:
        if command[0] == "caas":
            return run_caas(*command[1:], "--run-id", run_id, timeout=RUN_BUDGET)
        return subprocess.run(
            [*command, "--run-id", run_id], cwd=ROOT, capture_output=True, text=True, timeout=RUN_BUDGET, check=False
        )
    finally:
        run_caas("clean", "--run-id", run_id, timeout=300)
        assert not [c for c in cluster.list_clusters(lab_paths) if c.run_id == run_id], "nothing is left"


def _pytest(targets: Path, run_id: str, lab_paths: LabPaths) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "steps", *SELECTION, f"--targets={targets}", "-p", "no:cacheprovider"]
    return _run(command, run_id, lab_paths)


def test_plain_pytest_shows_the_expected_failure_as_xfail_and_passes(lab_paths: LabPaths) -> None:
    done = _pytest(DEFAULT_TARGETS, "xfail-met", lab_paths)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output[-4000:]
    assert f"XFAIL {SCENARIO}[{PRODUCT}] - {CHECK} on {PRODUCT}, expected fail (targets.example.yaml): " in output
    assert _reason(DEFAULT_TARGETS) in output
    assert f"{CHECK} on {PRODUCT}: FAIL (expected)" in output
    last = output.splitlines()[-1]
    assert "xfailed" in last, last
    assert not re.search(r"\b\d+ (failed|errors?|xpassed)\b", last), last


@pytest.mark.nightly  # a plain failure, covered without a cluster by tests/unit/test_expectation_marks.py
def test_without_the_expectation_plain_pytest_fails_naming_the_check(lab_paths: LabPaths, tmp_path: Path) -> None:
    done = _pytest(_without_the_expectation(tmp_path), "xfail-removed", lab_paths)
    output = done.stdout + done.stderr

    assert done.returncode == 1, output[-4000:]
    assert f"FAILED {SCENARIO}[{PRODUCT}]" in output
    assert f"{CHECK} on {PRODUCT}: FAIL, not met: targets-without-net-001.yaml has no expectation for it" in output


@pytest.mark.nightly  # on every CI run, test_verdicts.py's caas run asserts every verdict of both products and exit 0
def test_caas_run_gives_the_same_verdict_and_exit_code(lab_paths: LabPaths, tmp_path: Path) -> None:
    command = ["caas", "run", *SELECTION, "--output", str(tmp_path)]
    done = _run(command, "xfail-caas-run", lab_paths)
    output = done.stdout + done.stderr

    comparison = tmp_path / suite_run_id("xfail-caas-run") / "comparison.json"
    assert comparison.exists(), output[-4000:]
    [row] = [r for r in json.loads(comparison.read_text())["checks"] if r["check"] == CHECK]
    record = row["products"][PRODUCT]
    assert (record["status"], record["expected"], record["meets_expectation"]) == ("fail", "fail", True), record
    assert record["reason"] == _reason(DEFAULT_TARGETS)
    assert done.returncode == 0, output[-4000:]  # as plain pytest's
    assert "pytest exit code 0" in output, "caas run's own pytest agrees"
