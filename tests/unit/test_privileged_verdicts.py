"""check_privileged_001/002 end through the one verdict rule: their plans' requirement table (a row per plan,
a column per case and the positive control), compared by checks.verdicts (pure)."""

from __future__ import annotations

import pytest

from checks.privileged.cases import POSITIVE_CONTROL, plan_comparison, require_plan_verdicts
from checks.verdicts import Inconclusive
from provisioning.model.privileges import Case, CaseResult, Layer, Outcome, PlanVerdicts

X, R = Outcome.REJECTED, Outcome.RUNS


def _plan(results: dict[Case, CaseResult], control: str = "ran (compliant-1 on n1)", ran: bool = True) -> PlanVerdicts:
    return PlanVerdicts("pks", "small", "blue", control, tuple(results.values()), ran)


def _as_planned() -> dict[Case, CaseResult]:
    return {c: CaseResult(c, X, X, Layer.POD_SECURITY, "violates PodSecurity") for c in Case}


def test_every_case_as_planned_passes() -> None:
    comparison = plan_comparison([_plan(_as_planned())])
    assert not comparison.mismatches
    assert not comparison.incomplete
    require_plan_verdicts([_plan(_as_planned())], "report")


def test_one_contradicted_case_fails_in_its_column() -> None:
    results = _as_planned()
    results[Case.SECCOMP_UNSET] = CaseResult(Case.SECCOMP_UNSET, X, R, Layer.NONE, "admitted, running")
    comparison = plan_comparison([_plan(results)])
    assert [(m.row, m.column) for m in comparison.mismatches] == [("pks/small (blue)", "seccomp unset")]
    with pytest.raises(AssertionError, match="the report"):
        require_plan_verdicts([_plan(results)], "the report")


def test_an_unobserved_case_is_error_never_a_failure() -> None:
    results = _as_planned()
    results[Case.HOST_PID] = CaseResult(Case.HOST_PID, X, Outcome.ERROR, None, "timeout")
    del results[Case.HOST_IPC]
    with pytest.raises(Inconclusive):
        require_plan_verdicts([_plan(results)], "report")


def test_a_failed_positive_control_makes_a_contradiction_no_evidence() -> None:
    results = _as_planned()
    results[Case.HOST_PID] = CaseResult(Case.HOST_PID, X, R, Layer.NONE, "runs")
    comparison = plan_comparison([_plan(results, control="failed (no node): no verdict counts", ran=False)])
    assert not comparison.mismatches, "without its control, no cell of the row is evidence"
    assert ("pks/small (blue)", POSITIVE_CONTROL) in {(m.row, m.column) for m in comparison.incomplete}


def test_the_positive_control_is_read_from_whether_it_ran_never_from_its_text() -> None:
    """A control's text is for the reader: `control_ran` says whether it ran."""
    said_ran = plan_comparison([_plan(_as_planned(), control="ran (compliant-1 on n1)", ran=False)])
    assert ("pks/small (blue)", POSITIVE_CONTROL) in {(m.row, m.column) for m in said_ran.incomplete}
    ran = plan_comparison([_plan(_as_planned(), control="compliant-1 on n1, exec worked", ran=True)])
    assert not ran.incomplete
