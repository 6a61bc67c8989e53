"""Observe reachability until it matches the expectation or the attempts run out (eventual consistency)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import allure

from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare, to_html_table
from checks.network.runs import Cells
from checks.verdicts import require
from harness.wait import WaitTimeout, wait_until

__all__ = ["Verdict", "attach", "observe_until_converged", "require"]  # require: the one verdict rule


@dataclass(frozen=True)
class Verdict:
    comparison: Comparison
    attempts: int
    seconds: float
    probes: int
    retried: str = ""  # what differed in the first attempt, when there were more (`first_differences`)

    def report(self) -> str:
        both, pairs = tenant_pairs(self.comparison.observed)
        return (
            f"{self.comparison.render()}\nobserved in {self.attempts} attempt(s), {self.seconds:.1f}s, "
            f"{self.probes} probes"
            + (f"\ntenant pairs observed both ways: {both} of {pairs}" if pairs else "")
            + (f"\n{self.retried}" if self.retried else "")
        )


def first_differences(comparison: Comparison, shown: int = 5) -> str:
    """What differed in a first attempt that was not the last (pure): the count, then the `shown` most
    common kinds, each "N expected X, observed Y (outcome)" with the probe's outcome word ("timeout",
    "refused", "dns-failure", ...) from the evidence, e.g. "first attempt: 12 cells differed: 10 expected
    allowed, observed denied (timeout); 2 expected denied, observed error (exec failed)"."""
    kinds: dict[str, int] = {}
    for m in comparison.mismatches + comparison.incomplete:
        outcome = m.evidence.split(":", 1)[0].split("(", 1)[0].strip() or "no evidence"
        kind = f"expected {m.expected.value}, observed {m.observed.value} ({outcome})"
        kinds[kind] = kinds.get(kind, 0) + 1
    common = sorted(kinds.items(), key=lambda item: -item[1])[:shown]
    total = sum(kinds.values())
    return f"first attempt: {total} cells differed: " + "; ".join(f"{n} {kind}" for kind, n in common)


def tenant_pairs(observed: Matrix) -> tuple[int, int]:
    """(pairs of tenants observed both ways, pairs of tenants) of a probe matrix (pure): rows are source
    pods "tenant/app", columns targets owned by a pod "tenant/app:port/protocol"; a pair {a, b} counts
    when some cell from a's pods to b's and some cell from b's pods to a's is ALLOWED or DENIED (an error
    or an unobserved cell observes nothing). Pairs are of the tenants that are both sources and owners of
    targets; columns of no row's tenant (addresses, names) are not pairs; (0, 0) for fewer than two."""
    tenants = {row.split("/", 1)[0] for row in observed.rows if "/" in row}
    owner = {c: c.split("/", 1)[0] for c in observed.columns if "/" in c and c.split("/", 1)[0] in tenants}
    seen: set[tuple[str, str]] = set()
    for (row, column), cell in observed.cells.items():
        source, target = row.split("/", 1)[0], owner.get(column)
        if target is not None and source != target and cell in (Cell.ALLOWED, Cell.DENIED):
            seen.add((source, target))
    both_ends = sorted(tenants & set(owner.values()))
    pairs = {frozenset((a, b)) for a in both_ends for b in both_ends if a != b}
    both = sum(1 for pair in pairs if {(a, b) for a in pair for b in pair if a != b} <= seen)
    return both, len(pairs)


def observe_until_converged(
    expected: Matrix,
    observe: Callable[[], tuple[Matrix, int]],
    attempts: int,
    started: float | None = None,
    within: float = 20.0,
    recheck: Callable[[Cells], tuple[Matrix, int]] | None = None,
) -> Verdict:
    """Re-probe, at most `attempts` times and within `within` seconds, spaced by a growing interval,
    until the matrix matches (rules and routes take a moment to be programmed); the last observation of
    each cell decides. Without `recheck` every round probes the whole matrix (`observe`) and the window
    opens with the first round. With `recheck` (probe only these cells: `ProbeRun.recheck`) the first
    round probes the whole matrix and each later one only the cells that did not match (the mismatched,
    and those a failed positive control left undecided), merged into the last observation; the window
    opens after the first round, so a matrix whose one round takes longer than `within` (a hundred
    tenants: ~25 s) still gets a second look at the cells that differ. Only ever compares: the caller
    asserts on `Verdict.comparison.passed`."""
    began = started if started is not None else time.monotonic()
    rounds: list[tuple[Comparison, int]] = []
    last: list[Matrix] = []

    def one_round() -> Comparison:
        if recheck is not None and last:
            differing = {(m.row, m.column) for m in rounds[-1][0].mismatches + rounds[-1][0].incomplete}
            again, count = recheck(differing)
            observed = merged(last[-1], again, differing)
        else:
            observed, count = observe()
        last.append(observed)
        rounds.append((compare(expected, apply_positive_control(expected, observed)), count))
        return rounds[-1][0]

    if recheck is not None and one_round().passed:
        return Verdict(rounds[-1][0], 1, time.monotonic() - began, rounds[-1][1])
    with contextlib.suppress(WaitTimeout):  # the last round decides
        wait_until(
            one_round,
            lambda comparison: comparison.passed or len(rounds) >= attempts,
            timeout=within,
            what="the observed reachability to converge",
            interval=1.0,
            max_interval=3.0,
            retry_on=(),
        )
    retried = first_differences(rounds[0][0]) if len(rounds) > 1 else ""
    return Verdict(rounds[-1][0], len(rounds), time.monotonic() - began, sum(count for _, count in rounds), retried)


def merged(observed: Matrix, again: Matrix, cells: Cells) -> Matrix:
    """`observed` with `cells` taken from `again` where `again` observed them (pure): cells, evidence and
    layers; the rest, and a cell `again` left unobserved, stay as they were."""
    taken = {key for key in cells if again[key] is not Cell.UNOBSERVED}
    return Matrix.build(
        observed.rows,
        observed.columns,
        {**observed.cells, **{key: again[key] for key in taken}},
        {**observed.evidence, **{key: again.evidence[key] for key in taken if key in again.evidence}},
        {**observed.layers, **{key: again.layers[key] for key in taken if key in again.layers}},
    )


def attach(verdict: Verdict, name: str) -> None:
    allure.attach(verdict.report(), name=f"{name} (text)", attachment_type=allure.attachment_type.TEXT)
    allure.attach(
        to_html_table(verdict.comparison), name=f"{name} (table)", attachment_type=allure.attachment_type.HTML
    )
