"""The decision of a run as data: what a platform team reads before choosing a product.

`build_decision` folds the canonical records (`reports.records`), the check catalog (features/checks.yaml:
title, severity, anchors, remediation), each product's environment (RUN_DIR/environment.json, written by
`fixtures.run_facts`), the plan x control table, the matrices of failing checks and the trends into one
JSON-ready mapping. The HTML, Markdown and JSON renderers (`reports.decision`) all render this mapping, so
the three carry the same content; its shape is the published JSON Schema reports/schema/decision.schema.json
(`SCHEMA_VERSION`).

Findings put what breaks an expectation (news: a regression or a stale expectation) before the gaps the
targets file expects, each most severe first (Allure's severity scale, as kube-bench and Kubescape order
theirs), then by check id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.catalog import SEVERITIES
from reports.catalog import CheckRecord as CatalogEntry
from reports.records import CheckRecord, RunRecords, Status

SCHEMA_VERSION = 1
STATUS_WORDS = {
    Status.PASS: "passed",
    Status.FAIL: "failed",
    Status.ERROR: "error",
    Status.SKIPPED: "n/a",
    Status.UNKNOWN: "no result",
}
_MISMATCH = re.compile(
    r"(?:expected (?P<expected>[A-Z]+), observed (?P<observed>[A-Z]+)|not observed properly \((?P<error>[A-Z]+)\))"
    r": (?P<row>.+?) -> (?P<column>.+?)(?: \((?P<evidence>.*)\))?(?: - reproduce: .*)?$"
)


@dataclass(frozen=True)
class RunContext:
    """What the decision shows besides the records: the run, its environments, tables, matrices, trends."""

    run_id: str
    date: str = ""
    environment: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # product -> environment
    plan_table: Sequence[Sequence[str]] = ()  # header first (reports.plan_tables)
    matrices: Sequence[Mapping[str, str]] = ()  # {check, product, scenario, name, text}
    trends: Mapping[str, Any] = field(default_factory=dict)  # reports.trends.trend_table
    allure_link: str = ""  # the Allure report's index.html relative to the page ("" when there is none)


def observed_reason(message: str) -> tuple[str, str]:
    """(reason, evidence cell) read from a scenario's failure message.

    The reason is the first mismatch of the check's matrix comparison (`checks.matrix.Mismatch.describe`)
    or else the first line of the assertion; the cell is "row → column observed", e.g.
    "green/a → blue/b:8080/tcp allowed" ("" when the message names no cell). The "XFAIL <reason>" prefix
    of an expected failure is skipped (the targets file's reason is shown apart).
    """
    body = message
    if body.startswith("XFAIL"):
        body = body.partition("\n\n")[2]
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    for line in lines:
        found = _MISMATCH.search(line)
        if found:
            seen = (found["observed"] or found["error"]).lower()
            cell = f"{found['row']} → {found['column']} {seen}"
            return line[found.start() :], cell
    lines = [ln for ln in lines if not ln.startswith(("Traceback", "File "))]
    first = lines[0] if lines else ""
    for prefix in ("AssertionError: ", "checks.verdicts.Inconclusive: ", "Inconclusive: ", "Failed: "):
        first = first.removeprefix(prefix)
    if first.endswith(":") and len(lines) > 1:  # a heading, e.g. "service accounts:" before the verdict
        first = f"{first} {lines[1]}"
    return first[:400], ""


def impersonation_reasons(reasons: Mapping[str, str]) -> list[str]:
    """`users: why` lines, one per distinct reason, from {user: why it is impersonated} (the environment's
    `impersonated` of a cluster), e.g. ["blue-admin, blue-viewer: no CSR certificate for blue-admin: ..."]."""
    users: dict[str, list[str]] = {}
    for user, reason in sorted(reasons.items()):
        users.setdefault(reason or "no reason recorded", []).append(user)
    return [f"{', '.join(names)}: {reason}" for reason, names in users.items()]


def _credentials(environment: Mapping[str, Any]) -> str:
    clusters = environment.get("clusters", [])
    kinds = sorted({k for c in clusters for k in c.get("credentials", [])})
    if not kinds:
        return "unknown"
    if "impersonation" in kinds:
        real = [k for k in kinds if k != "impersonation"]
        reasons = impersonation_reasons({u: r for c in clusters for u, r in (c.get("impersonated") or {}).items()})
        return (
            "impersonated (the admin impersonates tenant identities"
            + (f"; why: {'; '.join(reasons)}" if reasons else "")
            + ")"
            + (f"; real for some: {', '.join(real)}" if real else "")
        )
    return f"real ({', '.join(kinds)})"


def impersonation_notes(environments: Mapping[str, Mapping[str, Any]], products: Iterable[str]) -> list[str]:
    """`PRODUCT: credentials impersonated (...; why: ...)`, one line per product in `products` whose tenant
    identities are (some of them) observed through the admin's impersonation, from the run's environment
    records (RUN_DIR/environment.json): what `caas run` and `caas results` print below their verdicts."""
    return [
        f"{product}: credentials {_credentials(environments[product])}"
        for product in products
        if "impersonation"
        in {k for c in environments.get(product, {}).get("clusters", []) for k in c.get("credentials", [])}
    ]


def _entry(catalog: Mapping[str, CatalogEntry], check: str) -> dict[str, Any]:
    entry = catalog.get(check)
    return {
        "title": entry.title if entry else "",
        "severity": entry.severity if entry else "normal",
        "anchors": entry.anchor_list() if entry else [],
        "remediation": entry.remediation if entry else "",
        "rationale": entry.rationale if entry else "",
    }


def _cell(record: CheckRecord) -> dict[str, Any]:
    decisive = record.decisive
    reason, cell = observed_reason(decisive.message) if decisive else ("", "")
    return {
        "status": record.status.value,
        "expected": record.expected.value if record.expected else None,
        "meets_expectation": record.meets_expectation,
        "expectation_reason": record.reason,
        "observed_reason": reason,
        "evidence_cell": cell,
        "plans": list(record.plans),
        "decided_by": list(record.layers),
        "decided_by_source": record.layers_source,
        "identity": record.identity,
        "report_test_id": record.report_link(),
        "evidence": list(record.evidence),
        "figures": list(record.figures),
    }


def _areas(records: RunRecords, product: str) -> list[dict[str, Any]]:
    rows = []
    for area, checks in records.by_area():
        counts = {word: 0 for word in STATUS_WORDS.values()}
        expected_failures = 0
        for check in checks:
            record = records.record(check, product)
            counts[STATUS_WORDS[record.status]] += 1
            expected_failures += record.status is Status.FAIL and record.meets_expectation
        applicable = len(checks) - counts["n/a"]
        rows.append({"area": area, **counts, "applicable": applicable, "expected_failures": expected_failures})
    return rows


def _findings(records: RunRecords, catalog: Mapping[str, CatalogEntry], context: RunContext) -> list[dict[str, Any]]:
    differences = set(records.differences())
    found = []
    for check in records.checks:
        for product in records.products:
            record = records.record(check, product)
            if record.status in (Status.PASS, Status.SKIPPED) and record.meets_expectation:
                continue
            environment = context.environment.get(product, {})
            found.append(
                {
                    "check": check,
                    "product": product,
                    **_entry(catalog, check),
                    **_cell(record),
                    "differs": check in differences,
                    "elsewhere": {p: records.record(check, p).status.value for p in records.products if p != product},
                    "credentials": _credentials(environment),
                }
            )
    found.sort(key=lambda f: (f["meets_expectation"], SEVERITIES.index(f["severity"]), f["check"], f["product"]))
    return found


def _other_differences(records: RunRecords, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checks that differ between products without any finding (e.g. passed here, not applicable there)."""
    with_finding = {f["check"] for f in findings}
    return [
        {"check": c, "statuses": {p: records.record(c, p).status.value for p in records.products}}
        for c in records.differences()
        if c not in with_finding
    ]


def build_decision(records: RunRecords, catalog: Mapping[str, CatalogEntry], context: RunContext) -> dict[str, Any]:
    """The decision mapping (schema reports/schema/decision.schema.json, version SCHEMA_VERSION)."""
    findings = _findings(records, catalog, context)
    differences = set(records.differences())
    grid = [
        {
            "check": check,
            "area": records.area_of(check),
            "differs": check in differences,
            **_entry(catalog, check),
            "cells": {p: _cell(records.record(check, p)) for p in records.products},
        }
        for check in records.checks
    ]
    products = [
        {
            "name": p,
            "environment": dict(context.environment.get(p, {})),
            "credentials": _credentials(context.environment.get(p, {})),
            "areas": _areas(records, p),
            "unmet": sum(not records.record(c, p).meets_expectation for c in records.checks),
        }
        for p in records.products
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": context.run_id,
        "date": context.date,
        "allure_report": context.allure_link,
        "products": products,
        "findings": findings,
        "other_differences": _other_differences(records, findings),
        "grid": grid,
        "plan_table": [list(row) for row in context.plan_table],
        "matrices": [dict(m) for m in context.matrices],
        "trends": dict(context.trends) or {"runs": [], "rows": []},
    }


def unmet_line(record: CheckRecord) -> str:
    """One line for an unmet expectation, e.g. "FAIL (expected pass): green/a → blue/b:8080/tcp allowed: ..."."""
    decisive = record.decisive
    reason, cell = observed_reason(decisive.message) if decisive else ("", "")
    expected = record.expected.value if record.expected else ("pass or n/a" if record.status is not Status.PASS else "")
    head = f"{record.status.value.upper()} (expected {expected})" if expected else record.status.value.upper()
    if record.status is Status.UNKNOWN:
        return f"{head}: no scenario of the check reported a result"
    text = reason or (record.reason and f"targets file: {record.reason}") or "no failure message"
    return f"{head}: {text}" + (f" [{cell}]" if cell and cell not in text else "")
