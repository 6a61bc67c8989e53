"""How a comparison ends a check: pass, fail only on an observed contradiction, ERROR (Inconclusive)
when cells could not be observed, as under a fault (an API server restarted mid-observation)."""

from __future__ import annotations

import pytest

from checks.matrix import Cell, Matrix, compare
from checks.verdicts import Inconclusive, require

ROWS, COLS = ("blue-admin",), ("(cluster): list nodes", "(cluster): create namespaces")
EXPECTED = Matrix.build(ROWS, COLS, {("blue-admin", c): Cell.DENIED for c in COLS})


def test_an_observation_that_matches_passes() -> None:
    require(compare(EXPECTED, EXPECTED), "report")


def test_cells_not_observed_make_the_check_error_never_fail() -> None:
    observed = Matrix.build(ROWS, COLS, {("blue-admin", COLS[0]): Cell.DENIED, ("blue-admin", COLS[1]): Cell.ERROR})
    comparison = compare(EXPECTED, observed)
    with pytest.raises(Inconclusive):
        require(comparison, comparison.render())
    assert comparison.render().startswith("ERROR: 0 mismatched, 1 not observed of 2 cells")


def test_an_observed_contradiction_fails_even_beside_errors() -> None:
    observed = Matrix.build(ROWS, COLS, {("blue-admin", COLS[0]): Cell.ALLOWED, ("blue-admin", COLS[1]): Cell.ERROR})
    comparison = compare(EXPECTED, observed)
    with pytest.raises(AssertionError):
        require(comparison, comparison.render())
    assert comparison.render().startswith("FAIL: 1 mismatched, 1 not observed of 2 cells")
