"""The targets file's expectations under plain pytest (`fixtures.expectations`), without a cluster.

A fake `steps` package of pytest-bdd scenarios, each carrying a check tag and ending as its step
says, runs in a pytest of its own with the suite's plugins and a targets file that expects some of them
to fail. What plain pytest shows (XFAIL with the reason, the exit code) and what `caas run` reads from the
Allure results (`reports.records`) must give the same verdicts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.expectations import combined, describe
from reports.allure_report import allure_config
from reports.records import CheckRecord, RunRecords, Status, aggregate, read_allure_results, scenario_status

FEATURE = """\
Feature: Fake checks, each ending as its step says

  @check_network_001
  Scenario: An expected failure fails
    Then the observation contradicts the requirement

  @check_network_002
  Scenario: An expected failure passes
    Then the observation matches the requirement

  @check_network_003
  Scenario: An expected failure could not be observed
    Then nothing could be observed

  @check_network_004
  Scenario: A failure nobody expects
    Then the observation contradicts the requirement

  @check_network_005
  Scenario: One scenario of an expected failure fails
    Then the observation contradicts the requirement

  @check_network_005
  Scenario: Another scenario of the same check passes
    Then the observation matches the requirement

  @check_network_006
  Scenario: An expected failure does not apply
    Then the check does not apply

  @check_network_007
  Scenario: A plain pass
    Then the observation matches the requirement

  @check_rbac_001
  Scenario: One scenario of a stale expectation passes
    Then the observation matches the requirement

  @check_rbac_001
  Scenario: Another scenario of the stale expectation passes
    Then the observation matches the requirement
"""

STEPS = """\
import pytest
from pytest_bdd import scenarios, then

from checks.verdicts import Inconclusive

scenarios("fake.feature")


@then("the observation contradicts the requirement")
def contradicts():
    raise AssertionError("observed ALLOWED where DENIED is required")


@then("the observation matches the requirement")
def matches():
    pass


@then("nothing could be observed")
def inconclusive():
    raise Inconclusive("2 cells not observed")


@then("the check does not apply")
def not_applicable():
    pytest.skip("not applicable: fewer than two tenants share a cluster")
"""

# the fake scenarios carry real check ids (a targets file's expectations name checks of the catalog)
CHECKS = {
    "001": "check_network_001",
    "002": "check_network_002",
    "003": "check_network_003",
    "004": "check_network_004",
    "005": "check_network_005",
    "006": "check_network_006",
    "007": "check_network_007",
    "008": "check_rbac_001",
}
EXPECTED_FAIL = ("001", "002", "003", "005", "006", "008")
REASON = "the fake product does not enforce it"


def targets_text(expected: tuple[str, ...] = EXPECTED_FAIL) -> str:
    lines = "".join(
        f"  - {{product: alpha, check: {CHECKS[n]}, status: fail, reason: {REASON} ({n})}}\n" for n in expected
    )
    return (
        textwrap.dedent("""\
        version: 1
        products:
          - name: alpha
            backend: lab
            lab: {profile: pks, nodes: 1}
            plans: [{name: small}]
        tenancy:
          - product: alpha
            tenants: [{name: blue, plan: small}]
        expectations:
        """)
        + lines
    )


@dataclass(frozen=True)
class FakeRun:
    code: int
    output: str
    records: RunRecords  # as `caas run` reads them from the Allure results
    junit: ET.Element

    def record(self, n: str) -> CheckRecord:
        return self.records.record(CHECKS[n], "alpha")


@pytest.fixture
def fake_suite(tmp_path: Path) -> Path:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "__init__.py").write_text("")
    (tmp_path / "steps" / "test_fake.py").write_text(STEPS)
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "fake.feature").write_text(FEATURE)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["fixtures.plugin", "fixtures.expectations"]\n')
    markers = "".join(f"    {check}: fake\n" for check in CHECKS.values())
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nbdd_features_base_dir = features/\nxfail_strict = true\n"
        f"addopts = --strict-markers -p no:cacheprovider -ra\nmarkers =\n{markers}"
    )
    (tmp_path / "targets.yaml").write_text(targets_text())
    return tmp_path


def run_fake(suite: Path, keyword: str, name: str) -> FakeRun:
    out = suite / name
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "steps", f"--targets={suite / 'targets.yaml'}"),
            *(("-k", keyword) if keyword else ()),
            *(f"--alluredir={out / 'allure-results'}", f"--junitxml={out / 'junit.xml'}"),
        ],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), output
    results = read_allure_results(out / "allure-results")
    expectations = {(CHECKS[n], "alpha"): (Status.FAIL, f"{REASON} ({n})") for n in EXPECTED_FAIL}
    records = aggregate(results, ["alpha"], {r.check for r in results}, expectations)
    junit = ET.parse(out / "junit.xml").getroot()  # noqa: S314 - written by the run just made here
    return FakeRun(result.returncode, output, records, junit)


def test_expected_failures_are_strict_xfails_with_the_reason_and_the_run_passes(fake_suite: Path) -> None:
    run = run_fake(fake_suite, "check_network_001 or check_network_005 or check_network_007", "met")

    assert run.code == 0, run.output
    assert (
        "XFAIL steps/test_fake.py::test_an_expected_failure_fails[alpha] - check_network_001 on alpha, " in run.output
    )
    assert f"expected fail (targets.yaml): {REASON} (001)" in run.output
    assert "check_network_001 on alpha: FAIL (expected): the fake product does not enforce it (001)" in run.output
    assert "check_network_005 on alpha: FAIL (expected)" in run.output  # one scenario failed, one passed
    assert "3 of 3 verdicts (check on product) meet their expectations" in run.output
    for n, status in (("001", Status.FAIL), ("005", Status.FAIL), ("007", Status.PASS)):
        assert run.record(n).status is status, run.record(n)
        assert run.record(n).meets_expectation
    [xfailed] = [c for c in run.junit.iter("testcase") if c.get("name") == "test_an_expected_failure_fails[alpha]"]
    skipped = xfailed.find("skipped")
    assert skipped is not None
    assert skipped.get("type") == "pytest.xfail"
    assert REASON in (skipped.get("message") or "")
    properties = {p.get("name"): p.get("value") for p in xfailed.iter("property")}
    assert properties == {"check": "check_network_001", "product": "alpha", "expected": "fail"}


def test_every_way_an_expectation_is_not_met_fails_the_run_and_names_the_check(fake_suite: Path) -> None:
    run = run_fake(fake_suite, "", "all")

    assert run.code == 1, run.output
    assert "[XPASS(strict)] check_network_002 on alpha, expected fail (targets.yaml)" in run.output
    assert "check_network_002 on alpha: pass, not met: targets.yaml expects fail, a stale expectation" in run.output
    # an error under an expected failure stays an error: never an xfail, never a met expectation
    assert "FAILED steps/test_fake.py::test_an_expected_failure_could_not_be_observed[alpha]" in run.output
    assert "check_network_003 on alpha: ERROR, not observed" in run.output
    assert "check_network_004 on alpha: FAIL, not met: targets.yaml has no expectation for it" in run.output
    assert "check_network_006 on alpha: n/a, not met: targets.yaml expects fail" in run.output
    assert "check_rbac_001 on alpha: pass, not met" in run.output
    assert "3 of 8 verdicts (check on product) meet their expectations; 5 not" in run.output
    # `caas run` reads the same verdicts from the Allure results
    verdicts = {n: (run.record(n).status, run.record(n).meets_expectation) for n in ("001", "002", "003", "004")}
    verdicts |= {n: (run.record(n).status, run.record(n).meets_expectation) for n in ("005", "006", "007", "008")}
    assert verdicts == {
        "001": (Status.FAIL, True),
        "002": (Status.PASS, False),
        "003": (Status.ERROR, False),
        "004": (Status.FAIL, False),
        "005": (Status.FAIL, True),
        "006": (Status.SKIPPED, False),
        "007": (Status.PASS, True),
        "008": (Status.PASS, False),
    }


def test_an_expectation_not_met_fails_a_run_in_which_no_test_failed(fake_suite: Path) -> None:
    """An expected failure that does not apply, and a stale one whose two scenarios passed leniently: pytest
    alone would exit 0 (skipped, xpassed); `caas run`'s rule makes it 1."""
    run = run_fake(fake_suite, "check_network_006 or check_rbac_001", "lenient")

    assert "1 skipped, 7 deselected, 2 xpassed" in run.output
    assert run.code == 1, run.output
    assert {run.record(n).meets_expectation for n in ("006", "008")} == {False}


def test_without_its_expectation_the_failure_fails_the_run_naming_the_check(fake_suite: Path) -> None:
    (fake_suite / "targets.yaml").write_text(targets_text(tuple(n for n in EXPECTED_FAIL if n != "001")))
    run = run_fake(fake_suite, "check_network_001", "removed")

    assert run.code == 1, run.output
    assert "FAILED steps/test_fake.py::test_an_expected_failure_fails[alpha]" in run.output
    assert "check_network_001 on alpha: FAIL, not met" in run.output


@pytest.mark.parametrize(
    ("allure_status", "message", "status"),
    [
        ("skipped", "XFAIL check_network_001 on cfcr, expected fail: x\n\nAssertionError: observed", Status.FAIL),
        ("skipped", "Skipped: not applicable: fewer than two tenants share a cluster", Status.SKIPPED),
        ("broken", "[XPASS(strict)] check_network_001 on cfcr, expected fail: x", Status.PASS),
        ("broken", "checks.verdicts.Inconclusive: 2 cells not observed", Status.ERROR),
        ("failed", "Failed: Timeout (>900.0s) from pytest-timeout.", Status.ERROR),
        ("failed", "AssertionError: observed ALLOWED", Status.FAIL),
        ("passed", "XPASS check_rbac_001 on cfcr, expected fail: x", Status.PASS),
        ("weird", "", Status.UNKNOWN),
    ],
)
def test_allure_results_map_to_the_statuses_pytest_reports_give(
    allure_status: str, message: str, status: Status
) -> None:
    assert scenario_status(allure_status, message) is status


def test_phases_combine_as_the_allure_adapter_combines_them() -> None:
    assert combined(None, "setup", Status.PASS) is Status.PASS
    assert combined(Status.PASS, "call", Status.FAIL) is Status.FAIL
    assert combined(Status.SKIPPED, "teardown", Status.PASS) is Status.SKIPPED
    assert combined(Status.FAIL, "teardown", Status.ERROR) is Status.FAIL  # the verdict stays the call's
    assert combined(Status.PASS, "teardown", Status.ERROR) is Status.ERROR


def test_an_error_is_described_as_not_observed_whatever_is_expected() -> None:
    record = CheckRecord("check_network_001", "cfcr", Status.ERROR, expected=Status.FAIL, reason="no enforcement")
    assert not record.meets_expectation
    assert describe(record, Path("targets.yaml")).startswith("check_network_001 on cfcr: ERROR, not observed")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test")
def test_the_allure_report_files_an_xfailed_expected_failure_as_a_product_gap(tmp_path: Path) -> None:
    config = tmp_path / "allurerc.mjs"
    config.write_text(allure_config(["cfcr"], [("check_network_001", "cfcr")], tmp_path / "h.jsonl"))
    probe = tmp_path / "probe.mjs"
    probe.write_text(
        f'import c from "{config}";\n'
        "const t = (status, message) => ({status, message, labels: [{name: 'check', value: 'check_network_001'},"
        " {name: 'product', value: 'cfcr'}]});\n"
        "const gap = c.categories[0].matchers;\n"
        "console.log([gap(t('skipped', 'XFAIL check_network_001 on cfcr, expected fail')),"
        " gap(t('skipped', 'Skipped: not applicable')), gap(t('failed', 'AssertionError'))].join(','));\n"
    )
    done = subprocess.run(["node", str(probe)], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "true,false,true", done.stderr
