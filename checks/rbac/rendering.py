"""The access matrices' text and attachments: a wide matrix one line per column (pure), and the Allure
attachments of a comparison and of the three ways."""

from __future__ import annotations

import html

import allure

from checks.matrix import Comparison, Matrix, to_html_table
from checks.rbac.access import Observation
from checks.rbac.credentials import mark_impersonated

WIDE = 40  # columns past which a matrix is written one line per column (its text grows with its cells,
# not with the square of its columns: the whole access matrix, 2,300 columns, made 8 MB per way)
SPARSE = 0.25  # a wide matrix with fewer cells set than this share of rows x columns (the covering design
# asks a few cells of each row and column) is written one line per cell set: its text grows with what was asked


def sparse(matrix: Matrix) -> bool:
    """`matrix` is wide and has few cells set: written one line per cell (see SPARSE)."""
    return len(matrix.columns) > WIDE and len(matrix.cells) < SPARSE * len(matrix.rows) * len(matrix.columns)


def render_matrix(matrix: Matrix, title: str = "") -> str:
    """`matrix` as text: Matrix.render up to WIDE columns, else one line per column, the rows' symbols
    (. allowed, X denied, E error, ? unobserved) in the order of a legend line, or for a `sparse` one a
    line per cell set (pure)."""
    if len(matrix.columns) <= WIDE:
        return matrix.render(title)
    if sparse(matrix):
        lines = [title] if title else []
        lines.append("one line per cell asked: symbol, row -> column (cells not asked are not listed)")
        lines += [f"{cell.symbol}  {r} -> {c}" for (r, c), cell in matrix.cells.items()]
        return "\n".join(lines)
    legend = ", ".join(f"{i + 1} {row}" for i, row in enumerate(matrix.rows))
    lines = [title] if title else []
    lines.append(f"one line per column, one symbol per row: {legend}")
    lines += [f"{''.join(matrix[r, c].symbol for r in matrix.rows)}  {c}" for c in matrix.columns]
    return "\n".join(lines)


def render_comparison(comparison: Comparison) -> str:
    """`comparison` as text: Comparison.render up to WIDE columns, else the verdict, every mismatch and
    cell not observed properly, then one line per column: expected, observed and differences (blank where
    observed = expected), one symbol per row, or for a `sparse` one (a covering design's) one line per cell
    asked (pure; the same verdict line and findings as Comparison.render, its count the cells judged)."""
    if len(comparison.expected.columns) <= WIDE:
        return comparison.render()
    expected, observed = comparison.expected, comparison.observed
    wrong = {(m.row, m.column) for m in comparison.mismatches + comparison.incomplete}
    legend = ", ".join(f"{i + 1} {row}" for i, row in enumerate(expected.rows))
    summary = [m.describe() for m in comparison.mismatches] + [
        f"not observed properly ({m.observed.value.upper()}): {m.row} -> {m.column}"
        + (f" ({m.evidence})" if m.evidence else "")
        for m in comparison.incomplete
    ]
    cells = len(expected.cells) if sparse(expected) else len(expected.rows) * len(expected.columns)
    verdict = (
        f"{'FAIL' if comparison.mismatches else 'ERROR'}: {len(comparison.mismatches)} mismatched, "
        f"{len(comparison.incomplete)} not observed of {cells} cells"
        if comparison.mismatches or comparison.incomplete
        else comparison.verdict_line()  # PASS, or ERROR when nothing was compared
    )
    lines = [
        f"expected (. allowed, X denied), observed (E error, ? unobserved), differences; one symbol per row: {legend}"
    ]
    if sparse(expected):
        lines = [
            "one line per cell asked: expected, observed, difference, row -> column (cells not asked are not listed)"
        ]
        for (r, c), cell in expected.cells.items():
            seen = observed[r, c].symbol
            lines.append(f"{cell.symbol}  {seen}  {seen if (r, c) in wrong else ' '}  {r} -> {c}")
    else:
        lines += [_column_line(expected, observed, wrong, c) for c in expected.columns]
    return "\n\n".join(p for p in [verdict, "\n".join(summary), "\n".join(lines)] if p).rstrip() + "\n"


def _column_line(expected: Matrix, observed: Matrix, wrong: set[tuple[str, str]], c: str) -> str:
    """Column `c`: expected, observed and differences (blank where observed = expected), a symbol per row."""
    want = "".join(expected[r, c].symbol for r in expected.rows)
    got = "".join(observed[r, c].symbol for r in expected.rows)
    diff = "".join(observed[r, c].symbol if (r, c) in wrong else " " for r in expected.rows)
    return f"{want}  {got}  {diff}  {c}"


def attach_comparison(comparison: Comparison, name: str, notes: str = "") -> None:
    comparison = mark_impersonated(comparison)  # rows observed through impersonation say so
    text = render_comparison(comparison) + (f"\n{notes}\n" if notes else "")
    allure.attach(text, name=f"{name} (text)", attachment_type=allure.attachment_type.TEXT)
    table = cell_table(comparison) if sparse(comparison.expected) else to_html_table(comparison)
    allure.attach(table, name=f"{name} (table)", attachment_type=allure.attachment_type.HTML)


def cell_table(comparison: Comparison) -> str:
    """`comparison` as an HTML table of one row per cell the expected matrix sets (a sparse one's form):
    row, column, expected / observed (differences shaded), the observed evidence as the cell's title."""
    rows = []
    for (row, column), want in comparison.expected.cells.items():
        got = comparison.observed[row, column]
        style = "" if want is got else ' style="background:#fbdada"'
        title = html.escape(comparison.observed.evidence.get((row, column), ""))
        rows.append(
            f"<tr><th>{html.escape(row)}</th><td>{html.escape(column)}</td>"
            f'<td{style} title="{title}">{want.value} / {got.value}</td></tr>'
        )
    head = "<tr><th>row</th><th>column</th><th>expected / observed</th></tr>"
    return f"<table border=1><caption>cells asked: expected / observed</caption>{head}{''.join(rows)}</table>"


def attach_ways(observation: Observation, name: str) -> None:
    allure.attach(observation.report(), name=f"{name}: three ways", attachment_type=allure.attachment_type.TEXT)
    for way, matrix in observation.ways.items():
        allure.attach(render_matrix(matrix, way), name=f"{name}: {way}", attachment_type=allure.attachment_type.TEXT)
