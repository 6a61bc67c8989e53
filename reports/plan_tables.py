"""The plan x privilege table of a run: every tenant's plan, every privilege case, the observed verdict.

The privileged-container scenarios attach their part of it to their Allure results as JSON (header row
first, then one row per "product/plan (tenant)"); this module gathers the parts into one table.
"""

from __future__ import annotations

import json
from pathlib import Path

ATTACHMENT = "plan x case table (json)"


def read_plan_tables(allure_dir: Path) -> list[list[str]]:
    """One table from every attached part (header first, rows sorted); empty if no part was attached."""
    header: list[str] = []
    rows: dict[str, list[str]] = {}
    for path in sorted(allure_dir.glob("*-result.json")):
        steps = json.loads(path.read_text()).get("steps", [])
        for attachment in (a for step in steps for a in step.get("attachments", [])):
            if attachment.get("name") == ATTACHMENT:
                part = json.loads((allure_dir / attachment["source"]).read_text())
                header = part[0]
                rows.update({row[0]: row for row in part[1:]})
    return [header, *(rows[k] for k in sorted(rows))] if header else []


def to_markdown(table: list[list[str]]) -> str:
    if not table:
        return "No privileged-container results in this run.\n"
    lines = ["# Privileges per plan (observed)", "", "| " + " | ".join(table[0]) + " |"]
    lines.append("|" + "---|" * len(table[0]))
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    return "\n".join(lines) + "\n"
