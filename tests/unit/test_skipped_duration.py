"""A scenario skipped before its first step (not applicable by its tags) took no time: its Allure result
has a start and no stop, and its record's duration is 0, never the negative start."""

from __future__ import annotations

import json
from pathlib import Path

from allure_commons import model2

from fixtures.redacting_allure import RedactingFileLogger
from reports.records import aggregate, read_allure_results

START = 1_764_467_000_000  # ms since the epoch, as allure-pytest-bdd writes `start`
LABELS = [{"name": "check", "value": "check_privileged_007"}, {"name": "product", "value": "cfcr"}]


def _result(tmp_path: Path, uuid: str, **times: int) -> None:
    result = {"name": uuid, "status": "skipped", "uuid": uuid, "labels": LABELS, **times}
    result["statusDetails"] = {"message": "Skipped: not applicable: no private registry"}
    (tmp_path / f"{uuid}-result.json").write_text(json.dumps(result))


def test_a_result_with_a_start_and_no_stop_lasts_no_time(tmp_path: Path) -> None:
    _result(tmp_path, "aaaa", start=START)
    _result(tmp_path, "bbbb", start=START, stop=START + 1500)
    durations = {s.uuid: s.duration_ms for s in read_allure_results(tmp_path)}
    assert durations == {"aaaa": 0, "bbbb": 1500}
    record = aggregate(read_allure_results(tmp_path), ["cfcr"], ["check_privileged_007"]).record(
        "check_privileged_007", "cfcr"
    )
    assert record.duration_ms == 1500


def test_the_writer_closes_a_result_with_a_start_and_no_stop_at_its_start(tmp_path: Path) -> None:
    RedactingFileLogger(tmp_path).report_result(model2.TestResult(uuid="u1", name="n/a", status="skipped", start=START))
    RedactingFileLogger(tmp_path).report_result(model2.TestResult(uuid="u2", name="ran", start=START, stop=START + 7))
    written = {d["uuid"]: d for d in (json.loads(p.read_text()) for p in tmp_path.glob("*-result.json"))}
    assert (written["u1"]["start"], written["u1"]["stop"]) == (START, START)
    assert written["u2"]["stop"] == START + 7
