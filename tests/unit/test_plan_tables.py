"""The plan x control table gathers every scenario's attached cells into one row per control and case,
one column per plan; a row is red when one of its plans' cells contradicts the plan (pure files)."""

from __future__ import annotations

import json
from pathlib import Path

from provisioning.model.privileges import Case, CaseResult, Layer, Outcome, PlanVerdicts, control_cells
from reports.plan_tables import (
    ATTACHMENT,
    comparison_section,
    control_rows,
    read_cells,
    read_plan_tables,
    to_markdown,
)

X, R = Outcome.REJECTED, Outcome.RUNS


def _result(directory: Path, uuid: str, cells: list[dict[str, str]]) -> None:
    (directory / f"{uuid}-attachment.json").write_text(json.dumps(cells))
    step = {"name": "Then ...", "attachments": [{"name": ATTACHMENT, "source": f"{uuid}-attachment.json"}]}
    (directory / f"{uuid}-result.json").write_text(json.dumps({"steps": [step, {"name": "Given"}]}))


def _verdicts(product: str, plan: str, results: dict[Case, CaseResult]) -> PlanVerdicts:
    return PlanVerdicts(product, plan, "blue", "ran", tuple(results.values()))


def _all(observed: Outcome, layer: Layer) -> dict[Case, CaseResult]:
    return {c: CaseResult(c, X, observed, layer) for c in Case}


def test_parts_of_both_products_make_one_row_per_control(tmp_path: Path) -> None:
    _result(tmp_path, "a", control_cells([_verdicts("pks", "small", _all(X, Layer.POD_SECURITY))]))
    # a level an admission policy enforces shows it (API validation would not: privileges.deciding_layers)
    _result(tmp_path, "b", control_cells([_verdicts("cfcr", "default", _all(X, Layer.ADMISSION_POLICY))]))
    table = read_plan_tables(tmp_path)
    assert table[0] == ["level", "control", "case", "row", "cfcr/default (blue)", "pks/small (blue)"]
    assert [row[2] for row in table[1:]] == [c.value for c in Case], "one row per case, in the cases' order"
    seccomp = next(row for row in table if row[2] == "seccomp unset")
    assert seccomp[:4] == ["restricted", "Seccomp (restricted)", "seccomp unset", "pass"]
    assert seccomp[4:] == ["rejected: ValidatingAdmissionPolicy", "rejected: PodSecurity admission"]
    assert "| baseline | Host Namespaces | hostPID | pass |" in to_markdown(table)
    assert "## Pod Security Standards: plan x control" in comparison_section(table)


def test_a_control_no_longer_enforced_turns_exactly_its_rows_red(tmp_path: Path) -> None:
    """The plan forgot seccomp's restricted rule: that row fails, every other row passes."""
    results = _all(X, Layer.POD_SECURITY)
    results[Case.SECCOMP_UNSET] = CaseResult(Case.SECCOMP_UNSET, X, R, Layer.NONE)
    results[Case.HOST_PID] = CaseResult(Case.HOST_PID, X, Outcome.ERROR)
    _result(tmp_path, "a", control_cells([_verdicts("pks", "small", results)]))
    rows = {row["case"]: row for row in control_rows(read_cells(tmp_path))["rows"]}
    assert {case for case, row in rows.items() if row["status"] == "fail"} == {"seccomp unset"}
    assert rows["hostPID"]["status"] == "error", "not observed is no failure"
    assert rows["seccomp unset"]["cells"]["pks/small (blue)"] == {
        "expected": "rejected",
        "observed": "runs",
        "layer": "-",
        "status": "fail",
    }
    table = read_plan_tables(tmp_path)
    assert next(r for r in table if r[2] == "seccomp unset")[4] == "FAIL runs (expected rejected)"


def test_a_plan_missing_a_case_makes_its_row_an_error(tmp_path: Path) -> None:
    _result(tmp_path, "a", control_cells([_verdicts("pks", "small", {})]))
    assert {row["status"] for row in control_rows(read_cells(tmp_path))["rows"]} == {"error"}


def test_no_part_is_no_table(tmp_path: Path) -> None:
    assert read_plan_tables(tmp_path) == []
    assert "No privileged-container results" in to_markdown([])
    assert comparison_section([]) == ""
