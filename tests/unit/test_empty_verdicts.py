"""An empty comparison is never a pass (checks/verdicts.py `require`, checks/matrix.py
`Comparison.nothing_compared`): a comparison of no rows, no columns or no expected cell observed nothing,
so the one verdict rule ends it ERROR (Inconclusive) with a message naming what was empty. A check that
may legitimately have nothing to compare says so before the rule (not applicable), never by an empty table.
"""

from __future__ import annotations

import dataclasses

import pytest

from checks.matrix import Cell, Comparison, Matrix, Mismatch, compare
from checks.network.changes import ChangeVerdict
from checks.network.reachability import Verdict
from checks.rbac import matrix as rbac
from checks.verdicts import (
    Inconclusive,
    decide,
    require,
    require_rows,
    requirement_comparison,
    requirement_row,
    requirement_table,
)
from tests.unit.test_rbac_design import run_of

A, D = Cell.ALLOWED, Cell.DENIED


def test_no_rows_is_error_naming_the_empty_shape() -> None:
    with pytest.raises(Inconclusive, match=r"nothing was observed: the comparison has no cells \(0 rows x 1 columns\)"):
        require_rows({}, "bound claims")


def test_the_report_follows_the_reason() -> None:
    with pytest.raises(Inconclusive) as raised:
        require_rows({}, "bound claims", "bound to a volume")
    assert str(raised.value).startswith("nothing was observed")
    assert "bound claims" in str(raised.value)


def test_no_columns_is_error() -> None:
    with pytest.raises(Inconclusive, match=r"\(1 rows x 0 columns\)"):
        require(requirement_comparison(requirement_row("blue", {})))


def test_an_empty_access_matrix_is_error() -> None:
    empty = Matrix.build([], [], {})
    with pytest.raises(Inconclusive, match=r"\(0 rows x 0 columns\)"):
        require(compare(empty, empty))


def test_rows_and_columns_without_an_expected_cell_are_error() -> None:
    """Every cell left UNOBSERVED by the expectation (not required): nothing is compared."""
    expected = Matrix.build(["blue/a"], ["green/a:8080/tcp"], {})
    observed = Matrix.build(["blue/a"], ["green/a:8080/tcp"], {("blue/a", "green/a:8080/tcp"): A})
    with pytest.raises(Inconclusive, match="expects no cell of its 1 rows x 1 columns"):
        require(compare(expected, observed))


def test_an_expected_cell_outside_the_rows_and_columns_is_no_cell() -> None:
    expected = Matrix.build(["blue/a"], ["x"], {("green/a", "x"): D})
    with pytest.raises(Inconclusive, match="expects no cell"):
        require(compare(expected, expected))


def test_decide_on_an_empty_table_is_error() -> None:
    with pytest.raises(Inconclusive, match="nothing was observed"):
        decide(requirement_comparison(requirement_table("holds", {})), "default storage classes")


def test_a_judged_verdict_of_no_cell_is_error() -> None:
    """A reachability verdict (its own report) ends by the same rule."""
    empty = Matrix.build([], ["green/a:8080/tcp"], {})
    with pytest.raises(Inconclusive) as raised:
        require(Verdict(compare(empty, empty), 1, 0.5, 0))
    text = str(raised.value)
    assert text.startswith("ERROR: nothing was observed: the comparison has no cells (0 rows x 1 columns)")
    assert text.count("nothing was observed") == 1, "the reason is named once"
    assert text.endswith("observed in 1 attempt(s), 0.5s, 0 probes")


def test_an_empty_comparison_does_not_pass_and_renders_as_error() -> None:
    comparison = requirement_comparison(requirement_table("holds", {}))
    assert not comparison.passed
    assert comparison.render().startswith("ERROR: nothing was observed: the comparison has no cells")


def test_an_empty_change_verdict_is_not_enforced_and_not_late() -> None:
    empty = Matrix.build([], [], {})
    change = ChangeVerdict("relabel a pod", Verdict(compare(empty, empty), 1, 0.5, 0), 10.0)
    assert not change.late, "nothing observed is ERROR, never a late dataplane"
    assert "not enforced" in change.line()


def test_a_contradiction_beside_no_cell_still_fails() -> None:
    """A disagreement of the ways of observing counts as a mismatch without a cell (checks/rbac/reach.py)."""
    empty = Matrix.build([], [], {})
    disagreement = Mismatch("blue-admin", "get pods", A, D, "the request and the review disagree")
    with pytest.raises(AssertionError):
        require(Comparison(empty, empty, (disagreement,), ()), "report")


def test_one_compared_cell_is_enough_to_pass() -> None:
    require_rows({"blue": (A, "bound")}, "report")
    expected = Matrix.build(["blue/a", "green/a"], ["x"], {("blue/a", "x"): D})
    require(compare(expected, expected))


def test_an_access_run_without_a_question_of_the_scope_is_error_not_a_pass_on_its_controls() -> None:
    """check_rbac_001/002/007/008 judge one scope of the run with its positive controls: controls alone are
    cells, but none is the check's."""
    run = run_of(3)
    controls_only = dataclasses.replace(run, questions=tuple(q for q in run.questions if q.scope == "control"))
    assert controls_only.compare(lambda q: q.scope in ("cluster", "control")).expected.cells, "controls are cells"
    with pytest.raises(Inconclusive, match="the run asked no cluster question"):
        rbac.judge_scope(controls_only, "cluster", "cluster-scoped access")
    rbac.judge_scope(run, "cluster", "cluster-scoped access")  # the whole run: its cluster questions pass
