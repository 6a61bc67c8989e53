"""The decision page (HTML, Markdown, JSON) and checks.junit.xml, rendered from the golden records.

The records are those of the comparison's golden files (tests/unit/test_comparison_golden.py) with a real
mismatch message, an environment per product, a plan x control table, a matrix and two runs of trends.
To regenerate tests/golden/decision.* after an intended change of the rendering:

    CAAS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_decision_page.py

and review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports import decision as page
from reports import junit
from reports.catalog import load_checks
from reports.findings import RunContext, build_decision, observed_reason, unmet_line
from reports.records import MESSAGE_CHARS, RunRecords, Status, aggregate, read_allure_results
from reports.run_folder import read_matrices
from reports.trends import run_entry, trend_table
from tests.unit.test_comparison_golden import GOLDEN, golden_records

UPDATE = os.environ.get("CAAS_UPDATE_GOLDEN") == "1"
MISMATCH = (
    "XFAIL CFCR's flannel does not enforce NetworkPolicy\n\n"
    "AssertionError: FAIL: 1 mismatched, 0 not observed of 4 cells\n\n"
    "expected (. allowed, X denied)\n...\n\nexpected DENIED, observed ALLOWED: green/a -> blue/b:8080/tcp "
    "(connected in 3 ms)"
)


def _environment(product: str, version: str, credentials: str) -> dict[str, Any]:
    return {
        "product": product,
        "backend": "lab",
        "lab_profile": product,
        "run_id": "run-2",
        "date": "2026-11-29T12:00:00+00:00",
        "suite_version": "0.1.0",
        "mutation": None,
        "admission_plugins": ["NamespaceLifecycle", "PodSecurity"],
        "admission_plugins_source": "the lab profile the API server was started with",
        "dataplane": {"enforces_network_policy": product == "pks", "enforce_within_seconds": 60.0, "how": ""},
        "clusters": [
            {
                "name": f"dr-{product}-shared",
                "tenants": ["blue", "green"],
                "authorization": "rbac" if product == "pks" else "abac",
                "credentials": [credentials],
                "kubernetes_version": version,
                "nodes": [{"name": "n1", "kubelet": version, "container_runtime": "containerd://2.1.4"}],
            }
        ],
        "plans": [
            {
                "name": "small",
                "authorization": "rbac",
                "pod_security": "restricted",
                "allow_privileged": False,
                "control_plane_egress": False,
                "service_types": ["ClusterIP"],
                "workers": 1,
                "quota": {"pods": "10"},
            }
        ],
    }


def records_with_mismatch() -> RunRecords:
    records = golden_records()
    key = ("check_network_001", "cfcr")
    record = records.records[key]
    scenario = replace(record.scenarios[0], message=MISMATCH)
    return replace(records, records={**records.records, key: replace(record, scenarios=(scenario,))})


def golden_decision() -> dict[str, Any]:
    records = records_with_mismatch()
    environment = {
        "cfcr": _environment("cfcr", "v1.34.2", "token"),
        "pks": _environment("pks", "v1.34.2", "impersonation"),
    }
    earlier = run_entry(golden_records(), "run-1", "2026-11-28T12:00:00+00:00", environment)
    earlier["verdicts"]["pks"]["check_stor_001"] = "pass"
    earlier["versions"]["pks"] = "v1.34.1"
    now = run_entry(records, "run-2", "2026-11-29T12:00:00+00:00", environment)
    context = RunContext(
        run_id="run-2",
        date="2026-11-29T12:00:00+00:00",
        environment=environment,
        plan_table=[["plan", "privileged"], ["pks/small (blue)", "rejected (PodSecurity admission)"]],
        matrices=[
            {
                "check": "check_network_001",
                "product": "cfcr",
                "scenario": "check_network_001 scenario 1",
                "name": "pod-to-pod (text)",
                "text": "FAIL\n  a  b\na .  .\nb .  .",
            }
        ],
        trends=trend_table([earlier, now]),
        allure_link="allure-report/index.html",
    )
    return build_decision(records, load_checks(), context)


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("decision.html", page.to_html),
        ("decision.md", page.to_markdown),
        ("decision.json", page.to_json),
        ("checks.junit.xml", junit.to_junit),
    ],
)
def test_rendering_matches_the_golden_file(name: str, render: Any) -> None:
    rendered = render(golden_decision())
    path = GOLDEN / name
    if UPDATE:
        path.write_text(rendered)
    assert rendered == path.read_text(), f"{name} changed: see the module docstring to regenerate"


def test_findings_name_reason_cell_layer_remediation_and_credentials_most_severe_first() -> None:
    decision = golden_decision()
    findings = {(f["check"], f["product"]): f for f in decision["findings"]}
    assert set(findings) == {
        ("check_network_001", "cfcr"),
        ("check_rbac_001", "pks"),
        ("check_stor_001", "pks"),
        ("check_stor_001", "cfcr"),
        ("check_privileged_001", "cfcr"),
        ("check_privileged_001", "pks"),
    }
    net = findings[("check_network_001", "cfcr")]
    assert net["evidence_cell"] == "green/a → blue/b:8080/tcp allowed"
    assert net["observed_reason"].startswith("expected DENIED, observed ALLOWED: green/a -> blue/b:8080/tcp")
    assert net["expectation_reason"] == "flannel does not enforce NetworkPolicy"
    assert net["remediation"] == load_checks()["check_network_001"].remediation
    assert net["credentials"] == "real (token)"
    assert findings[("check_rbac_001", "pks")]["credentials"].startswith("impersonated")
    assert findings[("check_rbac_001", "pks")]["observed_reason"] == "connection refused"
    order = [(f["meets_expectation"], f["severity"]) for f in decision["findings"]]
    scale = ["blocker", "critical", "normal", "minor", "trivial"]
    assert order == sorted(order, key=lambda o: (o[0], scale.index(o[1]))), "news first, then most severe first"
    assert not order[0][0], "an unmet expectation leads"
    blocker = [f for f in decision["findings"] if f["severity"] == "blocker"]
    assert [f["check"] for f in blocker] == [
        "check_privileged_001",
        "check_privileged_001",
    ]  # no result: still a finding
    critical = [f for f in decision["findings"] if f["severity"] == "critical"]
    assert critical[-1]["check"] == "check_network_001"  # the expected gap after the unmet expectations


def test_the_page_shows_each_section_and_links_each_cell_to_the_allure_evidence() -> None:
    html = page.to_html(golden_decision())
    for section in ("products", "findings", "grid", "plans", "trends"):
        assert f'<section id="{section}">' in html
    assert 'href="allure-report/index.html#/report-check_network_001-cfcr-1"' in html
    assert "network: 0 passed, 1 failed (1 expected), 0 error, 1 n/a of 2 checks" in html
    assert "<code>green/a → blue/b:8080/tcp allowed</code>" in html
    assert "@media print" in html
    assert "fail → pass in run-2" not in html
    assert "pass → fail in run-2 (2026-11-29T12:00:00+00:00, v1.34.2)" in html
    assert "&lt;script&gt;" not in html or "<script> " not in html.split("</head>")[1]


def test_the_json_follows_the_published_schema_and_a_broken_one_is_refused() -> None:
    decision = golden_decision()
    page.validate(decision)
    assert json.loads(page.to_json(decision))["schema_version"] == 1
    broken = {**decision, "findings": [{**decision["findings"][0], "severity": "urgent"}]}
    with pytest.raises(jsonschema.ValidationError):
        page.validate(broken)


def test_junit_has_one_case_per_check_and_product_with_reason_and_remediation() -> None:
    root = ET.fromstring(junit.to_junit(golden_decision()))  # noqa: S314 - the suite's own output
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 2 * 6
    pks = {c.get("name", "").split(":")[0]: c for c in root.findall("testsuite[@name='pks']/testcase")}
    failure = pks["check_stor_001"].find("failure")
    assert failure is not None
    assert "expected pass" in failure.get("message", "")
    error = pks["check_rbac_001"].find("error")
    assert error is not None
    assert error.get("message") == "ERROR: connection refused"
    assert "to fix: " + load_checks()["check_rbac_001"].remediation in (error.text or "")
    cfcr = {c.get("name", "").split(":")[0]: c for c in root.findall("testsuite[@name='cfcr']/testcase")}
    skipped = cfcr["check_network_001"].find("skipped")
    assert skipped is not None
    assert "product gap" in skipped.get("message", "")
    assert root.find("testsuite[@name='pks']").get("failures") == "1"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("message", "reason", "cell"),
    [
        (MISMATCH, "expected DENIED, observed ALLOWED: green/a -> blue/b:8080/tcp (connected in 3 ms)", None),
        ("AssertionError: quota not enforced: 3 claims bound", "quota not enforced: 3 claims bound", ""),
        (
            "checks.verdicts.Inconclusive: ERROR\n\nnot observed properly (ERROR): blue-admin -> get secrets (timeout)",
            "not observed properly (ERROR): blue-admin -> get secrets (timeout)",
            "blue-admin → get secrets error",
        ),
    ],
)
def test_observed_reason_reads_the_first_cell_or_line(message: str, reason: str, cell: str | None) -> None:
    got_reason, got_cell = observed_reason(message)
    assert got_reason == reason
    assert got_cell == (cell if cell is not None else "green/a → blue/b:8080/tcp allowed")


def test_unmet_line_names_status_expectation_and_reason() -> None:
    records = records_with_mismatch()
    assert unmet_line(records.record("check_rbac_001", "pks")) == "ERROR (expected pass or n/a): connection refused"
    assert unmet_line(records.record("check_privileged_001", "cfcr")).startswith("UNKNOWN")
    assert records.record("check_stor_001", "pks").status is Status.FAIL
    assert unmet_line(records.record("check_stor_001", "pks")).startswith("FAIL (expected pass)")


def test_trends_name_each_change_with_its_run_date_and_version() -> None:
    rows = {(r["check"], r["product"]): r for r in golden_decision()["trends"]["rows"]}
    changes = rows[("check_stor_001", "pks")]["changes"]
    assert changes == [
        {
            "run_id": "run-2",
            "date": "2026-11-29T12:00:00+00:00",
            "from": "pass",
            "to": "fail",
            "version": "v1.34.2",
            "mutation": None,
        }
    ]
    assert rows[("check_network_001", "cfcr")]["changes"] == []
    assert rows[("check_network_001", "cfcr")]["statuses"] == ["fail", "fail"]


def test_a_long_message_keeps_its_mismatches_and_a_result_file_need_not_be_named_by_its_uuid(tmp_path: Path) -> None:
    long = "AssertionError: FAIL: 276 mismatched\n" + "matrix row\n" * 4000 + MISMATCH.rsplit("\n\n", maxsplit=1)[-1]
    result = {
        "name": "rbac",
        "status": "failed",
        "uuid": "aaaa",
        "labels": [{"name": "check", "value": "check_rbac_002"}, {"name": "product", "value": "cfcr"}],
        "statusDetails": {"message": long},
        "steps": [{"name": "then", "attachments": [{"name": "rbac (text)", "source": "x-attachment.txt"}]}],
    }
    (tmp_path / "bbbb-result.json").write_text(json.dumps(result))
    (tmp_path / "x-attachment.txt").write_text("the matrix")
    records = aggregate(read_allure_results(tmp_path), ["cfcr"], ["check_rbac_002"])
    record = records.record("check_rbac_002", "cfcr")
    assert len(record.scenarios[0].message) <= MESSAGE_CHARS + 3
    assert observed_reason(record.scenarios[0].message)[1] == "green/a → blue/b:8080/tcp allowed"
    assert read_matrices(tmp_path, records) == [
        {"check": "check_rbac_002", "product": "cfcr", "scenario": "rbac", "name": "rbac (text)", "text": "the matrix"}
    ]
