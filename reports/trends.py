"""How each check's verdict moved over the last runs: one JSON line per run, kept beside the runs.

Allure's history (history.jsonl) is keyed per test and capped; it does not say which product version a
night tested. TRENDS_FILE (`<runs folder>/trends.jsonl`) holds one line per run:
`{"run_id", "date", "versions": {product: Kubernetes version}, "mutations": {product: mutation or null},
"verdicts": {product: {check: status}}}`. A rebuilt run (`caas report`) replaces its own line. A
line that is not JSON is skipped with its line number in `problems` (the trend is a convenience: a damaged
line must not stop the reports).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reports.records import RunRecords

TRENDS_FILE = "trends.jsonl"
KEEP = 200  # lines kept in the file
SHOWN = 10  # runs shown on the page


def run_entry(
    records: RunRecords, run_id: str, date: str, environment: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """This run's line of the trends file."""
    versions = {}
    for product in records.products:
        clusters = environment.get(product, {}).get("clusters", [])
        versions[product] = ", ".join(sorted({str(c.get("kubernetes_version", "")) for c in clusters})) or "unknown"
    return {
        "run_id": run_id,
        "date": date,
        "versions": versions,
        "mutations": {p: environment.get(p, {}).get("mutation") for p in records.products},
        "verdicts": {p: {c: records.record(c, p).status.value for c in records.checks} for p in records.products},
    }


def read_trends(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries of the trends file (oldest first) and a problem line per line that could not be read."""
    if not path.exists():
        return [], []
    entries, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or "run_id" not in entry or not isinstance(entry.get("verdicts"), dict):
                raise ValueError("not a run entry")
        except ValueError:
            problems.append(f"{path}:{number}: not a run entry of the trends, skipped")
            continue
        entries.append(entry)
    return entries, problems


def record_run(path: Path, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add (or replace) this run's line, keep the last KEEP runs; the entries, oldest first."""
    entries, _ = read_trends(path)
    entries = [e for e in entries if e["run_id"] != entry["run_id"]] + [dict(entry)]
    entries.sort(key=lambda e: str(e.get("date", "")))
    entries = entries[-KEEP:]
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries), encoding="utf-8")
    return entries


def trend_table(entries: Sequence[Mapping[str, Any]], shown: int = SHOWN) -> dict[str, Any]:
    """The last `shown` runs: `runs` (run_id, date, versions, mutations) and one row per check x product
    with its status in each run (null where the run did not judge it) and each change (run, date, from,
    to, the product's version in that run)."""
    runs = list(entries)[-shown:]
    keys = sorted({(c, p) for e in runs for p, checks in e["verdicts"].items() for c in checks})
    rows = []
    for check, product in keys:
        statuses = [e["verdicts"].get(product, {}).get(check) for e in runs]
        changes = []
        previous = None
        for entry, status in zip(runs, statuses, strict=True):
            if status is not None and previous is not None and status != previous:
                changes.append(
                    {
                        "run_id": entry["run_id"],
                        "date": entry.get("date", ""),
                        "from": previous,
                        "to": status,
                        "version": entry.get("versions", {}).get(product, "unknown"),
                        "mutation": entry.get("mutations", {}).get(product),
                    }
                )
            previous = status if status is not None else previous
        rows.append({"check": check, "product": product, "statuses": statuses, "changes": changes})
    return {
        "runs": [
            {
                "run_id": e["run_id"],
                "date": e.get("date", ""),
                "versions": e.get("versions", {}),
                "mutations": e.get("mutations", {}),
            }
            for e in runs
        ],
        "rows": rows,
    }
