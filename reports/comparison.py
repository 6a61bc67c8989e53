"""The product comparison: checks grouped by area as rows, products as columns, as Markdown, JSON and static HTML.

All three render the same canonical records (`reports.records`); nothing here knows a check id. The HTML
page is one self-contained file (opens from disk, no server) with a "differences only" filter, and each
cell links to its test in the Allure report when the records carry the report's test ids.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping

from reports.records import CheckRecord, RunRecords, Status

_SYMBOL = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIPPED: "n/a",
    Status.UNKNOWN: "unknown",
}


def _cell_text(record: CheckRecord) -> str:
    text = _SYMBOL[record.status]
    if record.expected is not None:
        text += " (expected)" if record.meets_expectation else f" (expected {record.expected.value})"
    return text


def _cell(records: RunRecords, check: str, product: str) -> str:
    return _cell_text(records.record(check, product))


def _md(text: str) -> str:
    """A table cell's text with what Markdown would read as table syntax or HTML escaped."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(records: RunRecords, titles: Mapping[str, str]) -> str:
    head = "| check | title | " + " | ".join(records.products) + " |"
    rule = "|---|---|" + "---|" * len(records.products)
    lines = ["# Product comparison", ""]
    for area, checks in records.by_area():
        lines += [f"## {_md(area)}", "", head, rule]
        for check in checks:
            cells = " | ".join(_cell(records, check, p) for p in records.products)
            lines.append(f"| {_md(check)} | {_md(titles.get(check, ''))} | {cells} |")
        lines.append("")
    differences = records.differences()
    lines += [f"Differences between products: {len(differences)}"]
    lines += [
        f"- {c}: " + ", ".join(f"{p} {records.record(c, p).status.value}" for p in records.products)
        for c in differences
    ]
    return "\n".join(lines) + "\n"


def _record_json(record: CheckRecord) -> dict[str, object]:
    return {
        "status": record.status.value,
        "expected": record.expected.value if record.expected else None,
        "meets_expectation": record.meets_expectation,
        "reason": record.reason,
        "tenancy": list(record.tenancy),
        "plans": list(record.plans),
        "decided_by": list(record.layers),
        "decided_by_source": record.layers_source,
        "identity": record.identity,
        "duration_ms": record.duration_ms,
        "evidence": list(record.evidence),
        "figures": list(record.figures),
        "report_test_id": record.report_link(),
        "scenarios": [
            {
                "name": s.name,
                "status": s.status.value,
                "uuid": s.uuid,
                "duration_ms": s.duration_ms,
                "message": s.message,
                "report_test_id": record.report_links.get(s.uuid, ""),
            }
            for s in record.scenarios
        ],
    }


def to_json(records: RunRecords, titles: Mapping[str, str]) -> str:
    differences = set(records.differences())
    rows = [
        {
            "check": check,
            "area": records.area_of(check),
            "title": titles.get(check, ""),
            "differs": check in differences,
            "products": {p: _record_json(records.record(check, p)) for p in records.products},
        }
        for check in records.checks
    ]
    return json.dumps(
        {"products": list(records.products), "differences": sorted(differences), "checks": rows},
        indent=1,
        sort_keys=True,
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}
th.area{background:#dde6f3;font-size:1.05em}td a{color:inherit}
.pass{background:#dff5e1}.fail{background:#fbdada}.error{background:#ffe9b3}.unknown{background:#e6e6e6}
.skipped{color:#777}.differs td:first-child{font-weight:bold}.hide{display:none}
"""
_FILTER = """
function differsOnly(on){
  document.querySelectorAll('tr.same').forEach(r=>r.classList.toggle('hide',on));
  document.querySelectorAll('tbody.area').forEach(b=>b.classList.toggle('hide',on&&!b.querySelector('tr.differs')));
}
window.addEventListener('DOMContentLoaded',()=>{
  if(location.hash==='#differs-only'){document.getElementById('differs-only').checked=true;differsOnly(true);}
});
"""


def _html_cell(record: CheckRecord, allure_index: str) -> str:
    text = html.escape(_cell_text(record))
    test_id = record.report_link()
    if allure_index and test_id:
        href = html.escape(f"{allure_index}#/{test_id}")
        text = f'<a href="{href}">{text}</a>'
    identity = f"{record.identity} credentials" if record.identity else ""
    details = [record.reason, ", ".join(record.plans), ", ".join(record.tenancy), identity]
    title = html.escape(" | ".join(d for d in details if d))
    return f'<td class="{record.status.value}" title="{title}">{text}</td>'


def to_html(records: RunRecords, titles: Mapping[str, str], allure_link: str = "") -> str:
    """The comparison page; `allure_link` is the Allure report's index.html relative to the page."""
    differences = set(records.differences())
    head = "".join(f"<th>{html.escape(p)}</th>" for p in records.products)
    span = 2 + len(records.products)
    bodies = []
    for area, checks in records.by_area():
        rows = [f'<tr class="area-head"><th class="area" colspan="{span}">{html.escape(area)}</th></tr>']
        for check in checks:
            cells = "".join(_html_cell(records.record(check, p), allure_link) for p in records.products)
            kind = "differs" if check in differences else "same"
            rows.append(
                f'<tr class="{kind}" data-check="{html.escape(check)}"><td>{html.escape(check)}</td>'
                f"<td>{html.escape(titles.get(check, ''))}</td>{cells}</tr>"
            )
        bodies.append(f'<tbody class="area" data-area="{html.escape(area)}">\n' + "\n".join(rows) + "\n</tbody>")
    report = f' <a href="{html.escape(allure_link)}">Allure report</a>' if allure_link else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>caas-conformance: product comparison</title>
<style>{_STYLE}</style><script>{_FILTER}</script></head><body>
<h1>Product comparison</h1>
<p>{len(records.checks)} checks on {len(records.products)} products; {len(differences)} differ.{report}
<label><input type="checkbox" id="differs-only" onchange="differsOnly(this.checked)"> differences only</label></p>
<table><thead><tr><th>check</th><th>title</th>{head}</tr></thead>
{chr(10).join(bodies)}
</table></body></html>
"""
