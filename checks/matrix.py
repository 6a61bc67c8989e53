"""Access matrices, their comparison and its text and HTML renderings (pure).

Cells are an enum, never booleans. DENIED is only ever positive evidence (a
refusal, an unreachable network, a timeout the probe itself observed, a 403);
ERROR means the observation failed; UNOBSERVED means nobody looked. A comparison
with any ERROR or UNOBSERVED cell is not a pass, whatever the other cells say.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class Cell(enum.StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"
    UNOBSERVED = "unobserved"

    @property
    def symbol(self) -> str:
        return {Cell.ALLOWED: ".", Cell.DENIED: "X", Cell.ERROR: "E", Cell.UNOBSERVED: "?"}[self]


@dataclass(frozen=True)
class Matrix:
    """Rows (e.g. sources, subjects) by columns (targets, verbs on resources), every cell set or UNOBSERVED.

    `evidence`: what was seen, per cell; `layers`: who decided an observed cell, per cell, in the words of
    `provisioning.model.answers.Layer` ("PodSecurity admission", "authorizer", ...), set only where a
    probe knows it (the report's `decided_by`)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell] = field(default_factory=dict)
    evidence: Mapping[tuple[str, str], str] = field(default_factory=dict)
    layers: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def __getitem__(self, key: tuple[str, str]) -> Cell:
        return self.cells.get(key, Cell.UNOBSERVED)

    @classmethod
    def build(
        cls,
        rows: Iterable[str],
        columns: Iterable[str],
        cells: Mapping[tuple[str, str], Cell],
        evidence: Mapping[tuple[str, str], str] | None = None,
        layers: Mapping[tuple[str, str], str] | None = None,
    ) -> Matrix:
        return cls(tuple(rows), tuple(columns), dict(cells), dict(evidence or {}), dict(layers or {}))

    def only(
        self, keys: Collection[tuple[str, str]], rows: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> Matrix:
        """This matrix with only the cells of `keys` kept (their evidence and deciding layers too), the rest
        UNOBSERVED, on `rows` and `columns` if given (pure)."""
        return Matrix(
            tuple(self.rows if rows is None else rows),
            tuple(self.columns if columns is None else columns),
            {k: v for k, v in self.cells.items() if k in keys},
            {k: v for k, v in self.evidence.items() if k in keys},
            {k: v for k, v in self.layers.items() if k in keys},
        )

    def incomplete(self) -> list[tuple[str, str, Cell]]:
        """Cells that were not observed properly (ERROR or UNOBSERVED)."""
        return [
            (r, c, self[r, c]) for r in self.rows for c in self.columns if self[r, c] in (Cell.ERROR, Cell.UNOBSERVED)
        ]

    def merge(self, newer: Matrix) -> Matrix:
        """This matrix with `newer`'s observed cells laid over it (a re-probe of some cells)."""
        cells = {**self.cells, **{k: v for k, v in newer.cells.items() if v is not Cell.UNOBSERVED}}
        evidence = {**self.evidence, **newer.evidence}
        observed = {k for k, v in newer.cells.items() if v is not Cell.UNOBSERVED}
        layers = {**{k: v for k, v in self.layers.items() if k not in observed}, **newer.layers}
        return Matrix(self.rows, self.columns, cells, evidence, layers)

    def render(self, title: str = "") -> str:
        width = max([len(r) for r in self.rows] + [4])
        lines = [title] if title else []
        for i, column in enumerate(self.columns):
            lines.append(f"{'':>{width}}  {'|  ' * i}{column}")
        lines.append(f"{'':>{width}}  " + "  ".join("|" for _ in self.columns))
        for row in self.rows:
            lines.append(f"{row:>{width}}  " + "  ".join(self[row, c].symbol for c in self.columns))
        return "\n".join(lines)


# Cells of a comparison's grids past which a report draws only the rows and columns with a difference: a
# passing probe matrix of 100 tenants (200 sources x 597 targets) rendered 2.7 MB of text and 5 MB of HTML
# per attachment, past the attachment limit, and its rendering and redaction cost the run ~30 s.
GRID_CELLS = 20_000
MATRIX_TERMS = ("allowed", "denied")  # what ALLOWED and DENIED say in an access or reachability matrix
REQUIREMENT_TERMS = ("holds", "contradicted")  # ... and in a requirement table (a row per subject)


def term(cell: Cell, terms: tuple[str, str] = MATRIX_TERMS) -> str:
    """The word for `cell` in a report: ALLOWED and DENIED in the comparison's `terms`, else the value."""
    return {Cell.ALLOWED: terms[0], Cell.DENIED: terms[1]}.get(cell, cell.value)


@dataclass(frozen=True)
class Mismatch:
    row: str
    column: str
    expected: Cell
    observed: Cell
    evidence: str = ""
    terms: tuple[str, str] = MATRIX_TERMS

    def describe(self, reproduce: str = "") -> str:
        text = (
            f"expected {term(self.expected, self.terms).upper()}, observed {term(self.observed, self.terms).upper()}: "
            f"{self.row} -> {self.column}"
        )
        if self.evidence:
            text += f" ({self.evidence})"
        return text + (f" - reproduce: {reproduce}" if reproduce else "")


@dataclass(frozen=True)
class Comparison:
    expected: Matrix
    observed: Matrix
    mismatches: tuple[Mismatch, ...]
    incomplete: tuple[Mismatch, ...]
    terms: tuple[str, str] = MATRIX_TERMS  # what ALLOWED and DENIED mean here (REQUIREMENT_TERMS for tables)

    @property
    def passed(self) -> bool:
        """No mismatch, no cell left unobserved, and at least one cell compared (`nothing_compared`)."""
        return not self.mismatches and not self.incomplete and not self.nothing_compared()

    def nothing_compared(self) -> str:
        """Why the comparison compared no cell ("" when the expected matrix sets one): it has no rows or no
        columns, or it leaves every cell UNOBSERVED (not required). Nothing was observed then, and an
        unobserved cell never passes (the project's rule "a verdict is earned"): `checks.verdicts.require`
        ends such a check ERROR with this text, e.g. "nothing was observed: the comparison has no cells (0
        rows x 1 columns)"."""
        expected = self.expected
        rows, columns = len(expected.rows), len(expected.columns)
        if not rows or not columns:
            return f"nothing was observed: the comparison has no cells ({rows} rows x {columns} columns)"
        row_set, column_set = set(expected.rows), set(expected.columns)
        if any(
            cell is not Cell.UNOBSERVED and r in row_set and c in column_set for (r, c), cell in expected.cells.items()
        ):
            return ""
        return f"nothing was observed: the comparison expects no cell of its {rows} rows x {columns} columns"

    def drawn(self) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """(rows, columns, note) of the grids a report draws of this comparison (pure): every row and
        column up to GRID_CELLS cells; past that only the rows and the columns that hold a mismatch or a
        cell not observed properly (none when all held), the note saying how many of how many are drawn
        ("" when all are). Every difference is drawn and listed either way."""
        rows, columns = self.expected.rows, self.expected.columns
        if len(rows) * len(columns) <= GRID_CELLS:
            return rows, columns, ""
        differing = self.mismatches + self.incomplete
        kept_rows, kept_columns = {m.row for m in differing}, {m.column for m in differing}
        drawn_rows = tuple(r for r in rows if r in kept_rows)
        drawn_columns = tuple(c for c in columns if c in kept_columns)
        compared = sum(1 for cell in self.expected.cells.values() if cell is not Cell.UNOBSERVED)
        size = f"{compared:,} cells compared in a grid of {len(rows)} rows x {len(columns)} columns"
        if not differing:
            every = f"{size}, every one as expected: no grid is drawn (past {GRID_CELLS:,} cells only the rows"
            return (), (), f"{every} and columns with a difference are)"
        note = (
            f"{size}: past {GRID_CELLS:,} cells the grids draw only the rows and columns with a difference, "
            f"{len(drawn_rows)} of {len(rows)} rows and {len(drawn_columns)} of {len(columns)} columns"
        )
        return drawn_rows, drawn_columns, note

    def render(self) -> str:
        diff_cells = {(m.row, m.column): m.observed for m in self.mismatches + self.incomplete}
        rows, columns, note = self.drawn()
        expected = Matrix(rows, columns, self.expected.cells)
        observed = Matrix(rows, columns, self.observed.cells)
        diff = Matrix(rows, columns, diff_cells)
        parts = [note] if note else []
        if rows and columns:
            skipped = any(expected[r, c] is Cell.UNOBSERVED for r in rows for c in columns)
            parts += [
                expected.render(
                    f"expected (. {self.terms[0]}, X {self.terms[1]}{', ? not compared' if skipped else ''})"
                ),
                observed.render(f"observed (. {self.terms[0]}, X {self.terms[1]}, E error, ? unobserved)"),
                diff.render("differences (blank where observed = expected)").replace("?", " "),
            ]
        summary = [m.describe() for m in self.mismatches] + [
            f"not observed properly ({m.observed.value.upper()}): {m.row} -> {m.column}"
            + (f" ({m.evidence})" if m.evidence else "")
            for m in self.incomplete
        ]
        return "\n\n".join([self.verdict_line(), *parts, "\n".join(summary)]).rstrip() + "\n"

    def verdict_line(self) -> str:
        """The verdict as the rendering's first line: PASS, "FAIL: 1 mismatched, 0 not observed of 4 cells",
        "ERROR: 0 mismatched, 2 not observed of 4 cells", or "ERROR: nothing was observed: ..." for a
        comparison of no cell (`nothing_compared`)."""
        if self.mismatches or self.incomplete:
            return (
                f"{'FAIL' if self.mismatches else 'ERROR'}: {len(self.mismatches)} mismatched, "
                f"{len(self.incomplete)} not observed of "
                f"{len(self.expected.rows) * len(self.expected.columns)} cells"
            )
        empty = self.nothing_compared()
        return f"ERROR: {empty}" if empty else "PASS"


def to_html_table(comparison: Comparison) -> str:
    """`comparison` as an HTML table for a report attachment (pure): a row per drawn row, a column per
    drawn column (`Comparison.drawn`: all up to GRID_CELLS cells, else those with a difference, a line
    before the table saying so), each cell "<expected> / <observed>" (the Cell values), shaded where they
    differ, its observed evidence the cell's title; every name and evidence HTML-escaped."""
    expected, observed = comparison.expected, comparison.observed
    drawn_rows, drawn_columns, note = comparison.drawn()
    head = "".join(f"<th>{html.escape(c)}</th>" for c in drawn_columns)
    rows = []
    for row in drawn_rows:
        cells = []
        for column in drawn_columns:
            want, got = expected[row, column], observed[row, column]
            style = "" if want is got else ' style="background:#fbdada"'
            title = html.escape(observed.evidence.get((row, column), ""))
            cells.append(f'<td{style} title="{title}">{want.value} / {got.value}</td>')
        rows.append(f"<tr><th>{html.escape(row)}</th>{''.join(cells)}</tr>")
    before = f"<p>{html.escape(comparison.verdict_line())}: {html.escape(note)}</p>" if note else ""
    if not drawn_rows or not drawn_columns:
        return before or "<p>no cells</p>"
    return (
        f"{before}<table border=1><caption>expected / observed</caption><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def compare(expected: Matrix, observed: Matrix, terms: tuple[str, str] = MATRIX_TERMS) -> Comparison:
    """Compare cell by cell over the expected matrix's rows and columns; `terms` name ALLOWED and DENIED in
    the comparison's text (MATRIX_TERMS, or REQUIREMENT_TERMS for a requirement table).

    Every cell the expected matrix sets must be observed; cells it leaves UNOBSERVED are not required.
    """
    mismatches, incomplete = [], []
    wanted, seen, unobserved = expected.cells, observed.cells, Cell.UNOBSERVED  # the loop runs 10^5 times
    for row in expected.rows:
        for column in expected.columns:
            key = (row, column)
            want = wanted.get(key, unobserved)
            if want is unobserved:
                continue
            got = seen.get(key, unobserved)
            if got is Cell.ERROR or got is unobserved:
                incomplete.append(Mismatch(row, column, want, got, observed.evidence.get(key, ""), terms))
            elif want is not got:
                mismatches.append(Mismatch(row, column, want, got, observed.evidence.get(key, ""), terms))
    return Comparison(expected, observed, tuple(mismatches), tuple(incomplete), terms)


def apply_positive_control(
    expected: Matrix, observed: Matrix, controls: Sequence[tuple[str, str]] | None = None
) -> Matrix:
    """`observed` with every DENIED cell that proves nothing turned ERROR, its evidence saying why: the
    one positive-control rule of every comparison (matrices here, requirement tables through
    `checks.verdicts.requirement_comparison`).

    Shape: both matrices are rows (sources, subjects) by columns (destinations, requests, requirements);
    the result has `observed`'s rows, columns and cells, only DENIED cells change (to ERROR, their
    deciding layer dropped: nothing decided them).

    Rule: a DENIED cell counts only when its positive controls held; else it becomes ERROR, its evidence
    "positive control failed (<row> -> <column> is <seen>: <detail>), so denials prove nothing: <which>"
    naming the first control cell that was not observed ALLOWED. Which cells are a DENIED cell's controls:

    - `controls` None (an access or reachability matrix): its row and its column, the probe-connectivity
      practice of the upstream NetworkPolicy e2e tests (kubernetes/test/e2e/network/netpol
      waitForHTTPServers: every server must be seen to answer, on every protocol, with the same probe,
      before a blocked pair counts as blocked by policy):
      - the row control: a row with an expected-ALLOWED cell must have an observed ALLOWED cell (the
        source or identity demonstrably works); a row expected all DENIED has no row control;
      - the column control: a column with an expected-ALLOWED cell must have an observed ALLOWED cell (the
        destination demonstrably answers); a column expected all DENIED has no column control.
      A cell is never its own control: a column whose only expected-ALLOWED cell is observed DENIED is a
      failed column control (the destination may simply not answer), so such a cell is ERROR, never FAIL;
      so is a row whose only expected-ALLOWED cell is (a matrix of one column, e.g. storage separation).
    - `controls` named (a requirement table, whose cells are requirements, not reachability): those
      cells, for every cell of the table (e.g. a pod of the tenant ran and read its volume); none named,
      no control.

    Every other DENIED cell stays evidence: an expected-ALLOWED cell observed DENIED where its controls
    held is a real mismatch (the product over-blocks, a requirement does not hold), an expected-DENIED
    one is a fence that holds. Only DENIED cells change, so a failed control never makes a comparison
    pass (its cell is DENIED, ERROR or UNOBSERVED: a mismatch or incomplete) and never hides an ALLOWED
    cell expected DENIED; the rule only decides whether a denial is FAIL or ERROR. Pure; raises KeyError
    for a named control that is no cell of `observed`.
    """
    failed = _row_and_column_controls(expected, observed) if controls is None else _named_controls(observed, controls)
    notes = {k: failed(*k) for k, cell in observed.cells.items() if cell is Cell.DENIED}
    notes = {k: note for k, note in notes.items() if note}
    if not notes:
        return observed
    cells = {**observed.cells, **dict.fromkeys(notes, Cell.ERROR)}
    evidence = {**observed.evidence, **notes}
    layers = {k: v for k, v in observed.layers.items() if k not in notes}
    return Matrix(observed.rows, observed.columns, cells, evidence, layers)


def _row_and_column_controls(expected: Matrix, observed: Matrix) -> Callable[[str, str], str]:
    """The note of a cell whose row or column control failed ("" when both held)."""
    allowed_rows = {r for (r, _), cell in observed.cells.items() if cell is Cell.ALLOWED}
    allowed_columns = {c for (_, c), cell in observed.cells.items() if cell is Cell.ALLOWED}
    dead_rows: dict[str, tuple[str, str]] = {}  # row -> its first expected-ALLOWED cell not observed ALLOWED
    dead_columns: dict[str, tuple[str, str]] = {}
    seen = observed.cells
    for (row, column), want in expected.cells.items():
        if want is not Cell.ALLOWED or seen.get((row, column)) is Cell.ALLOWED:
            continue
        if row not in allowed_rows:
            dead_rows.setdefault(row, (row, column))
        if column not in allowed_columns:
            dead_columns.setdefault(column, (row, column))

    def note(row: str, column: str) -> str:
        if row in dead_rows:
            return _control_note(observed, dead_rows[row], f"no cell of row {row} is allowed")
        if column in dead_columns:
            return _control_note(observed, dead_columns[column], f"no cell of column {column} is allowed")
        return ""

    return note


def _named_controls(observed: Matrix, controls: Sequence[tuple[str, str]]) -> Callable[[str, str], str]:
    """The note of every cell when a named control cell is not ALLOWED ("" when all held)."""
    for row, column in controls:
        if row not in observed.rows or column not in observed.columns:
            raise KeyError(f"positive control {row} -> {column} is not a cell of the table")
    failed = [(r, c) for r, c in controls if observed[r, c] is not Cell.ALLOWED]
    text = _control_note(observed, failed[0], "a control of the table did not hold") if failed else ""
    return lambda _row, _column: text


def decided_by(comparison: Comparison) -> tuple[str, ...]:
    """Who decided the compared cells that were observed (ALLOWED or DENIED) and name a deciding layer
    (`Matrix.layers`, "-" and "" are nobody), in row and column order, each once."""
    observed = comparison.observed
    layers = (
        observed.layers.get((r, c), "")
        for r in comparison.expected.rows
        for c in comparison.expected.columns
        if comparison.expected[r, c] is not Cell.UNOBSERVED and observed[r, c] in (Cell.ALLOWED, Cell.DENIED)
    )
    return tuple(dict.fromkeys(layer for layer in layers if layer not in ("", "-")))


def _control_note(observed: Matrix, control: tuple[str, str], which: str) -> str:
    row, column = control
    seen = observed[row, column].value
    detail = observed.evidence.get(control)
    because = f"{seen}: {detail}" if detail else seen
    return f"positive control failed ({row} -> {column} is {because}), so denials prove nothing: {which}"
