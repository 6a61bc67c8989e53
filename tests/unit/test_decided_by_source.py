"""A record's `decided_by` is evidence only when a verdict read it (reports/records.py, issue 18): the
layers of the observed cells the deciding scenarios compared ("observed"), else the area's attributed to
their verdicts ("area"); a record no verdict decided (ERROR, n/a, unknown) names none, even when an
erroring scenario had read a layer before it broke. Its tenancy is that of the tenants judged."""

from __future__ import annotations

import json
from pathlib import Path

from reports.records import (
    AREA,
    OBSERVED,
    UNKNOWN_SOURCE,
    ScenarioResult,
    Status,
    aggregate,
    decided_by_text,
    read_allure_results,
)


def _scenario(status: Status, layers: tuple[str, ...] = (), area_layers: tuple[str, ...] = ()) -> ScenarioResult:
    return ScenarioResult("check_rbac_001", "pks", "s", status, layers=layers, area_layers=area_layers)


def _record(*scenarios: ScenarioResult) -> tuple[tuple[str, ...], str]:
    record = aggregate(scenarios, ["pks"], ["check_rbac_001"]).record("check_rbac_001", "pks")
    return record.layers, record.layers_source


def test_a_verdict_read_in_observed_cells_is_observed() -> None:
    assert _record(_scenario(Status.PASS, ("authorizer",), ("authorization (RBAC)",))) == (("authorizer",), OBSERVED)


def test_a_verdict_whose_cells_named_no_layer_is_the_areas_and_says_so() -> None:
    assert _record(_scenario(Status.FAIL, (), ("authorization (ABAC)",))) == (("authorization (ABAC)",), AREA)


def test_an_error_record_names_no_layer_even_one_read_before_it_broke() -> None:
    broke = _scenario(Status.ERROR, ("authorizer",), ("authorization (RBAC)",))
    assert _record(_scenario(Status.PASS, ("PodSecurity admission",)), broke) == ((), "")
    assert _record(_scenario(Status.SKIPPED, (), ("authorization (RBAC)",))) == ((), "")


def test_a_failed_record_is_decided_by_its_failing_scenarios_only() -> None:
    passed = _scenario(Status.PASS, ("authorizer",))
    failed = _scenario(Status.FAIL, (), ("authorization (ABAC)",))
    assert _record(passed, failed) == (("authorization (ABAC)",), AREA)


def test_the_renderers_line_says_where_the_layer_comes_from() -> None:
    assert decided_by_text(["authorizer"], OBSERVED) == "authorizer (observed in the compared cells)"
    assert decided_by_text(["NetworkPolicy dataplane"], AREA).endswith("(the area's: no compared cell named a layer)")
    assert decided_by_text([], "").startswith("none recorded")
    assert decided_by_text(["RBAC"], UNKNOWN_SOURCE).startswith("RBAC (source not recorded")


def _result(tmp_path: Path, name: str, labels: list[tuple[str, str]]) -> None:
    result = {"name": name, "status": "passed", "uuid": name, "labels": [{"name": n, "value": v} for n, v in labels]}
    (tmp_path / f"{name}-result.json").write_text(json.dumps(result))


def test_tenancy_is_the_judged_tenants_placements_else_the_features_tags(tmp_path: Path) -> None:
    head = [("product", "pks"), ("epic", "smoke")]
    _result(
        tmp_path,
        "a",
        [("check", "check_smoke_001"), *head, ("tenancy", "shared_cluster"), ("tenancy", "dedicated_cluster")],
    )
    _result(tmp_path, "b", [("check", "check_network_001"), *head, ("tag", "shared_cluster")])
    _result(tmp_path, "c", [("check", "check_rbac_012"), *head, ("layer", "authorizer"), ("area_layer", "x")])
    got = {r.check: r for r in read_allure_results(tmp_path)}
    assert got["check_smoke_001"].tenancy == ("dedicated_cluster", "shared_cluster")
    assert got["check_network_001"].tenancy == ("shared_cluster",), "a result of before the label: its tags"
    assert (got["check_rbac_012"].layers, got["check_rbac_012"].area_layers) == (("authorizer",), ("x",))


def _records_of(tmp_path: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    results = read_allure_results(tmp_path)
    checks = sorted({r.check for r in results})
    records = aggregate(results, ["pks"], checks)
    return {c: (records.record(c, "pks").layers, records.record(c, "pks").layers_source) for c in checks}


def test_a_run_made_before_area_layer_existed_says_its_layers_source_is_unknown(tmp_path: Path) -> None:
    """Its `layer` labels held the observed layers and the area's alike: nobody can tell which."""
    head = [("product", "pks"), ("tag", "shared_cluster")]
    _result(tmp_path, "a", [("check", "check_storage_001"), *head, ("layer", "RBAC, ResourceQuota admission")])
    _result(tmp_path, "b", [("check", "check_rbac_012"), *head, ("layer", "authorizer")])
    _result(tmp_path, "c", [("check", "check_smoke_001"), *head])
    assert _records_of(tmp_path) == {
        "check_storage_001": (("RBAC, ResourceQuota admission",), UNKNOWN_SOURCE),
        "check_rbac_012": (("authorizer",), UNKNOWN_SOURCE),
        "check_smoke_001": ((), ""),
    }


def test_a_newer_run_whose_verdicts_all_observed_their_layers_is_still_observed(tmp_path: Path) -> None:
    """No `area_layer` anywhere, but the `tenancy` label of the same version says the run told them apart."""
    _result(
        tmp_path,
        "b",
        [("check", "check_rbac_012"), ("product", "pks"), ("tenancy", "shared_cluster"), ("layer", "authorizer")],
    )
    assert _records_of(tmp_path) == {"check_rbac_012": (("authorizer",), OBSERVED)}
