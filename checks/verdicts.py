"""How a check ends: pass, fail (an observation contradicts the expectation) or ERROR.

Every check takes one road: its model says what must hold (an expected matrix of cells, or a requirement
table of the same shape), its probes observe and never assert (cells ALLOWED, DENIED, ERROR or
UNOBSERVED, with evidence), `checks.matrix.compare` compares after the positive controls, and `require`
(the one verdict rule) ends the check.

A requirement table is a matrix whose rows are subjects (a tenant, a claim, a cluster) and whose columns
are requirements of the check ("bound to a volume of the default class in time"): a cell is ALLOWED when
the requirement was observed to hold, DENIED when an observation contradicts it (its evidence says what
was seen), ERROR when it could not be observed. Every cell is expected ALLOWED; its positive controls
are cells that show the observation worked at all (e.g. a pod of the tenant ran and read its volume):
when one is not ALLOWED, no DENIED cell of the table is evidence (ERROR, never a failure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from checks import decided
from checks.evidence import attach_text
from checks.matrix import (
    REQUIREMENT_TERMS,
    Cell,
    Comparison,
    Matrix,
    apply_positive_control,
    compare,
    decided_by,
    term,
)

Observed = tuple[Cell, str]  # a cell and its evidence


class Inconclusive(Exception):
    """Something could not be observed (an error, a timeout, an unobserved cell) and nothing observed
    contradicts the expectation: the check is ERROR (Allure: broken), never a pass and never a
    failure of the product."""


class Judged(Protocol):
    """A comparison with its own report (e.g. a reachability verdict: the comparison of its last round,
    and how many rounds and probes it took)."""

    @property
    def comparison(self) -> Comparison: ...

    def report(self) -> str: ...


def require(judged: Comparison | Judged, report: str = "") -> None:
    """The one verdict rule. Pass; fail (AssertionError) when an observed cell contradicts the
    expectation; otherwise ERROR (Inconclusive) when cells could not be observed, or when the comparison
    has no cell at all (no rows, no columns, or no cell expected: `Comparison.nothing_compared`, its text
    first in the message, e.g. "nothing was observed: the comparison has no cells (0 rows x 1 columns)").
    An ERROR cell is never a failure of the product, and an empty comparison is never a pass: a caller
    whose check may legitimately have nothing to compare says so before calling (the scenario not
    applicable, by its `@needs_*` tags or `pytest.skip("not applicable: ...")`). The message is `report`,
    else the judged's own report (a Comparison's rendering). Before it ends the check it records who
    decided the observed cells (`checks.matrix.decided_by`) as the scenario's deciding layers
    (`checks.decided`)."""
    comparison = judged if isinstance(judged, Comparison) else judged.comparison
    decided.record(decided_by(comparison))

    def text() -> str:  # rendered only for a verdict that raises: a passing matrix of 100 tenants is 2 MB
        return report or (judged.render() if isinstance(judged, Comparison) else judged.report())

    if comparison.mismatches:
        raise AssertionError(text())
    if comparison.incomplete:
        raise Inconclusive(text())
    empty = comparison.nothing_compared()
    if empty:  # named first, unless the report already names it (a comparison's rendering does)
        raise Inconclusive(text() if empty in text() else f"{empty}\n\n{text()}".rstrip())


def holds(ok: bool, evidence: str) -> Observed:
    """A requirement observed: ALLOWED (it holds) or DENIED (the observation contradicts it)."""
    return (Cell.ALLOWED if ok else Cell.DENIED), evidence


def requirement_table(column: str, rows: Mapping[str, Observed], layers: Mapping[str, str] | None = None) -> Matrix:
    """A one-requirement table: `rows` maps each subject to its observed cell and evidence, in order;
    `layers` each subject to who decided its cell (an `answers.Layer` value), where known."""
    return Matrix.build(
        rows,
        [column],
        {(r, column): cell for r, (cell, _) in rows.items()},
        {(r, column): e for r, (_, e) in rows.items()},
        {(r, column): layer for r, layer in (layers or {}).items()},
    )


def requirement_row(row: str, cells: Mapping[str, Observed], layers: Mapping[str, str] | None = None) -> Matrix:
    """A one-subject table: `cells` maps each requirement (column) to its observed cell and evidence;
    `layers` each requirement to who decided its cell (an `answers.Layer` value), where known."""
    return Matrix.build(
        [row],
        cells,
        {(row, c): cell for c, (cell, _) in cells.items()},
        {(row, c): e for c, (_, e) in cells.items()},
        {(row, c): layer for c, layer in (layers or {}).items()},
    )


def stacked(tables: Iterable[Matrix]) -> Matrix:
    """Tables of the same columns, one under the other (rows in order, no row twice)."""
    tables = list(tables)
    columns = tables[0].columns if tables else ()
    rows = [r for t in tables for r in t.rows]
    if any(t.columns != columns for t in tables) or len(rows) != len(set(rows)):
        raise ValueError("tables to stack need the same columns and distinct rows")
    cells = {k: v for t in tables for k, v in t.cells.items()}
    evidence = {k: v for t in tables for k, v in t.evidence.items()}
    layers = {k: v for t in tables for k, v in t.layers.items()}
    return Matrix.build(rows, columns, cells, evidence, layers)


def requirement_comparison(observed: Matrix, controls: Sequence[tuple[str, str]] = ()) -> Comparison:
    """Every cell of `observed`'s rows and columns expected ALLOWED (it holds), compared after the
    positive controls by the one rule (`checks.matrix.apply_positive_control` with the named
    `controls`): when a control cell (row, column) is not ALLOWED, every DENIED cell becomes ERROR, its
    evidence naming the control. Raises KeyError for a control outside the table."""
    expected = Matrix.build(
        observed.rows, observed.columns, {(r, c): Cell.ALLOWED for r in observed.rows for c in observed.columns}
    )
    return compare(expected, apply_positive_control(expected, observed, controls), REQUIREMENT_TERMS)


def report(comparison: Comparison, heading: str = "") -> str:
    """The comparison and every observed cell's evidence, as text (the Allure attachment and the
    verdict's message)."""
    observed = comparison.observed
    evidence = [
        f"{r} / {c}: {term(observed[r, c], comparison.terms)} - {observed.evidence[r, c]}"
        for r in observed.rows
        for c in observed.columns
        if (r, c) in observed.evidence
    ]
    parts = [heading] if heading else []
    return "\n".join([*parts, comparison.render(), "evidence:", *evidence])


def require_rows(
    rows: Mapping[str, Observed], report: str, requirement: str = "holds", layers: Mapping[str, str] | None = None
) -> None:
    """Each subject's one requirement (`rows`: subject -> its observed cell and evidence; `layers`:
    subject -> who decided it, where known) as a one-column requirement table, ended by the one verdict
    rule with `report` as the message: a DENIED cell fails, else an ERROR or UNOBSERVED one is ERROR,
    else pass. No rows: ERROR (Inconclusive, "nothing was observed: the comparison has no cells (0 rows x
    1 columns)"), never a pass: nothing was observed."""
    require(requirement_comparison(requirement_table(requirement, rows, layers)), report)


def decide(comparison: Comparison, name: str, heading: str = "") -> None:
    """Attach the comparison (as `name`) and end the check by the one verdict rule (`require`)."""
    text = report(comparison, heading)
    attach_text(text, name)
    require(comparison, text)
