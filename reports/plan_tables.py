"""The plan x control table of a run: one row per Pod Security Standards control and case, one column
per tenant's plan ("product/plan (tenant)"), each cell the observed verdict and who decided it.

The privileged-container scenarios attach their cells to their Allure results as JSON (a list of
`provisioning.model.privileges.control_cells`: plan, level, control, case, expected, observed, layer,
status); this module gathers every scenario's cells (shared and dedicated clusters, every product) into
one table. A row is red (`fail`) when some plan's cell contradicts what the plan implies, so a product
that stops enforcing one control turns exactly that control's rows red.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ATTACHMENT = "plan x control cells (json)"
_KEY = ("level", "control", "case")
_WORST = ("fail", "error", "pass")  # a row's status: its worst cell's


def read_cells(allure_dir: Path) -> list[dict[str, str]]:
    """Every attached cell of the run, in attachment order (a later part of the same plan and case wins)."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(allure_dir.glob("*-result.json")):
        steps = json.loads(path.read_text()).get("steps", [])
        for attachment in (a for step in steps for a in step.get("attachments", [])):
            if attachment.get("name") == ATTACHMENT:
                for cell in json.loads((allure_dir / attachment["source"]).read_text()):
                    cells[(cell["plan"], cell["case"])] = cell
    return list(cells.values())


def control_rows(cells: list[dict[str, str]]) -> dict[str, Any]:
    """The table as data (the comparison's JSON): `plans` (the columns, sorted) and `rows`, one per
    level, control and case in the cases' order, each with its cells by plan and its `status` (its
    worst cell's: fail, error, pass)."""
    plans = sorted({c["plan"] for c in cells})
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for cell in cells:
        key = tuple(cell[k] for k in _KEY)
        row = rows.setdefault(key, {**{k: cell[k] for k in _KEY}, "cells": {}})
        row["cells"][cell["plan"]] = {k: cell[k] for k in ("expected", "observed", "layer", "status")}
    for row in rows.values():
        statuses = {c["status"] for c in row["cells"].values()}
        if len(row["cells"]) < len(plans):
            statuses.add("error")  # a plan without this case: not observed
        row["status"] = next(s for s in _WORST if s in statuses)
    return {"plans": plans, "rows": list(rows.values())}


def read_plan_tables(allure_dir: Path) -> list[list[str]]:
    """The table as text, header first (level, control, case, row status, then the plans); empty if
    no scenario attached cells."""
    data = control_rows(read_cells(allure_dir))
    if not data["rows"]:
        return []
    table = [["level", "control", "case", "row", *data["plans"]]]
    for row in data["rows"]:
        cells = [_text(row["cells"].get(plan)) for plan in data["plans"]]
        table.append([row["level"], row["control"], row["case"], row["status"], *cells])
    return table


def _text(cell: dict[str, str] | None) -> str:
    """`rejected: PodSecurity admission` where the plan's verdict holds, else `FAIL runs (expected
    rejected)` or `ERROR error (expected rejected)`."""
    if cell is None:
        return "ERROR not observed"
    observed = cell["observed"] + (f": {cell['layer']}" if cell["layer"] not in ("", "-") else "")
    if cell["status"] == "pass":
        return observed
    return f"{cell['status'].upper()} {observed} (expected {cell['expected'] or '?'})"


def to_markdown(table: list[list[str]]) -> str:
    if not table:
        return "No privileged-container results in this run.\n"
    return "# Privileges per plan (observed)\n\n" + markdown_table(table)


def markdown_table(table: list[list[str]]) -> str:
    """The table as a Markdown table (cells escaped), or "" for no table."""
    if not table:
        return ""
    lines = ["| " + " | ".join(_md(c) for c in table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table[1:]]
    return "\n".join(lines) + "\n"


def comparison_section(table: list[list[str]]) -> str:
    """The comparison's Markdown section of the table ("" when the run has none)."""
    if not table:
        return ""
    intro = (
        "One row per Pod Security Standards control and the case that violates it alone; a row is "
        "`fail` when a plan's cell contradicts what the plan implies.\n\n"
    )
    return "\n## Pod Security Standards: plan x control\n\n" + intro + markdown_table(table)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
