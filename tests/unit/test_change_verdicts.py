"""Isolation under change (checks/network/changes.py): the time to enforce each change, in seconds, and
whether a change was late (observed contradicting the policies in force past the product's deadline)
or not observed at all (ERROR, never late); and the reachability table attached to every verdict
(checks/network/reachability.py)."""

from __future__ import annotations

from checks.matrix import Cell, Matrix, compare, to_html_table
from checks.network.changes import Change, ChangeVerdict, enforce, enforcement_figure, summary
from checks.network.reachability import Verdict

EXPECTED = Matrix.build(["blue/a"], ["green/a:8080/tcp"], {("blue/a", "green/a:8080/tcp"): Cell.DENIED})


def verdict(observed: Cell, seconds: float, attempts: int = 3) -> Verdict:
    matrix = Matrix.build(EXPECTED.rows, EXPECTED.columns, {("blue/a", "green/a:8080/tcp"): observed})
    return Verdict(compare(EXPECTED, matrix), attempts, seconds, attempts)


def test_an_enforced_change_says_how_long_it_took() -> None:
    change = ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 2.34), 10.0)
    assert change.seconds == 2.34
    assert not change.late
    assert change.line() == "relabel a pod: enforced in 2.3s, 3 observation(s)"


def test_a_change_still_contradicted_past_the_deadline_is_late() -> None:
    change = ChangeVerdict("remove the admit policy", verdict(Cell.ALLOWED, 10.46, 7), 10.0)
    assert change.late
    assert change.line() == "remove the admit policy: not enforced after 10.5s (deadline 10s), 7 observation(s)"


def test_a_change_that_could_not_be_observed_is_not_late_but_not_enforced() -> None:
    for cell in (Cell.ERROR, Cell.UNOBSERVED):
        change = ChangeVerdict("relabel a namespace", verdict(cell, 10.0), 10.0)
        assert not change.late, "an observation that failed is ERROR, never a late dataplane"
        assert "not enforced after 10.0s" in change.line()


def test_the_summary_gives_median_and_worst_time_per_kind_of_enforced_change() -> None:
    verdicts = [
        ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 1.0), 10.0),
        ChangeVerdict("relabel a namespace", verdict(Cell.DENIED, 4.0), 10.0),
        ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 3.0), 10.0),
        ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 8.0), 10.0),
        ChangeVerdict("relabel a pod", verdict(Cell.ALLOWED, 12.0), 10.0),
        ChangeVerdict("remove the admit policy", verdict(Cell.ERROR, 11.0), 10.0),
    ]
    assert summary(verdicts).splitlines() == [
        "relabel a pod: median 3.0s, worst 8.0s over 3 change(s), 1 not enforced",
        "relabel a namespace: median 4.0s, worst 4.0s over 1 change(s)",
        "remove the admit policy: never enforced over 0 change(s), 1 not enforced",
    ]
    assert summary([]) == ""


def test_the_reports_figure_is_median_and_worst_over_every_enforced_change() -> None:
    verdicts = [
        ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 1.0), 10.0),
        ChangeVerdict("relabel a namespace", verdict(Cell.DENIED, 4.0), 10.0),
        ChangeVerdict("relabel a pod", verdict(Cell.DENIED, 3.0), 10.0),
        ChangeVerdict("remove the admit policy", verdict(Cell.ALLOWED, 12.0), 10.0),
    ]
    assert enforcement_figure(verdicts) == (
        "time to enforce: median 3.0 s, worst 4.0 s (relabel a namespace) over 3 changes, 1 not enforced"
    )
    late = [ChangeVerdict("remove the admit policy", verdict(Cell.ALLOWED, 12.0), 10.0)]
    assert enforcement_figure(late) == "time to enforce: no change enforced of 1"


def test_enforce_makes_the_change_before_it_computes_the_expectation_and_observes() -> None:
    calls: list[str] = []

    def expect() -> Matrix:
        calls.append("expect")
        return EXPECTED

    def observe() -> tuple[Matrix, int]:
        calls.append("observe")
        return Matrix.build(EXPECTED.rows, EXPECTED.columns, {("blue/a", "green/a:8080/tcp"): Cell.DENIED}), 1

    outcome = enforce(Change("relabel a pod", lambda: calls.append("change")), expect, observe, 5.0)
    assert calls == ["change", "expect", "observe"]
    assert outcome.kind == "relabel a pod"
    assert outcome.deadline == 5.0
    assert outcome.verdict.comparison.passed
    assert outcome.verdict.attempts == 1
    assert 0 <= outcome.seconds < 5.0


def test_the_attached_table_marks_each_difference_and_escapes_names_and_evidence() -> None:
    expected = Matrix.build(
        ["<blue>/a"], ["x&y", "z"], {("<blue>/a", "x&y"): Cell.DENIED, ("<blue>/a", "z"): Cell.ALLOWED}
    )
    observed = Matrix.build(
        ["<blue>/a"],
        ["x&y", "z"],
        {("<blue>/a", "x&y"): Cell.ALLOWED, ("<blue>/a", "z"): Cell.ALLOWED},
        {("<blue>/a", "x&y"): 'connected: "hello"'},
    )
    table = to_html_table(compare(expected, observed))
    assert "<th>&lt;blue&gt;/a</th>" in table
    assert "<th>x&amp;y</th>" in table
    assert '<td style="background:#fbdada" title="connected: &quot;hello&quot;">denied / allowed</td>' in table
    assert '<td title="">allowed / allowed</td>' in table
    assert table.count("#fbdada") == 1
