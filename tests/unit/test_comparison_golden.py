"""Golden files of the comparison page (HTML, Markdown, JSON) rendered from canonical records.

The records cover every status, an expected product gap, an unmet expectation, two areas, links into
the Allure report and a check with no result at all (UNKNOWN). To regenerate the golden files after an
intended change of the rendering, run

    CAAS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_comparison_golden.py

and review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import json
import os

import pytest

from reports.comparison import to_html, to_json, to_markdown
from reports.records import RunRecords, ScenarioResult, Status, aggregate
from tests.support import ROOT

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("CAAS_UPDATE_GOLDEN") == "1"


def _scenario(check: str, product: str, status: Status, area: str, n: int = 1, **extra: object) -> ScenarioResult:
    """One scenario's result; it observed with real credentials unless it was skipped or `extra` says."""
    if status is not Status.SKIPPED:
        extra.setdefault("identity", "real")
    return ScenarioResult(
        check=check,
        product=product,
        name=f"{check} scenario {n}",
        status=status,
        uuid=f"{check}-{product}-{n}",
        duration_ms=1000 * n,
        area=area,
        tenancy=("shared_cluster",),
        evidence=(f"{check}-{product}-{n}-attachment.html",),
        **extra,  # type: ignore[arg-type]
    )


def golden_records() -> RunRecords:
    results = [
        _scenario("check_network_001", "cfcr", Status.FAIL, "network", message="expected DENIED, observed ALLOWED"),
        _scenario("check_network_001", "pks", Status.PASS, "network", layer="NetworkPolicy"),
        _scenario("check_network_002", "cfcr", Status.SKIPPED, "network"),
        _scenario(
            "check_network_002",
            "pks",
            Status.PASS,
            "network",
            figures=("time to enforce: median 2.6 s, worst 2.9 s (relabel a pod) over 6 changes",),
        ),
        _scenario("check_rbac_001", "cfcr", Status.PASS, "rbac", plan="default", identity="impersonated"),
        _scenario("check_rbac_001", "pks", Status.PASS, "rbac", plan="small"),
        _scenario(
            "check_rbac_001",
            "pks",
            Status.ERROR,
            "rbac",
            n=2,
            plan="large",
            message="connection refused",
            identity="impersonated",
        ),
        _scenario("check_smoke_001", "cfcr", Status.PASS, "smoke"),
        _scenario("check_smoke_001", "pks", Status.PASS, "smoke"),
        _scenario("check_stor_001", "pks", Status.FAIL, "storage"),  # cfcr never ran it: UNKNOWN
    ]
    expectations = {
        ("check_network_001", "cfcr"): (Status.FAIL, "flannel does not enforce NetworkPolicy"),
        ("check_stor_001", "pks"): (Status.PASS, "volumes are per tenant"),
    }
    records = aggregate(
        results, ["cfcr", "pks"], ["check_privileged_001"], expectations, {"check_privileged_001": "privileged"}
    )
    links = {r.uuid: f"report-{r.uuid}" for r in results if r.check != "check_smoke_001"}
    return records.with_report_links(links)


TITLES = {
    "check_network_001": "Tenants on a shared cluster cannot reach each other's pods",
    "check_network_002": "A dedicated cluster's pods are out of other tenants' reach",
    "check_rbac_001": "A tenant admin cannot read another tenant's secrets <script>",
    "check_smoke_001": "The suite's wiring works",
}


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("comparison.html", lambda r: to_html(r, TITLES, allure_link="allure-report/index.html")),
        ("comparison.md", lambda r: to_markdown(r, TITLES)),
        ("comparison.json", lambda r: to_json(r, TITLES)),
    ],
)
def test_rendering_matches_the_golden_file(name: str, render: object) -> None:
    rendered = render(golden_records())  # type: ignore[operator]
    path = GOLDEN / name
    if UPDATE:
        path.write_text(rendered)
    assert rendered == path.read_text(), f"{name} changed: see the module docstring to regenerate"


def test_records_behind_the_golden_files() -> None:
    records = golden_records()
    assert records.record("check_privileged_001", "cfcr").status is Status.UNKNOWN  # zero results: never a pass
    assert records.record("check_stor_001", "cfcr").status is Status.UNKNOWN
    assert records.record("check_rbac_001", "pks").status is Status.ERROR  # any error beats the passes
    assert records.record("check_rbac_001", "pks").plans == ("large", "small")
    assert records.record("check_rbac_001", "pks").identity == "mixed"  # one scenario real, one impersonated
    assert records.record("check_rbac_001", "cfcr").identity == "impersonated"
    assert records.record("check_network_001", "pks").identity == "real"
    assert records.record("check_network_002", "cfcr").identity == ""  # skipped: it observed nothing
    assert records.record("check_network_001", "cfcr").meets_expectation
    assert not records.record("check_stor_001", "pks").meets_expectation
    assert records.record("check_rbac_001", "pks").report_link() == "report-check_rbac_001-pks-2"
    assert [area for area, _ in records.by_area()] == ["network", "privileged", "rbac", "smoke", "storage"]
    assert records.differences() == ["check_network_001", "check_network_002", "check_rbac_001", "check_stor_001"]


def test_html_groups_by_area_links_cells_and_escapes() -> None:
    page = to_html(golden_records(), TITLES, allure_link="allure-report/index.html")
    assert page.count('<tbody class="area"') == 5
    assert 'href="allure-report/index.html#/report-check_network_001-cfcr-1"' in page
    assert "&lt;script&gt;" in page
    assert "<script> " not in page.split("</head>")[1]
    assert 'id="differs-only"' in page
    data = json.loads(to_json(golden_records(), TITLES))
    assert data["differences"] == ["check_network_001", "check_network_002", "check_rbac_001", "check_stor_001"]
