"""Observe reachability until it matches the expectation or the attempts run out (eventual consistency)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import allure

from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare, to_html_table
from checks.verdicts import require
from harness.wait import WaitTimeout, wait_until

__all__ = ["Verdict", "attach", "observe_until_converged", "require"]  # require: the one verdict rule


@dataclass(frozen=True)
class Verdict:
    comparison: Comparison
    attempts: int
    seconds: float
    probes: int

    def report(self) -> str:
        both, pairs = tenant_pairs(self.comparison.observed)
        return (
            f"{self.comparison.render()}\nobserved in {self.attempts} attempt(s), {self.seconds:.1f}s, "
            f"{self.probes} probes" + (f"\ntenant pairs observed both ways: {both} of {pairs}" if pairs else "")
        )


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
) -> Verdict:
    """Re-probe the whole matrix, at most `attempts` times and within `within` seconds, spaced by a
    growing interval, until it matches (rules and routes take a moment to be programmed); the last
    observation decides. Only ever compares: the caller asserts on `Verdict.comparison.passed`."""
    began = started if started is not None else time.monotonic()
    rounds: list[tuple[Comparison, int]] = []

    def one_round() -> Comparison:
        observed, count = observe()
        rounds.append((compare(expected, apply_positive_control(expected, observed)), count))
        return rounds[-1][0]

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
    return Verdict(rounds[-1][0], len(rounds), time.monotonic() - began, sum(count for _, count in rounds))


def attach(verdict: Verdict, name: str) -> None:
    allure.attach(verdict.report(), name=f"{name} (text)", attachment_type=allure.attachment_type.TEXT)
    allure.attach(
        to_html_table(verdict.comparison), name=f"{name} (table)", attachment_type=allure.attachment_type.HTML
    )
