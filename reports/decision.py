"""The decision page: one static HTML file (opens from disk, prints), and the same content as Markdown and JSON.

All three render the mapping of `reports.findings.build_decision`; nothing here reads a run folder.
Sections, in reading order: 1. per product, a verdict line per area and the environment judged;
2. key findings, most severe first (title, observed reason, the cell that shows it, deciding layer,
remediation, real or impersonated credentials); 3. the side-by-side grid, each cell linking to its evidence
in the Allure report; 4. the plan x control table and the matrices of failing checks; 5. the trends over
the last runs. The JSON is checked against reports/schema/decision.schema.json (`validate`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from reports.records import decided_by_text

SCHEMA = Path(__file__).resolve().parent / "schema" / "decision.schema.json"
_SYMBOL = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "skipped": "n/a", "unknown": "unknown"}
_TREND_SYMBOL = {"pass": "✓", "fail": "✗", "error": "E", "skipped": "–", "unknown": "?"}


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def validate(decision: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `decision` does not follow the published schema."""
    jsonschema.validate(decision, _schema())


def to_json(decision: Mapping[str, Any]) -> str:
    """The decision as JSON (validated against the schema first)."""
    validate(decision)
    return json.dumps(decision, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def cell_text(cell: Mapping[str, Any]) -> str:
    """A grid cell's text, e.g. "FAIL (expected)" or "pass (expected fail)"."""
    text = _SYMBOL[cell["status"]]
    if cell["expected"] is not None:
        text += " (expected)" if cell["meets_expectation"] else f" (expected {cell['expected']})"
    return text


def _with_figures(cell: Mapping[str, Any]) -> str:
    """A grid cell's text and what its check measured, e.g. "pass (time to enforce: median 2.6 s, ...)"."""
    figures = "; ".join(cell["figures"])
    return cell_text(cell) + (f" ({figures})" if figures else "")


def area_line(area: Mapping[str, Any]) -> str:
    """ "rbac: 9 passed, 2 failed (2 expected), 0 error, 1 n/a of 11 checks" (n/a: not applicable)."""
    failed = f"{area['failed']} failed" + (
        f" ({area['expected_failures']} expected)" if area["expected_failures"] else ""
    )
    parts = [f"{area['passed']} passed", failed, f"{area['error']} error"]
    if area["no result"]:
        parts.append(f"{area['no result']} no result")
    total = area["applicable"] + area["n/a"]
    return f"{area['area']}: {', '.join(parts)}, {area['n/a']} n/a of {total} checks"


def _versions(environment: Mapping[str, Any]) -> str:
    clusters = environment.get("clusters", [])
    return ", ".join(sorted({str(c.get("kubernetes_version", "")) for c in clusters})) or "not recorded"


def environment_facts(product: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The product's environment as (label, text) pairs, in the page's order."""
    env = product["environment"]
    if not env:
        return [("environment", "not recorded (the run provisioned no tenancy for this product)")]
    nodes = [n for c in env.get("clusters", []) for n in c.get("nodes", [])]
    runtimes = sorted({f"kubelet {n['kubelet']}, {n['container_runtime']}" for n in nodes})
    dataplane = env.get("dataplane", {})
    enforces = dataplane.get("enforces_network_policy")
    how = (
        "enforces NetworkPolicy"
        if enforces
        else "does not enforce NetworkPolicy"
        if enforces is False
        else "not observed"
    )
    if dataplane.get("how"):
        how += f": {str(dataplane['how']).rstrip('.')}"
    if enforces is not False:
        how += f"; changes to be enforced within {dataplane.get('enforce_within_seconds', '?')} s (the targets file)"
    authorization = sorted({str(c.get("authorization", "")) for c in env.get("clusters", [])})
    plugins = ", ".join(env.get("admission_plugins", [])) or "none recorded"
    facts = [
        (
            "backend",
            str(env.get("backend", "")) + (f" (lab profile {env['lab_profile']})" if env.get("lab_profile") else ""),
        ),
        ("Kubernetes", _versions(env)),
        ("nodes", "; ".join(runtimes) or "not recorded"),
        ("dataplane", how),
        ("authorization", ", ".join(authorization) or "not recorded"),
        ("admission plugins", f"{plugins} ({env.get('admission_plugins_source', '')})"),
        ("credentials", product["credentials"]),
        ("clusters", "; ".join(f"{c['name']}: {', '.join(c.get('tenants', []))}" for c in env.get("clusters", []))),
        ("suite", str(env.get("suite_version", ""))),
        ("run", f"{env.get('run_id', '')} on {env.get('date', '')}"),
    ]
    if env.get("mutation"):
        facts.append(("mutation", f"{env['mutation']} (a fence removed on purpose)"))
    return facts


def plan_switches(plan: Mapping[str, Any]) -> str:
    """A plan's switches in one line, e.g. "rbac, pod security restricted, privileged off, ..."."""
    quota = ", ".join(f"{k}={v}" for k, v in sorted(plan.get("quota", {}).items()))
    return (
        f"{plan['authorization']}, pod security {plan['pod_security']}, "
        f"privileged {'on' if plan['allow_privileged'] else 'off'}, "
        f"API server egress {'on' if plan['control_plane_egress'] else 'off'}, "
        f"services {'/'.join(plan['service_types'])}, {plan['workers']} worker(s)"
        + (f"; quota {quota}" if quota else "")
    )


# --- Markdown ---------------------------------------------------------------------------------------


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _finding_lines(finding: Mapping[str, Any]) -> list[str]:
    verdict = cell_text(finding)
    lines = [
        f"### [{finding['severity']}] {finding['check']} on {finding['product']}: {finding['title']}",
        "",
        f"- verdict: {verdict}" + (" — differs between products" if finding["differs"] else ""),
        f"- observed: {finding['observed_reason'] or 'no failure message'}",
    ]
    if finding["evidence_cell"]:
        lines.append(f"- shown by: `{finding['evidence_cell']}`")
    lines += [f"- measured: {figure}" for figure in finding["figures"]]
    if finding["expectation_reason"]:
        lines.append(f"- known gap (targets file): {finding['expectation_reason']}")
    lines += [
        f"- decided by: {decided_by_text(finding['decided_by'], finding['decided_by_source'])}",
        f"- plans: {', '.join(finding['plans']) or '-'}",
        f"- identities: {finding['identity'] or 'not recorded'}",
        f"- to fix: {finding['remediation']}",
        f"- credentials: {finding['credentials']}",
        f"- elsewhere: {', '.join(f'{p} {s}' for p, s in finding['elsewhere'].items()) or '-'}",
    ]
    if finding["anchors"]:
        lines.append(f"- answers: {', '.join(finding['anchors'])}")
    return [*lines, ""]


def to_markdown(decision: Mapping[str, Any]) -> str:
    products = decision["products"]
    lines = [
        f"# Decision: {', '.join(p['name'] for p in products)}",
        "",
        f"Run {decision['run_id']}, {decision['date']}.",
        "",
    ]
    lines += ["## 1. Products", ""]
    for product in products:
        lines += [f"### {product['name']} ({product['unmet']} unmet expectations)", ""]
        lines += [f"- {area_line(a)}" for a in product["areas"]]
        lines += ["", "| fact | value |", "|---|---|"]
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in environment_facts(product)]
        for plan in product["environment"].get("plans", []):
            lines.append(f"| plan {_md(plan['name'])} | {_md(plan_switches(plan))} |")
        lines.append("")
    lines += [f"## 2. Key findings ({len(decision['findings'])})", ""]
    for finding in decision["findings"]:
        lines += _finding_lines(finding)
    if not decision["findings"]:
        lines += ["Every check met its expectation on every product.", ""]
    for other in decision["other_differences"]:
        lines.append(
            f"- also differs: {other['check']}: " + ", ".join(f"{p} {s}" for p, s in other["statuses"].items())
        )
    names = [p["name"] for p in products]
    lines += ["", "## 3. Side by side", "", "| check | severity | title | " + " | ".join(names) + " |"]
    lines.append("|---|---|---|" + "---|" * len(names))
    for row in decision["grid"]:
        cells = " | ".join(_md(_with_figures(row["cells"][n])) for n in names)
        lines.append(f"| {_md(row['check'])} | {row['severity']} | {_md(row['title'])} | {cells} |")
    lines += ["", "## 4. Plans and controls", ""]
    table = decision["plan_table"]
    if table:
        lines += ["| " + " | ".join(_md(c) for c in table[0]) + " |", "|" + "---|" * len(table[0])]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table[1:]]
    else:
        lines.append("No plan x control table in this run (no privileged-container results).")
    for matrix in decision["matrices"]:
        lines += [
            "",
            f"### {matrix['check']} on {matrix['product']}: {matrix['name']}",
            "",
            "```",
            matrix["text"].rstrip(),
            "```",
        ]
    lines += ["", "## 5. Trends", ""]
    lines += _trend_markdown(decision["trends"])
    return "\n".join(lines) + "\n"


def _trend_markdown(trends: Mapping[str, Any]) -> list[str]:
    runs = trends["runs"]
    if not runs:
        return ["No earlier run in the trends file."]
    lines = ["| check | product | " + " | ".join(_md(r["run_id"]) for r in runs) + " | changes |"]
    lines.append("|---|---|" + "---|" * (len(runs) + 1))
    for row in trends["rows"]:
        cells = " | ".join(_TREND_SYMBOL.get(s, " ") if s else " " for s in row["statuses"])
        lines.append(f"| {row['check']} | {row['product']} | {cells} | {_md(change_text(row['changes']))} |")
    return [*lines, "", "✓ pass, ✗ fail, E error, – n/a, ? no result"]


def change_text(changes: Iterable[Mapping[str, Any]]) -> str:
    """ "pass → fail in run-2 (2026-11-29, v1.34.2, mutation X)" per change, joined by "; "."""
    parts = []
    for c in changes:
        extra = f", mutation {c['mutation']}" if c.get("mutation") else ""
        parts.append(f"{c['from']} → {c['to']} in {c['run_id']} ({c['date']}, {c['version']}{extra})")
    return "; ".join(parts)


# --- HTML --------------------------------------------------------------------------------------------

_STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 1.5em;max-width:1280px;
color:#1d1d1d;line-height:1.35}h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:2px solid #dde6f3;margin-top:1.6em}
nav a{margin-right:1em}table{border-collapse:collapse;margin:.5em 0 1.2em;width:100%}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}th.area{background:#dde6f3}.products{display:flex;gap:1em;flex-wrap:wrap}
.product{flex:1 1 30em;border:1px solid #ccc;border-radius:6px;padding:.6em 1em}
.product h3{margin:.2em 0}.areas{list-style:none;padding:0;margin:.3em 0}.areas li{margin:.15em 0}
dl.env{display:grid;grid-template-columns:11em 1fr;gap:.15em .6em;margin:.4em 0;font-size:.92em}dl.env dt{color:#555}
dl.env dd{margin:0;overflow-wrap:anywhere}
.grid .figure{font-size:.8em;color:#444}
.finding{border-left:6px solid #bbb;padding:.4em .9em;margin:.8em 0;background:#fafafa;break-inside:avoid}
.finding h3{margin:.1em 0 .3em;font-size:1.05em}
.finding dl{display:grid;grid-template-columns:9em 1fr;gap:.1em .6em;margin:0}
.finding dt{color:#555}.finding dd{margin:0;overflow-wrap:anywhere}
.sev{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.8em;color:#fff;background:#777;margin-right:.4em}
.sev-blocker{background:#8b0000}.sev-critical{background:#c0392b}.sev-normal{background:#b7791f}.sev-minor{background:#4a6fa5}
.finding.unmet{border-left-color:#c0392b}.finding.gap{border-left-color:#b7791f}code{background:#eef;padding:0 .2em}
.pass{background:#dff5e1}.fail{background:#fbdada}.error{background:#ffe9b3}.unknown{background:#e6e6e6}
.skipped{color:#777}.differs td:first-child{font-weight:bold}.hide{display:none}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}.trend td.s{text-align:center;font-family:monospace}
@media print{nav,.filter{display:none}body{max-width:none;padding:0;font-size:10pt}a{color:inherit;text-decoration:none}
details{display:block}details>summary{list-style:none}pre{white-space:pre-wrap;break-inside:avoid}
h2{break-after:avoid}.product{break-inside:avoid}tr{break-inside:avoid}}
"""
_SCRIPT = """
function differsOnly(on){
  document.querySelectorAll('tr.same').forEach(r=>r.classList.toggle('hide',on));
}
window.addEventListener('beforeprint',()=>document.querySelectorAll('details').forEach(d=>d.open=true));
window.addEventListener('load',()=>{document.body.dataset.scrollWidth=document.documentElement.scrollWidth;});
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _link(allure: str, test_id: str, text: str) -> str:
    if allure and test_id:
        return f'<a href="{_e(allure)}#/{_e(test_id)}">{text}</a>'
    return text


def _product_html(product: Mapping[str, Any]) -> str:
    areas = "".join(f"<li>{_e(area_line(a))}</li>" for a in product["areas"])
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in environment_facts(product))
    plans = "".join(
        f"<dt>plan {_e(p['name'])}</dt><dd>{_e(plan_switches(p))}</dd>" for p in product["environment"].get("plans", [])
    )
    return (
        f'<div class="product" data-product="{_e(product["name"])}"><h3>{_e(product["name"])}</h3>'
        f'<p><b>{product["unmet"]}</b> unmet expectation(s)</p><ul class="areas">{areas}</ul>'
        f'<dl class="env">{facts}{plans}</dl></div>'
    )


def _finding_html(finding: Mapping[str, Any], allure: str) -> str:
    kind = "gap" if finding["meets_expectation"] else "unmet"
    rows = [("verdict", _e(cell_text(finding)) + (" — differs between products" if finding["differs"] else ""))]
    rows.append(("observed", _e(finding["observed_reason"] or "no failure message")))
    if finding["evidence_cell"]:
        rows.append(("shown by", f"<code>{_e(finding['evidence_cell'])}</code>"))
    rows += [("measured", _e(figure)) for figure in finding["figures"]]
    if finding["expectation_reason"]:
        rows.append(("known gap", _e(finding["expectation_reason"]) + " (targets file)"))
    rows += [
        ("decided by", _e(decided_by_text(finding["decided_by"], finding["decided_by_source"]))),
        ("plans", _e(", ".join(finding["plans"]) or "-")),
        ("identities", _e(finding["identity"] or "not recorded")),
        ("to fix", _e(finding["remediation"])),
        ("credentials", _e(finding["credentials"])),
        ("elsewhere", _e(", ".join(f"{p} {s}" for p, s in finding["elsewhere"].items()) or "-")),
    ]
    if finding["anchors"]:
        rows.append(("answers", _e(", ".join(finding["anchors"]))))
    evidence = _link(allure, finding["report_test_id"], "evidence in the Allure report")
    if evidence != "evidence in the Allure report":
        rows.append(("evidence", evidence))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<article class="finding {kind}" data-check="{_e(finding["check"])}" data-product="{_e(finding["product"])}">'
        f'<h3><span class="sev sev-{_e(finding["severity"])}">{_e(finding["severity"])}</span>'
        f"{_e(finding['check'])} on {_e(finding['product'])}: {_e(finding['title'])}</h3><dl>{body}</dl></article>"
    )


def _grid_html(decision: Mapping[str, Any]) -> str:
    names = [p["name"] for p in decision["products"]]
    allure = decision["allure_report"]
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    area = None
    for row in decision["grid"]:
        if row["area"] != area:
            area = row["area"]
            rows.append(f'<tr class="area-head"><th class="area" colspan="{3 + len(names)}">{_e(area)}</th></tr>')
        cells = []
        for n in names:
            cell = row["cells"][n]
            title = " | ".join(
                x
                for x in (
                    cell["observed_reason"],
                    cell["expectation_reason"],
                    ", ".join(cell["plans"]),
                    cell["identity"] and f"{cell['identity']} credentials",
                    *cell["figures"],
                )
                if x
            )
            text = _link(allure, cell["report_test_id"], _e(cell_text(cell)))
            text += "".join(f'<div class="figure">{_e(figure)}</div>' for figure in cell["figures"])
            cells.append(f'<td class="{cell["status"]}" title="{_e(title)}">{text}</td>')
        kind = "differs" if row["differs"] else "same"
        rows.append(
            f'<tr class="{kind}" data-check="{_e(row["check"])}"><td>{_e(row["check"])}</td>'
            f"<td>{_e(row['severity'])}</td><td>{_e(row['title'])}</td>{''.join(cells)}</tr>"
        )
    return (
        '<p class="filter"><label><input type="checkbox" id="differs-only" onchange="differsOnly(this.checked)"> '
        "differences only</label></p>"
        f'<table class="grid"><thead><tr><th>check</th><th>severity</th><th>title</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _table_html(table: list[list[str]]) -> str:
    if not table:
        return "<p>No plan x control table in this run (no privileged-container results).</p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in table[0])
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in table[1:])
    return f'<table class="plans"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _trends_html(trends: Mapping[str, Any]) -> str:
    runs = trends["runs"]
    if not runs:
        return "<p>No earlier run in the trends file.</p>"
    head = "".join(
        f'<th title="{_e(r["date"])}">{_e(r["run_id"])}<br><small>{_e(r["date"][:10])}</small></th>' for r in runs
    )
    rows = []
    for row in trends["rows"]:
        cells = "".join(
            f'<td class="s {_e(s or "")}">{_TREND_SYMBOL.get(s, "") if s else ""}</td>' for s in row["statuses"]
        )
        changed = "changed" if row["changes"] else "steady"
        rows.append(
            f'<tr class="{changed}" data-check="{_e(row["check"])}" data-product="{_e(row["product"])}">'
            f"<td>{_e(row['check'])}</td><td>{_e(row['product'])}</td>{cells}<td>{_e(change_text(row['changes']))}</td></tr>"
        )
    return (
        f'<table class="trend"><thead><tr><th>check</th><th>product</th>{head}<th>changes (run, date, version)</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table><p>✓ pass, ✗ fail, E error, – n/a, ? no result</p>"
    )


def to_html(decision: Mapping[str, Any]) -> str:
    """The decision page: one self-contained file (no fetch, no external asset)."""
    products = decision["products"]
    names = ", ".join(p["name"] for p in products)
    allure = decision["allure_report"]
    findings = "".join(_finding_html(f, allure) for f in decision["findings"]) or (
        "<p>Every check met its expectation on every product.</p>"
    )
    others = "".join(
        f"<li>{_e(o['check'])}: {_e(', '.join(f'{p} {s}' for p, s in o['statuses'].items()))}</li>"
        for o in decision["other_differences"]
    )
    if others:
        findings += f"<p>Also different, without a failure:</p><ul>{others}</ul>"
    matrices = (
        "".join(
            f"<details open><summary>{_e(m['check'])} on {_e(m['product'])}: {_e(m['name'])}</summary>"
            f"<pre>{_e(m['text'])}</pre></details>"
            for m in decision["matrices"]
        )
        or "<p>No failing check attached a matrix.</p>"
    )
    report = f' · <a href="{_e(allure)}">Allure report</a>' if allure else ""
    unmet = sum(1 for f in decision["findings"] if not f["meets_expectation"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>caas-conformance: decision, {_e(names)}</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>
<h1>Decision: {_e(names)}</h1>
<p>Run {_e(decision["run_id"])}, {_e(decision["date"])}. {len(decision["findings"])} finding(s), {unmet} of them
an unmet expectation; {len(decision["grid"])} checks.{report}</p>
<nav><a href="#products">Products</a><a href="#findings">Key findings</a><a href="#grid">Side by side</a>
<a href="#plans">Plans and matrices</a><a href="#trends">Trends</a></nav>
<section id="products"><h2>1. Products</h2>
<div class="products">{"".join(_product_html(p) for p in products)}</div></section>
<section id="findings"><h2>2. Key findings, most severe first</h2>{findings}</section>
<section id="grid"><h2>3. Side by side</h2>{_grid_html(decision)}</section>
<section id="plans"><h2>4. Plans and controls</h2>{_table_html(decision["plan_table"])}
<h3>Matrices of failing checks</h3>{matrices}</section>
<section id="trends"><h2>5. Trends over the last runs</h2>{_trends_html(decision["trends"])}</section>
</body></html>
"""
