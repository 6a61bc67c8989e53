"""The small pure pieces of the reports (reports/decision.py, catalog.py, run_folder.py, trends.py,
allure_report.py): the decision page's verdict texts, the catalog's ids and "did you mean" hints, what a
run folder says of its environment, attachments and date, the trends file, and the Allure links.
Damaged input is skipped or reported, never raised past the reports (the trends are a convenience)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reports import decision, run_folder, trends
from reports.allure_report import AllureUnavailable, _unquote_predicates, allure_command, report_test_link
from reports.catalog import check_ids, closest_check_ids
from reports.records import CheckRecord, RunRecords, ScenarioResult, Status

# --- the decision page's texts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "meets", "text"),
    [
        ("pass", None, True, "pass"),
        ("fail", None, False, "FAIL"),
        ("fail", "fail", True, "FAIL (expected)"),
        ("pass", "fail", False, "pass (expected fail)"),
        ("error", "pass", False, "ERROR (expected pass)"),
        ("skipped", None, True, "n/a"),
        ("unknown", None, True, "unknown"),
    ],
)
def test_a_grid_cell_says_its_status_and_whether_it_met_the_expectation(
    status: str, expected: str | None, meets: bool, text: str
) -> None:
    assert decision.cell_text({"status": status, "expected": expected, "meets_expectation": meets}) == text


def test_an_area_line_counts_its_checks_and_the_not_applicable_ones() -> None:
    area = {
        "area": "rbac",
        "passed": 9,
        "failed": 2,
        "expected_failures": 2,
        "error": 0,
        "no result": 0,
        "applicable": 11,
        "n/a": 1,
    }
    assert decision.area_line(area) == "rbac: 9 passed, 2 failed (2 expected), 0 error, 1 n/a of 12 checks"
    unfinished = {**area, "expected_failures": 0, "no result": 3}
    assert decision.area_line(unfinished) == "rbac: 9 passed, 2 failed, 0 error, 3 no result, 1 n/a of 12 checks"


def test_a_plans_switches_in_one_line() -> None:
    plan = {
        "authorization": "rbac",
        "pod_security": "restricted",
        "allow_privileged": False,
        "control_plane_egress": True,
        "service_types": ["ClusterIP", "NodePort"],
        "workers": 2,
        "quota": {"requests.storage": "2Gi", "pods": "10"},
    }
    assert decision.plan_switches(plan) == (
        "rbac, pod security restricted, privileged off, API server egress on, services ClusterIP/NodePort, "
        "2 worker(s); quota pods=10, requests.storage=2Gi"
    )
    assert decision.plan_switches({**plan, "quota": {}}).endswith("2 worker(s)")


def test_verdict_changes_in_one_line_with_the_mutation_where_there_was_one() -> None:
    changes: list[dict[str, str | None]] = [
        {"from": "pass", "to": "fail", "run_id": "run-2", "date": "2026-11-29", "version": "v1.34.2", "mutation": "X"},
        {"from": "fail", "to": "pass", "run_id": "run-3", "date": "2026-11-30", "version": "v1.34.2", "mutation": None},
    ]
    assert decision.change_text(changes) == (
        "pass → fail in run-2 (2026-11-29, v1.34.2, mutation X); fail → pass in run-3 (2026-11-30, v1.34.2)"
    )
    assert decision.change_text([]) == ""


def test_the_environment_of_a_product_that_provisioned_nothing_says_so() -> None:
    facts = decision.environment_facts({"environment": {}, "credentials": "real"})
    assert facts == [("environment", "not recorded (the run provisioned no tenancy for this product)")]


def test_the_environment_facts_in_the_pages_order() -> None:
    environment = {
        "backend": "lab",
        "lab_profile": "calico",
        "clusters": [
            {
                "name": "pks-shared",
                "kubernetes_version": "v1.34.1",
                "authorization": "Node,RBAC",
                "tenants": ["blue", "green"],
                "nodes": [{"kubelet": "v1.34.1", "container_runtime": "containerd://2.1"}] * 2,
            }
        ],
        "dataplane": {"enforces_network_policy": False, "how": "flannel.", "enforce_within_seconds": 10},
        "admission_plugins": [],
        "admission_plugins_source": "the API server's flags",
        "suite_version": "0.9.0",
        "run_id": "run-1",
        "date": "2026-11-29",
        "mutation": "no-admission-policy",
    }
    facts = dict(decision.environment_facts({"environment": environment, "credentials": "impersonated"}))
    assert facts["backend"] == "lab (lab profile calico)"
    assert facts["Kubernetes"] == "v1.34.1"
    assert facts["nodes"] == "kubelet v1.34.1, containerd://2.1"
    assert facts["dataplane"] == "does not enforce NetworkPolicy: flannel"  # no promise of enforcing
    assert facts["admission plugins"] == "none recorded (the API server's flags)"
    assert facts["credentials"] == "impersonated"
    assert facts["clusters"] == "pks-shared: blue, green"
    assert facts["mutation"] == "no-admission-policy (a fence removed on purpose)"
    unobserved = dict(decision.environment_facts({"environment": {"dataplane": {}}, "credentials": "real"}))
    assert unobserved["dataplane"] == "not observed; changes to be enforced within ? s (the targets file)"
    assert unobserved["Kubernetes"] == "not recorded"


# --- the catalog ------------------------------------------------------------------------------------


def test_the_catalog_ids_and_the_closest_ones_to_a_misspelt_id() -> None:
    ids = check_ids()
    assert {"check_network_001", "check_rbac_001", "check_privileged_004", "check_storage_005"} <= ids
    assert "check_network_001" in closest_check_ids("check_network_01")
    assert closest_check_ids("chek_storage_005")[0] == "check_storage_005"


def test_an_id_of_the_old_naming_gets_exactly_its_new_name() -> None:
    assert closest_check_ids("check_net_001") == ["check_network_001"]
    assert closest_check_ids("check_priv_006") == ["check_privileged_006"]
    assert closest_check_ids("check_sto_002") == ["check_storage_002"]
    assert closest_check_ids("check_prov_001") == ["check_provisioning_001"]
    assert len(closest_check_ids("check_network_00")) <= 3
    assert closest_check_ids("tenant isolation") == []


# --- a run folder -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [None, "not json", "[]", '{"products": []}', '{"no products": {}}', '{"products": {"pks": "text"}}'],
)
def test_an_environment_file_missing_or_damaged_is_no_environment(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / run_folder.ENVIRONMENT_FILE).write_text(content)
    assert run_folder.read_environment(tmp_path) == {}


def test_the_environment_of_every_product_the_run_recorded(tmp_path: Path) -> None:
    products = {"pks": {"backend": "lab"}, "cfcr": {"backend": "bosh"}, "odd": 3}
    (tmp_path / run_folder.ENVIRONMENT_FILE).write_text(json.dumps({"products": products}))
    assert run_folder.read_environment(tmp_path) == {"pks": {"backend": "lab"}, "cfcr": {"backend": "bosh"}}


def test_attachment_names_come_from_every_step_of_every_result_and_damaged_results_are_skipped(tmp_path: Path) -> None:
    result = {
        "attachments": [{"name": "pod-to-pod (text)", "source": "a-attachment.txt"}, {"name": "no source"}],
        "steps": [{"attachments": [{"name": "inner", "source": "b-attachment.html"}], "steps": []}],
    }
    (tmp_path / "1-result.json").write_text(json.dumps(result))
    (tmp_path / "2-result.json").write_text("{truncated")
    (tmp_path / "3-result.json").write_text("[]")
    (tmp_path / "c-container.json").write_text(json.dumps({"attachments": [{"name": "x", "source": "c.txt"}]}))
    assert run_folder.attachment_names(tmp_path) == {
        "a-attachment.txt": "pod-to-pod (text)",
        "b-attachment.html": "inner",
    }


def test_the_run_date_is_when_its_first_scenario_started_in_utc(tmp_path: Path) -> None:
    def scenario(start_ms: int) -> ScenarioResult:
        return ScenarioResult("check_network_001", "pks", "s", Status.PASS, start_ms=start_ms)

    record = CheckRecord("check_network_001", "pks", Status.PASS, (scenario(1_764_460_800_000), scenario(0)))
    later = CheckRecord("check_rbac_001", "pks", Status.PASS, (scenario(1_764_460_900_000),))
    records = RunRecords(
        ("pks",),
        ("check_network_001", "check_rbac_001"),
        {("check_network_001", "pks"): record, ("check_rbac_001", "pks"): later},
    )
    assert run_folder.run_date(records, tmp_path) == "2025-11-30T00:00:00+00:00"
    os.utime(tmp_path, (1_764_460_800, 1_764_460_800))
    assert run_folder.run_date(RunRecords(("pks",), ()), tmp_path) == "2025-11-30T00:00:00+00:00", (
        "no scenario started: the folder's time"
    )


# --- the trends file --------------------------------------------------------------------------------


def entry(run_id: str, date: str, status: str = "pass") -> dict[str, object]:
    return {"run_id": run_id, "date": date, "verdicts": {"pks": {"check_network_001": status}}}


def test_a_missing_trends_file_is_no_trend(tmp_path: Path) -> None:
    assert trends.read_trends(tmp_path / trends.TRENDS_FILE) == ([], [])


def test_damaged_trend_lines_are_skipped_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / trends.TRENDS_FILE
    lines = [json.dumps(entry("run-1", "2026-11-01")), "{oops", "", '{"run_id": "run-x"}', "[1]"]
    path.write_text("\n".join(lines) + "\n" + json.dumps(entry("run-2", "2026-11-02")) + "\n")
    entries, problems = trends.read_trends(path)
    assert [e["run_id"] for e in entries] == ["run-1", "run-2"]
    assert problems == [f"{path}:{n}: not a run entry of the trends, skipped" for n in (2, 4, 5)]


def test_recording_a_run_replaces_its_own_line_keeps_date_order_and_the_last_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / trends.TRENDS_FILE
    trends.record_run(path, entry("run-2", "2026-11-02"))
    trends.record_run(path, entry("run-1", "2026-11-01"))
    kept = trends.record_run(path, entry("run-2", "2026-11-02", "fail"))
    assert [(e["run_id"], e["verdicts"]) for e in kept] == [
        ("run-1", {"pks": {"check_network_001": "pass"}}),
        ("run-2", {"pks": {"check_network_001": "fail"}}),
    ]
    assert trends.read_trends(path) == (kept, [])
    monkeypatch.setattr(trends, "KEEP", 2)
    kept = trends.record_run(path, entry("run-3", "2026-11-03"))
    assert [e["run_id"] for e in kept] == ["run-2", "run-3"]
    assert len(path.read_text().splitlines()) == 2


# --- Allure -----------------------------------------------------------------------------------------


def test_a_report_link_opens_one_test_by_its_hash_route() -> None:
    assert report_test_link("../allure-report/index.html", "a1b2c3") == "../allure-report/index.html#/a1b2c3"


def test_without_the_allure_cli_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(AllureUnavailable, match="run `npm ci` in"):
        allure_command(tmp_path)


def test_quoted_predicates_become_javascript_expressions() -> None:
    body = json.dumps({"filter": '@@byProduct("pks")@@', "name": "plain", "other": "@@all()@@"})
    assert _unquote_predicates(body) == '{"filter": byProduct("pks"), "name": "plain", "other": all()}'
    assert _unquote_predicates('{"a": 1}') == '{"a": 1}'
