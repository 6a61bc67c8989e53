"""Matrices and comparisons: enum cells, incomplete matrices fail, mismatches are explained."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.matrix import GRID_CELLS, Cell, Matrix, apply_positive_control, compare, decided_by, to_html_table
from checks.verdicts import require

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


def test_the_expected_grid_says_what_a_question_mark_means_where_it_has_one() -> None:
    partial = Matrix.build(ROWS, COLS, {k: v for k, v in EXPECTED.cells.items() if k[0] != "green/a"})
    observed = Matrix.build(ROWS, COLS, {**EXPECTED.cells, ("blue/a", "blue/b:8080/tcp"): Cell.DENIED})

    assert "expected (. allowed, X denied, ? not compared)" in compare(partial, observed).render()
    assert "expected (. allowed, X denied)\n" in compare(EXPECTED, observed).render()


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
    from checks.network.reachability import Verdict
    from checks.network.reachability import require as require_verdict
    from checks.verdicts import Inconclusive

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


# --- the positive controls, per row and per column -------------------------------------------------------
# The shape of check_network_005: each tenant's pods a and b reach their own Service's name over TCP and UDP.
A, D, E = Cell.ALLOWED, Cell.DENIED, Cell.ERROR
PODS, NAMES = ("blue/a", "blue/b"), ("blue svc:8080/tcp", "blue svc:5353/udp")
OWN_SERVICE = Matrix.build(PODS, NAMES, {(r, c): A for r in PODS for c in NAMES})


def _seen(rows: tuple[str, ...], columns: tuple[str, ...], cells: list[list[Cell]]) -> Matrix:
    grid = {(r, c): cell for r, row in zip(rows, cells, strict=True) for c, cell in zip(columns, row, strict=True)}
    return Matrix.build(rows, columns, grid, {k: f"{v.value} (probe)" for k, v in grid.items() if v is not A})


def _verdict(expected: Matrix, observed: Matrix) -> str:
    comparison = compare(expected, apply_positive_control(expected, observed))
    return "PASS" if comparison.passed else comparison.render().split(":", 1)[0]


def test_an_over_blocked_cell_whose_row_and_column_controls_hold_is_a_failure() -> None:
    # blue/b reaches its Service over TCP (its row works), blue/a over UDP (the UDP port answers)
    observed = _seen(PODS, NAMES, [[A, A], [A, D]])
    comparison = compare(OWN_SERVICE, apply_positive_control(OWN_SERVICE, observed))
    assert [m.describe() for m in comparison.mismatches] == [
        "expected ALLOWED, observed DENIED: blue/b -> blue svc:5353/udp (denied (probe))"
    ]
    assert not comparison.incomplete
    assert comparison.render().startswith("FAIL: 1 mismatched, 0 not observed of 4 cells")


def test_a_dead_row_makes_its_denials_errors_and_leaves_the_other_rows_evidence() -> None:
    observed = _seen(PODS, NAMES, [[A, A], [D, D]])
    controlled = apply_positive_control(OWN_SERVICE, observed)
    assert [controlled["blue/b", c] for c in NAMES] == [E, E]
    assert controlled.evidence["blue/b", "blue svc:5353/udp"] == (
        "positive control failed (blue/b -> blue svc:8080/tcp is denied: denied (probe)), "
        "so denials prove nothing: no cell of row blue/b is allowed"
    )
    assert _verdict(OWN_SERVICE, observed) == "ERROR"


def test_a_dead_column_makes_its_denials_errors() -> None:
    # every pod reaches the Service over TCP, none over UDP: the UDP port may simply not answer
    observed = _seen(PODS, NAMES, [[A, D], [A, D]])
    controlled = apply_positive_control(OWN_SERVICE, observed)
    assert [controlled[r, "blue svc:5353/udp"] for r in PODS] == [E, E]
    assert controlled.evidence["blue/b", "blue svc:5353/udp"].endswith(
        "so denials prove nothing: no cell of column blue svc:5353/udp is allowed"
    )
    assert _verdict(OWN_SERVICE, observed) == "ERROR"


def test_a_row_expected_all_denied_stays_evidence_while_its_columns_answer() -> None:
    # another tenant's pod has no row control (nothing of its row is expected allowed): its denials count
    # where the destination answered its own tenant, and are errors where it answered no one
    rows = ("blue/a", "green/a")
    expected = Matrix.build(rows, NAMES, {**{("blue/a", c): A for c in NAMES}, **{("green/a", c): D for c in NAMES}})
    assert _verdict(expected, _seen(rows, NAMES, [[A, A], [D, D]])) == "PASS"
    assert _verdict(expected, _seen(rows, NAMES, [[A, A], [D, A]])) == "FAIL"
    controlled = apply_positive_control(expected, _seen(rows, NAMES, [[A, E], [D, D]]))
    assert controlled["green/a", "blue svc:8080/tcp"] is D
    assert controlled["green/a", "blue svc:5353/udp"] is E


def test_a_matrix_expected_all_denied_has_no_control() -> None:
    rows, columns = ("outside",), ("a", "b")
    expected = Matrix.build(rows, columns, {("outside", "a"): D, ("outside", "b"): D})
    observed = _seen(rows, columns, [[D, D]])
    assert apply_positive_control(expected, observed) == observed


def test_a_single_cell_control_is_never_its_own_control() -> None:
    # one row, one column (a storage-separation row): a refused control is ERROR, never FAIL
    expected = Matrix.build(["owner mounts"], ["access"], {("owner mounts", "access"): A})
    assert _verdict(expected, _seen(("owner mounts",), ("access",), [[D]])) == "ERROR"


@given(
    st.lists(st.sampled_from([A, D]), min_size=6, max_size=6),
    st.lists(st.sampled_from([A, D, E, Cell.UNOBSERVED]), min_size=6, max_size=6),
)
def test_the_controls_only_ever_decide_fail_or_error_never_a_pass(wanted: list[Cell], seen: list[Cell]) -> None:
    rows, columns = ("r1", "r2", "r3"), ("c1", "c2")
    keys = [(r, c) for r in rows for c in columns]
    expected = Matrix.build(rows, columns, dict(zip(keys, wanted, strict=True)))
    observed = Matrix.build(rows, columns, {k: v for k, v in zip(keys, seen, strict=True) if v is not Cell.UNOBSERVED})
    controlled = apply_positive_control(expected, observed)
    assert {k: v for k, v in controlled.cells.items() if v is not observed[k]} == {
        k: E for k, v in controlled.cells.items() if v is not observed[k]
    }, "only DENIED cells change, and only to ERROR"
    assert all(observed[k] is D for k, v in controlled.cells.items() if v is not observed[k])
    assert compare(expected, controlled).passed is compare(expected, observed).passed
    if all(observed[k] is A for k, v in expected.cells.items() if v is A):
        assert controlled == observed, "an honest run (every control held) is judged as observed"


def _requirement_control_before(observed: Matrix, controls: list[tuple[str, str]]) -> Matrix:
    """The requirement tables' own control rule as checks.verdicts had it before the one rule (the oracle)."""
    failed = [(r, c) for r, c in controls if observed[r, c] is not A]
    if not failed:
        return observed
    return Matrix(observed.rows, observed.columns, {k: (E if v is D else v) for k, v in observed.cells.items()})


@given(
    st.lists(st.sampled_from([A, D, E, Cell.UNOBSERVED]), min_size=6, max_size=6),
    st.lists(st.sampled_from([("r1", "c1"), ("r2", "c2"), ("r3", "c1")]), max_size=2),
)
def test_named_controls_judge_a_requirement_table_as_its_own_rule_did(
    seen: list[Cell], controls: list[tuple[str, str]]
) -> None:
    rows, columns = ("r1", "r2", "r3"), ("c1", "c2")
    keys = [(r, c) for r in rows for c in columns]
    expected = Matrix.build(rows, columns, dict.fromkeys(keys, A))
    observed = Matrix.build(rows, columns, {k: v for k, v in zip(keys, seen, strict=True) if v is not Cell.UNOBSERVED})
    controlled = apply_positive_control(expected, observed, controls)
    assert controlled.cells == _requirement_control_before(observed, controls).cells
    verdict = compare(expected, controlled)
    before = compare(expected, _requirement_control_before(observed, controls))
    assert (verdict.passed, bool(verdict.mismatches)) == (before.passed, bool(before.mismatches))
    if all(observed[k] is A for k in controls):
        assert controlled == observed, "an honest run (every control held) is judged as observed"


def test_a_named_control_outside_the_table_is_refused_and_a_failed_one_is_named() -> None:
    observed = Matrix.build(
        ["t"], ["control", "empty"], {("t", "control"): E, ("t", "empty"): D}, {("t", "control"): "no pod"}
    )
    with pytest.raises(KeyError, match="not a cell"):
        apply_positive_control(observed, observed, [("t", "absent")])
    controlled = apply_positive_control(observed, observed, [("t", "control")])
    assert controlled["t", "empty"] is E
    assert controlled.evidence["t", "empty"].startswith("positive control failed (t -> control is error: no pod)")


def test_the_deciding_layers_are_those_of_the_observed_cells_compared() -> None:
    layers = {
        ("blue/a", "blue/b:8080/tcp"): "-",
        ("blue/a", "green/b:8080/tcp"): "authorizer",
        ("green/a", "blue/b:8080/tcp"): "PodSecurity admission",
        ("green/a", "green/b:8080/tcp"): "authorizer",
    }
    observed = Matrix.build(ROWS, COLS, dict(EXPECTED.cells), {}, layers)
    assert decided_by(compare(EXPECTED, observed)) == ("authorizer", "PodSecurity admission")
    errors = Matrix.build(ROWS, COLS, {**EXPECTED.cells, ("green/a", "blue/b:8080/tcp"): E}, {}, layers)
    assert decided_by(compare(EXPECTED, errors)) == ("authorizer",), "an ERROR cell was decided by nobody"
    assert decided_by(compare(EXPECTED, Matrix.build(ROWS, COLS, dict(EXPECTED.cells)))) == ()


def test_a_denial_the_controls_void_loses_its_layer_and_a_re_probe_replaces_it() -> None:
    expected = Matrix.build(["a"], ["x", "y"], {("a", "x"): A, ("a", "y"): D})
    observed = Matrix.build(["a"], ["x", "y"], {("a", "x"): E, ("a", "y"): D}, {}, {("a", "y"): "authorizer"})
    assert apply_positive_control(expected, observed).layers == {}
    newer = Matrix.build(["a"], ["x", "y"], {("a", "y"): A}, {}, {("a", "y"): "-"})
    assert observed.merge(newer).layers == {("a", "y"): "-"}
    assert observed.merge(Matrix.build(["a"], ["x", "y"], {})).layers == {("a", "y"): "authorizer"}


def _wide(flip: tuple[str, str] | None = None) -> tuple[Matrix, Matrix]:
    """A comparison of 200 x 101 cells (past GRID_CELLS), every cell allowed; `flip` observed DENIED."""
    rows, columns = [f"r{i}" for i in range(200)], [f"c{j}" for j in range(101)]
    assert len(rows) * len(columns) > GRID_CELLS
    expected = {(r, c): Cell.ALLOWED for r in rows for c in columns}
    observed = dict(expected)
    if flip:
        observed[flip] = Cell.DENIED
    return Matrix.build(rows, columns, expected), Matrix.build(rows, columns, observed)


def test_a_wide_passing_comparison_draws_no_grid_and_says_so() -> None:
    comparison = compare(*_wide())
    text, table = comparison.render(), to_html_table(comparison)
    assert text.startswith("PASS\n\n20,200 cells compared in a grid of 200 rows x 101 columns, every one as expected")
    assert "no grid is drawn" in text
    assert "r17" not in text
    assert "PASS: 20,200 cells compared" in table
    assert "r17" not in table
    assert len(text) < 500


def test_a_wide_comparison_draws_the_rows_and_columns_of_its_differences_and_lists_each() -> None:
    comparison = compare(*_wide(flip=("r17", "c42")))
    text, table = comparison.render(), to_html_table(comparison)
    assert "1 of 200 rows and 1 of 101 columns" in text
    assert "expected ALLOWED, observed DENIED: r17 -> c42" in text
    assert "r17" in table
    assert "c42" in table
    assert "r18" not in table
    assert "c41" not in table


def test_a_small_comparison_draws_every_row_and_column() -> None:
    expected = Matrix.build(["a", "b"], ["x", "y"], {(r, c): Cell.ALLOWED for r in "ab" for c in "xy"})
    assert compare(expected, expected).drawn() == (("a", "b"), ("x", "y"), "")


class _Unrenderable:
    """A judged whose report may not be rendered: only a verdict that raises asks for it."""

    def __init__(self, comparison: object) -> None:
        self.comparison = comparison

    def report(self) -> str:
        raise RuntimeError("rendered a report for a passing verdict")


def test_require_renders_the_report_only_for_a_verdict_that_raises() -> None:
    expected = Matrix.build(["a"], ["x"], {("a", "x"): Cell.ALLOWED})
    require(_Unrenderable(compare(expected, expected)))  # type: ignore[arg-type]
    denied = Matrix.build(["a"], ["x"], {("a", "x"): Cell.DENIED})
    with pytest.raises(RuntimeError, match="rendered a report"):
        require(_Unrenderable(compare(expected, denied)))  # type: ignore[arg-type]
