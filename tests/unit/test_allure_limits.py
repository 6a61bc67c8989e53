"""The suite's Allure writer keeps a run's report small enough for Allure 3's single-file page: a string
field of a result or an attachment past its limit keeps its head and tail around a note of what was cut."""

from __future__ import annotations

import json
from pathlib import Path

from allure_commons.model2 import Parameter, StatusDetails, TestResult, TestStepResult

from fixtures.redacting_allure import ATTACHMENT_LIMIT, TEXT_LIMIT, RedactingFileLogger


def test_a_huge_failure_message_and_step_parameter_are_cut_in_the_middle(tmp_path: Path) -> None:
    message = "AssertionError: FAIL: 144 mismatched\n" + "x" * 3_000_000 + "\ndifferences: blue -> green allowed"
    step = TestStepResult(name="Then ...", parameters=[Parameter(name="run", value="y" * 2_000_000)])
    result = TestResult(uuid="u1", name="a check", statusDetails=StatusDetails(message=message), steps=[step])
    RedactingFileLogger(tmp_path).report_result(result)
    (written,) = tmp_path.glob("*-result.json")
    data = json.loads(written.read_text())
    cut = data["statusDetails"]["message"]
    assert len(cut) < TEXT_LIMIT + 200
    assert cut.startswith("AssertionError: FAIL: 144 mismatched")
    assert cut.endswith("differences: blue -> green allowed")
    assert "characters cut" in cut
    assert len(data["steps"][0]["parameters"][0]["value"]) < TEXT_LIMIT + 200
    assert written.stat().st_size < 4 * TEXT_LIMIT


def test_a_short_message_is_kept_whole(tmp_path: Path) -> None:
    result = TestResult(uuid="u2", name="a check", statusDetails=StatusDetails(message="FAIL: 1 mismatched"))
    RedactingFileLogger(tmp_path).report_result(result)
    (written,) = tmp_path.glob("*-result.json")
    assert json.loads(written.read_text())["statusDetails"]["message"] == "FAIL: 1 mismatched"


def test_a_huge_attachment_is_cut(tmp_path: Path) -> None:
    body = "head\n" + "z" * (3 * ATTACHMENT_LIMIT) + "\ntail"
    RedactingFileLogger(tmp_path).report_attached_data(body, "m-attachment.txt")
    data = (tmp_path / "m-attachment.txt").read_bytes()
    assert len(data) < ATTACHMENT_LIMIT + 200
    assert data.startswith(b"head\n")
    assert data.endswith(b"\ntail")
    assert b"bytes cut" in data
