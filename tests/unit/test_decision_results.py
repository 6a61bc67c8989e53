"""`caas results RUN_DIR` on a run folder copied elsewhere, with no targets file beside it: verdicts,
reasons, the cell, the remediation and named evidence, filtered by --check and --product; a missing or
damaged folder and an unknown check are one error line. `caas report` rebuilds the decision page there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.run_targets import save_run_targets
from harness.targets import load_targets
from reports.catalog import load_checks
from tests.unit.test_report_command import TARGETS, make_run, no_allure, result  # noqa: F401 - a fixture

MESSAGE = (
    "XFAIL flannel does not enforce NetworkPolicy\n\nAssertionError: FAIL: 1 mismatched\n\n"
    "expected DENIED, observed ALLOWED: blue/a -> green/a:8080/tcp (connected: probe-a)"
)


def failing(check: str, product: str) -> dict[str, Any]:
    item = result(check, product, status="skipped")
    item["statusDetails"] = {"message": MESSAGE}
    item["steps"] = [{"name": "then", "attachments": [{"name": "pod-to-pod (text)", "source": "m-attachment.txt"}]}]
    return item


@pytest.fixture
def copied_run(tmp_path: Path) -> Path:
    """A run folder made with a targets file that is then deleted, copied to another folder."""
    targets = tmp_path / "made" / "targets.yaml"
    targets.parent.mkdir()
    targets.write_text(TARGETS)
    run_dir = make_run(tmp_path / "made", [failing("check_network_001", "cfcr"), result("check_network_001", "pks")])
    (run_dir / "allure-results" / "m-attachment.txt").write_text("a matrix")
    save_run_targets(run_dir, load_targets(targets))
    copy = tmp_path / "elsewhere" / run_dir.name
    shutil.copytree(run_dir, copy)
    shutil.rmtree(tmp_path / "made")
    return copy


def test_results_print_verdict_reason_cell_fix_and_evidence(
    copied_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copied_run.parent)
    assert main(["results", str(copied_run), "--product", "cfcr"]) == 0
    out = capsys.readouterr().out
    assert "check_network_001 on cfcr: FAIL (expected) [critical]" in out
    assert "observed: expected DENIED, observed ALLOWED: blue/a -> green/a:8080/tcp" in out
    assert "shown by: blue/a → green/a:8080/tcp allowed" in out
    assert f"to fix: {load_checks()['check_network_001'].remediation}" in out
    assert f"evidence: pod-to-pod (text): {copied_run / 'allure-results' / 'm-attachment.txt'}" in out
    assert "on pks" not in out
    assert not list(copied_run.glob("decision.*"))  # results write nothing


def test_results_refuse_a_check_the_run_did_not_judge(copied_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", str(copied_run), "--check", "check_network_099"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("caas: error: --check: check_network_099: ")
    assert "fix: one of check_network_001" in err[0]


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_damaged_run_folder_is_one_line(
    copied_run: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    if damage == "missing":
        shutil.rmtree(copied_run)
    else:
        path = copied_run / "allure-results" / "check_network_001-pks-result.json"
        path.write_text(path.read_text()[:40])
    assert main(["results", str(copied_run)]) == (2 if damage == "missing" else 3)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("caas: error: ")
    assert "fix" in err[0]


@pytest.mark.parametrize("damage", ["missing", "truncated", "without pks"])
def test_a_missing_or_damaged_environment_is_one_line(
    copied_run: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    path = copied_run / "environment.json"
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_text('{"products": ')
    else:
        path.write_text(json.dumps({"products": {"cfcr": {"backend": "lab"}}}))
    assert main(["results", str(copied_run)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"caas: error: {path}: ")
    assert "fix: restore environment.json" in err[0]


@pytest.mark.usefixtures("no_allure")
def test_report_rebuilds_the_decision_page_from_the_copied_folder_alone(
    copied_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(copied_run)]) == 0
    assert f"decision: {copied_run / 'decision.html'}" in capsys.readouterr().out
    decision = json.loads((copied_run / "decision.json").read_text())
    finding = next(f for f in decision["findings"] if f["check"] == "check_network_001")
    assert finding["evidence_cell"] == "blue/a → green/a:8080/tcp allowed"
    assert decision["matrices"][0]["text"] == "a matrix"
    assert (copied_run / "checks.junit.xml").exists()
    assert decision["trends"]["runs"][0]["run_id"] == copied_run.name
