"""The product comparison: checks as rows, products as columns, as Markdown, JSON and static HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping

from reports.records import RunRecords, Status

_SYMBOL = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIPPED: "n/a",
    Status.UNKNOWN: "unknown",
}


def _cell(records: RunRecords, check: str, product: str) -> str:
    record = records.record(check, product)
    text = _SYMBOL[record.status]
    if record.expected is not None:
        text += " (expected)" if record.meets_expectation else f" (expected {record.expected.value})"
    return text


def to_markdown(records: RunRecords, titles: Mapping[str, str]) -> str:
    lines = ["| check | title | " + " | ".join(records.products) + " |", "|---|---|" + "---|" * len(records.products)]
    for check in records.checks:
        cells = " | ".join(_cell(records, check, p) for p in records.products)
        lines.append(f"| {check} | {titles.get(check, '')} | {cells} |")
    differences = records.differences()
    lines += ["", f"Differences between products: {len(differences)}"]
    lines += [
        f"- {c}: " + ", ".join(f"{p} {records.record(c, p).status.value}" for p in records.products)
        for c in differences
    ]
    return "\n".join(lines) + "\n"


def to_json(records: RunRecords, titles: Mapping[str, str]) -> str:
    rows = []
    for check in records.checks:
        rows.append(
            {
                "check": check,
                "title": titles.get(check, ""),
                "differs": check in records.differences(),
                "products": {
                    p: {
                        "status": records.record(check, p).status.value,
                        "expected": (e.value if (e := records.record(check, p).expected) else None),
                        "meets_expectation": records.record(check, p).meets_expectation,
                        "reason": records.record(check, p).reason,
                        "scenarios": [
                            {"name": s.name, "status": s.status.value, "uuid": s.uuid}
                            for s in records.record(check, p).scenarios
                        ],
                    }
                    for p in records.products
                },
            }
        )
    return json.dumps({"products": list(records.products), "checks": rows}, indent=1, sort_keys=True)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}
.pass{background:#dff5e1}.fail{background:#fbdada}.error{background:#ffe9b3}.unknown{background:#e6e6e6}
.skipped{color:#777}tr.same.hide{display:none}
"""


def to_html(records: RunRecords, titles: Mapping[str, str], allure_link: str = "") -> str:
    differences = set(records.differences())
    head = "".join(f"<th>{html.escape(p)}</th>" for p in records.products)
    rows = []
    for check in records.checks:
        cells = []
        for product in records.products:
            record = records.record(check, product)
            text = html.escape(_cell(records, check, product))
            uuid = record.scenarios[0].uuid if record.scenarios else ""
            if allure_link and uuid:
                text = f'<a href="{html.escape(allure_link)}#{html.escape(uuid)}">{text}</a>'
            cells.append(f'<td class="{record.status.value}" title="{html.escape(record.reason)}">{text}</td>')
        kind = "differs" if check in differences else "same"
        rows.append(
            f'<tr class="{kind}"><td>{html.escape(check)}</td><td>{html.escape(titles.get(check, ""))}</td>'
            + "".join(cells)
            + "</tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>caas-conformance: product comparison</title>
<style>{_STYLE}</style></head><body>
<h1>Product comparison</h1>
<p>{len(records.checks)} checks on {len(records.products)} products; {len(differences)} differ.
<label><input type="checkbox" id="differs-only"
 onchange="document.querySelectorAll('tr.same').forEach(r=>r.classList.toggle('hide',this.checked))">
 differences only</label></p>
<table><thead><tr><th>check</th><th>title</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
