"""checks.network.reachability.observe_until_converged with `recheck`: the first round probes the whole
matrix, later rounds only the cells that differ, merged into the last observation (`merged`)."""

from __future__ import annotations

from collections.abc import Set

from checks.matrix import Cell, Matrix, compare
from checks.network.reachability import first_differences, merged, observe_until_converged

ROWS = ["t1/a", "t1/b", "t2/a"]
COLUMNS = ["t1/a:8080/tcp", "t1/b:8080/tcp", "t2/a:8080/tcp"]


def expected() -> Matrix:
    """Own tenant allowed (the positive controls), the other tenant denied; a pod does not probe itself."""
    cells = {
        (r, c): Cell.ALLOWED if r.split("/")[0] == c.split("/")[0] else Cell.DENIED
        for r in ROWS
        for c in COLUMNS
        if r != c.split(":")[0]
    }
    return Matrix.build(ROWS, COLUMNS, cells)


def test_a_control_that_timed_out_once_is_probed_again_alone_and_the_matrix_passes() -> None:
    first = dict(expected().cells)
    first[("t1/a", "t1/b:8080/tcp")] = Cell.DENIED  # an own-tenant probe timed out under load
    asked: list[Set[tuple[str, str]]] = []

    def recheck(cells: Set[tuple[str, str]]) -> tuple[Matrix, int]:
        asked.append(set(cells))
        return Matrix.build(ROWS, COLUMNS, {key: expected()[key] for key in cells}), len(cells)

    verdict = observe_until_converged(
        expected(), lambda: (Matrix.build(ROWS, COLUMNS, first), len(first)), attempts=3, recheck=recheck
    )
    assert verdict.comparison.passed
    assert verdict.attempts == 2
    assert verdict.report().endswith(
        "\nfirst attempt: 3 cells differed: 2 expected denied, observed error (positive control failed); "
        "1 expected allowed, observed error (positive control failed)"
    )
    assert ("t1/a", "t1/b:8080/tcp") in asked[0]
    assert len(asked[0]) < len(first), "only the differing cells and those the failed control left undecided"


def test_a_cell_that_differs_again_decides_the_verdict() -> None:
    first = dict(expected().cells)
    first[("t2/a", "t1/a:8080/tcp")] = Cell.ALLOWED  # a leak across tenants

    def recheck(cells: Set[tuple[str, str]]) -> tuple[Matrix, int]:
        return Matrix.build(ROWS, COLUMNS, {key: first[key] for key in cells}), len(cells)

    verdict = observe_until_converged(
        expected(), lambda: (Matrix.build(ROWS, COLUMNS, first), len(first)), attempts=3, recheck=recheck
    )
    assert not verdict.comparison.passed
    assert [(m.row, m.column) for m in verdict.comparison.mismatches] == [("t2/a", "t1/a:8080/tcp")]
    assert verdict.attempts == 3


def test_merged_takes_only_the_cells_asked_and_observed_again() -> None:
    a, b = ("r", "a"), ("r", "b")
    before = Matrix.build(["r"], ["a", "b"], {a: Cell.DENIED, b: Cell.DENIED}, {a: "timeout"})
    again = Matrix.build(["r"], ["a", "b"], {a: Cell.ALLOWED, b: Cell.ALLOWED}, {a: "connected"})
    after = merged(before, again, {a})
    assert after[a] is Cell.ALLOWED
    assert after.evidence[a] == "connected"
    assert after[b] is Cell.DENIED, "a cell not asked again keeps its observation"
    assert merged(before, Matrix.build(["r"], ["a", "b"], {}), {a})[a] is Cell.DENIED


def test_first_differences_count_each_kind_with_the_probes_outcome_most_common_first() -> None:
    wanted = expected()
    cells = dict(wanted.cells)
    evidence = {}
    for row in ("t1/a", "t1/b"):
        cells[(row, "t2/a:8080/tcp")] = Cell.ALLOWED
        evidence[(row, "t2/a:8080/tcp")] = "connected: 1.2 ms"
    cells[("t2/a", "t1/a:8080/tcp")] = Cell.ERROR
    evidence[("t2/a", "t1/a:8080/tcp")] = "exec failed: 500"
    comparison = compare(wanted, Matrix.build(ROWS, COLUMNS, cells, evidence))
    assert first_differences(comparison) == (
        "first attempt: 3 cells differed: 2 expected denied, observed allowed (connected); "
        "1 expected denied, observed error (exec failed)"
    )
