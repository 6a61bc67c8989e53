"""`caas results`' selection (harness/cli/results_command.py): an old check id (reports.catalog.RENAMED_PREFIXES)
is refused with its new id as the fix, and `--failed`'s header counts the checks it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from tests.unit.test_decision_results import copied_run  # noqa: F401 - a fixture


def test_an_old_check_id_is_refused_with_its_new_id(copied_run: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["results", str(copied_run), "--check", "check_net_001"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "caas: error: --check: check_net_001: an old check id, now check_network_001 (fix: --check check_network_001)"
    ]


def test_an_old_id_the_run_did_not_judge_names_its_new_id_and_the_judged_ones(
    copied_run: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["results", str(copied_run), "--check", "check_net_002"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "caas: error: --check: check_net_002: an old check id, now check_network_002, and the run judged no "
        "such check (fix: one of check_network_001)"
    ]


def test_failed_counts_the_checks_it_shows(copied_run: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["results", str(copied_run), "--failed", "--product", "pks"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "0 of 1 check(s) not passed on pks" in out[0], out
    assert not [line for line in out if " on pks: " in line], out
    assert main(["results", str(copied_run), "--failed"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "1 of 1 check(s) not passed on cfcr, pks" in out[0], out
    assert [line.split(":")[0] for line in out if line.startswith("check_")] == ["check_network_001 on cfcr"]
