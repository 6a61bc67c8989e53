"""The privileges-per-plan report gathers every scenario's attached part into one table (pure files)."""

from __future__ import annotations

import json
from pathlib import Path

from reports.plan_tables import ATTACHMENT, read_plan_tables, to_markdown


def _result(directory: Path, uuid: str, rows: list[list[str]]) -> None:
    (directory / f"{uuid}-attachment.json").write_text(json.dumps(rows))
    step = {"name": "Then ...", "attachments": [{"name": ATTACHMENT, "source": f"{uuid}-attachment.json"}]}
    (directory / f"{uuid}-result.json").write_text(json.dumps({"steps": [step, {"name": "Given"}]}))


def test_parts_of_both_products_make_one_table(tmp_path: Path) -> None:
    header = ["plan", "privileged"]
    _result(tmp_path, "a", [header, ["pks/small (blue)", "rejected: PodSecurity admission"]])
    _result(tmp_path, "b", [header, ["cfcr/default (blue)", "rejected: API validation"]])
    table = read_plan_tables(tmp_path)
    assert table == [header, ["cfcr/default (blue)", "rejected: API validation"], table[2]]
    assert table[2][0] == "pks/small (blue)"
    assert "| pks/small (blue) | rejected: PodSecurity admission |" in to_markdown(table)


def test_no_part_is_no_table(tmp_path: Path) -> None:
    assert read_plan_tables(tmp_path) == []
    assert "No privileged-container results" in to_markdown([])
