"""What the decision page reads of a run folder besides the records: its environment, the text matrices
of its failing scenarios, its date; and `write_decision`, which writes decision.{html,md,json},
checks.junit.xml and the run's line of the trends file beside the runs.

A run folder (out/RUN_ID) holds allure-results/, environment.json (`fixtures.run_facts`), targets.yaml
(a redacted copy of the targets file) and the reports, so `caas report RUN_DIR` rebuilds everything from
it alone. The trends file lives beside the runs (`reports.trends.TRENDS_FILE`); a run folder copied
elsewhere shows its own run only.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports import decision as page
from reports import junit, trends
from reports.catalog import load_checks
from reports.findings import RunContext, build_decision
from reports.plan_tables import read_plan_tables
from reports.records import RunRecords, Status

ENVIRONMENT_FILE = "environment.json"  # written by fixtures.run_facts.record_environment
MATRIX_SUFFIX = " (text)"  # the text form of a matrix attachment (checks/network/reachability.py, checks/rbac)
MATRIX_CHARS = 8000  # per attachment on the page
MATRICES_PER_SCENARIO = 3


def read_environment(run_dir: Path) -> dict[str, dict[str, Any]]:
    """product -> environment from RUN_DIR/environment.json ({} when the run recorded none or it is unreadable)."""
    try:
        data = json.loads((run_dir / ENVIRONMENT_FILE).read_text(encoding="utf-8"))
        products = data["products"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): v for k, v in products.items() if isinstance(v, dict)} if isinstance(products, dict) else {}


def _text_attachments(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [
        (str(a.get("name", "")), str(a["source"]))
        for a in node.get("attachments", [])
        if str(a.get("name", "")).endswith(MATRIX_SUFFIX) and "source" in a
    ]
    for step in node.get("steps", []):
        found += _text_attachments(step)
    return found


def read_matrices(allure_dir: Path, records: RunRecords) -> list[dict[str, str]]:
    """The text matrices attached to every failing or erroring scenario: {check, product, scenario, name, text}."""
    failing = {
        s.uuid: (record, s)
        for record in (records.record(c, p) for c in records.checks for p in records.products)
        for s in record.scenarios
        if s.status in (Status.FAIL, Status.ERROR) and s.uuid
    }
    found: dict[str, dict[str, Any]] = {}  # a result file's name need not be its uuid (allure-pytest-bdd)
    for path in sorted(allure_dir.glob("*-result.json")) if failing else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("uuid") in failing:
            found[str(data["uuid"])] = data
    matrices = []
    for uuid, (record, scenario) in failing.items():
        for name, source in _text_attachments(found.get(uuid, {}))[:MATRICES_PER_SCENARIO]:
            try:
                text = (allure_dir / source).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if len(text) > MATRIX_CHARS:
                text = text[:MATRIX_CHARS] + "\n… (cut; the whole matrix is in the Allure report)"
            matrices.append(
                {
                    "check": record.check,
                    "product": record.product,
                    "scenario": scenario.name,
                    "name": name,
                    "text": text,
                }
            )
    matrices.sort(key=lambda m: (m["check"], m["product"]))
    return matrices


def attachment_names(allure_dir: Path) -> dict[str, str]:
    """Every attachment's file name (its `source`) -> the name the scenario gave it, e.g. "pod-to-pod (text)"."""
    names: dict[str, str] = {}

    def walk(node: Mapping[str, Any]) -> None:
        for attachment in node.get("attachments", []):
            if "source" in attachment:
                names[str(attachment["source"])] = str(attachment.get("name", ""))
        for step in node.get("steps", []):
            walk(step)

    for path in sorted(allure_dir.glob("*-result.json")):
        try:
            walk(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            continue
    return names


def run_date(records: RunRecords, run_dir: Path) -> str:
    """When the run's first scenario started (UTC, ISO 8601), else the folder's modification time."""
    starts = [s.start_ms for r in records.records.values() for s in r.scenarios if s.start_ms]
    stamp = min(starts) / 1000 if starts else run_dir.stat().st_mtime
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).isoformat(timespec="seconds")


def decision_of(records: RunRecords, run_dir: Path, allure_link: str = "", record_trend: bool = True) -> dict[str, Any]:
    """The run's decision (`reports.findings.build_decision`); with `record_trend`, the run's line is
    added to the trends file beside it first (a read-only folder of runs: the trends show this run only)."""
    environment = read_environment(run_dir)
    date = run_date(records, run_dir)
    allure_dir = run_dir / "allure-results"
    entry = trends.run_entry(records, run_dir.name, date, environment)
    history = run_dir.parent / trends.TRENDS_FILE
    entries, _ = trends.read_trends(history)
    entries = sorted([e for e in entries if e["run_id"] != entry["run_id"]] + [entry], key=lambda e: str(e.get("date")))
    if record_trend:
        try:
            entries = trends.record_run(history, entry)
        except OSError:
            entries = [entry]
    context = RunContext(
        run_id=run_dir.name,
        date=date,
        environment=environment,
        plan_table=read_plan_tables(allure_dir) if allure_dir.is_dir() else [],
        matrices=read_matrices(allure_dir, records) if allure_dir.is_dir() else [],
        trends=trends.trend_table(entries),
        allure_link=allure_link,
    )
    return build_decision(records, load_checks(), context)


def write_decision(records: RunRecords, run_dir: Path, allure_link: str = "") -> dict[str, Path]:
    """Write decision.html/.md/.json and checks.junit.xml into the run folder and add the run to the
    trends file beside it; the paths by name. Raises jsonschema.ValidationError if the JSON would not
    follow its schema (a bug of the suite, never of the product)."""
    decision = decision_of(records, run_dir, allure_link)
    paths = {
        "decision page (HTML)": run_dir / "decision.html",
        "decision (Markdown)": run_dir / "decision.md",
        "decision (JSON)": run_dir / "decision.json",
        "checks (JUnit)": run_dir / junit.JUNIT_FILE,
    }
    paths["decision (JSON)"].write_text(page.to_json(decision), encoding="utf-8")
    paths["decision page (HTML)"].write_text(page.to_html(decision), encoding="utf-8")
    paths["decision (Markdown)"].write_text(page.to_markdown(decision), encoding="utf-8")
    paths["checks (JUnit)"].write_text(junit.to_junit(decision), encoding="utf-8")
    return paths
