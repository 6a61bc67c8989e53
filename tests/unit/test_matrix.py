"""Matrices and comparisons: enum cells, incomplete matrices fail, mismatches are explained."""

from __future__ import annotations

import pytest

from reports.matrix import Cell, Matrix, apply_positive_control, compare

ROWS, COLS = ("blue/a", "green/a"), ("blue/b:8080/tcp", "green/b:8080/tcp")
EXPECTED = Matrix.build(
    ROWS,
    COLS,
    {
        ("blue/a", "blue/b:8080/tcp"): Cell.ALLOWED,
        ("blue/a", "green/b:8080/tcp"): Cell.DENIED,
        ("green/a", "blue/b:8080/tcp"): Cell.DENIED,
        ("green/a", "green/b:8080/tcp"): Cell.ALLOWED,
    },
)


def test_identical_matrices_pass() -> None:
    assert compare(EXPECTED, EXPECTED).passed


def test_a_matrix_with_an_unobserved_cell_fails() -> None:
    observed = Matrix.build(
        ROWS,
        COLS,
        {k: v for k, v in EXPECTED.cells.items() if k[0] != "green/a"} | {("green/a", "blue/b:8080/tcp"): Cell.DENIED},
    )
    comparison = compare(EXPECTED, observed)
    assert not comparison.passed
    assert [(m.row, m.column, m.observed) for m in comparison.incomplete] == [
        ("green/a", "green/b:8080/tcp", Cell.UNOBSERVED)
    ]


def test_an_error_is_never_a_denial() -> None:
    observed = Matrix.build(
        ROWS,
        COLS,
        {**EXPECTED.cells, ("blue/a", "green/b:8080/tcp"): Cell.ERROR},
        {("blue/a", "green/b:8080/tcp"): "exec failed"},
    )
    comparison = compare(EXPECTED, observed)
    assert not comparison.passed
    assert not comparison.mismatches
    assert "not observed properly (ERROR): blue/a -> green/b:8080/tcp (exec failed)" in comparison.render()


def test_a_mismatch_names_direction_and_cells() -> None:
    observed = Matrix.build(ROWS, COLS, {**EXPECTED.cells, ("green/a", "blue/b:8080/tcp"): Cell.ALLOWED})
    comparison = compare(EXPECTED, observed)
    assert [m.describe() for m in comparison.mismatches] == [
        "expected DENIED, observed ALLOWED: green/a -> blue/b:8080/tcp"
    ]
    assert comparison.render().startswith("FAIL: 1 mismatched, 0 not observed of 4 cells")


def test_merge_keeps_earlier_observations() -> None:
    partial = Matrix.build(ROWS, COLS, {("blue/a", "blue/b:8080/tcp"): Cell.DENIED})
    newer = Matrix.build(ROWS, COLS, {("blue/a", "blue/b:8080/tcp"): Cell.ALLOWED})
    assert partial.merge(newer)["blue/a", "blue/b:8080/tcp"] is Cell.ALLOWED
    assert partial.merge(Matrix.build(ROWS, COLS, {}))["blue/a", "blue/b:8080/tcp"] is Cell.DENIED


def test_a_round_with_errors_and_no_contradiction_is_inconclusive_not_failed() -> None:
    from fixtures.network.reachability import Verdict
    from fixtures.network.reachability import require as require_verdict
    from fixtures.verdicts import Inconclusive

    expected = Matrix.build(["a"], ["x", "y"], {("a", "x"): Cell.ALLOWED, ("a", "y"): Cell.DENIED})
    errored = Matrix.build(["a"], ["x", "y"], {("a", "x"): Cell.ALLOWED, ("a", "y"): Cell.ERROR})
    with pytest.raises(Inconclusive):
        require_verdict(Verdict(compare(expected, errored), 1, 0.1, 2))
    contradicted = Matrix.build(["a"], ["x", "y"], {("a", "x"): Cell.ALLOWED, ("a", "y"): Cell.ALLOWED})
    with pytest.raises(AssertionError):
        require_verdict(Verdict(compare(expected, contradicted), 1, 0.1, 2))
    require_verdict(Verdict(compare(expected, expected), 1, 0.1, 2))
    # the same rule for every other matrix check: tests/unit/test_verdict_outcomes.py


def test_a_failed_positive_control_turns_denials_into_errors_and_says_what_the_control_saw() -> None:
    observed = Matrix.build(
        ROWS,
        COLS,
        {**EXPECTED.cells, ("blue/a", "blue/b:8080/tcp"): Cell.DENIED},
        {("blue/a", "blue/b:8080/tcp"): "refused: connection refused"},
    )
    controlled = apply_positive_control(EXPECTED, observed)
    assert {k for k, v in controlled.cells.items() if v is Cell.ERROR} == {
        k for k, v in observed.cells.items() if v is Cell.DENIED
    }
    assert (
        "(blue/a -> blue/b:8080/tcp is denied: refused: connection refused)"
        in controlled.evidence["green/a", "blue/b:8080/tcp"]
    )
    assert not compare(EXPECTED, controlled).passed
