"""check_privileged_001/002 ask the Pod Security case matrix once per (plan, cluster), of its first tenant by
name, and read back every other tenant's fence: the grouping, the choice and the comparison (pure)."""

from __future__ import annotations

import pytest

from checks.privileged.cases import FENCE, PlansObserved, plan_comparison, require_plan_verdicts
from checks.privileged.representatives import ABSENT, ReadBack, fence, fence_differences, groups, read_backs
from checks.verdicts import Inconclusive
from provisioning.model.fences import ENFORCE
from provisioning.model.privileges import Case, CaseResult, Layer, Outcome, PlanVerdicts
from provisioning.model.tenancy import Tenant

X, R = Outcome.REJECTED, Outcome.RUNS
RESTRICTED = {ENFORCE: "restricted", f"{ENFORCE}-version": "v1.34", "caas-conformance.io/tenant": "t"}
CLUSTERS = {"blue": "c1", "green": "c1", "amber": "c1", "red": "c2", "pink": "c1"}


def _tenants() -> list[Tenant]:
    return [Tenant("green", "small"), Tenant("red", "small"), Tenant("blue", "small"), Tenant("pink", "large")]


def test_one_representative_per_plan_and_cluster_the_first_by_name() -> None:
    found = groups(_tenants(), lambda t: CLUSTERS[t.name])
    assert [(g.plan, g.cluster, g.representative.name, [t.name for t in g.covered]) for g in found] == [
        ("small", "c1", "blue", ["green"]),
        ("large", "c1", "pink", []),
        ("small", "c2", "red", []),
    ]


def test_the_choice_does_not_depend_on_the_targets_files_order() -> None:
    forward = groups(_tenants(), lambda t: CLUSTERS[t.name])
    assert groups(reversed(_tenants()), lambda t: CLUSTERS[t.name]) == forward


def test_the_fence_is_the_enforcing_labels_only() -> None:
    assert fence(RESTRICTED) == {ENFORCE: "restricted", f"{ENFORCE}-version": "v1.34"}
    assert fence(None) == {ENFORCE: ABSENT, f"{ENFORCE}-version": ABSENT}


def test_a_difference_names_the_field_and_both_values() -> None:
    removed = fence({k: v for k, v in RESTRICTED.items() if k != ENFORCE})
    assert fence_differences(fence(RESTRICTED), removed) == [f"{ENFORCE}: representative restricted, tenant {ABSENT}"]
    assert fence_differences(fence(RESTRICTED), fence({**RESTRICTED, "other": "x"})) == []


def test_read_backs_cover_the_same_fence_and_not_a_differing_or_unread_one() -> None:
    found = groups([Tenant("blue", "small"), Tenant("green", "small"), Tenant("amber", "small")], lambda t: "c1")
    assert found[0].representative.name == "amber"
    fences = {"amber": fence(RESTRICTED), "blue": fence(RESTRICTED), "green": "reading namespace: 503"}
    blue, green = read_backs(found, fences)
    assert blue.covered
    assert not green.covered
    assert green.error == "reading namespace: 503"
    unread = read_backs(found, {**fences, "amber": "timeout"})
    assert [r.error for r in unread] == ["representative's fence not read: timeout"] * 2


def _verdict(results: dict[Case, CaseResult], ran: bool = True) -> PlanVerdicts:
    return PlanVerdicts("pks", "small", "blue", "ran (compliant-1 on n1)", tuple(results.values()), ran)


def _as_planned() -> dict[Case, CaseResult]:
    return {c: CaseResult(c, X, X, Layer.POD_SECURITY, "violates PodSecurity") for c in Case}


def _read(**fields: object) -> ReadBack:
    return ReadBack("green", "small", "c1", "blue", **fields)  # type: ignore[arg-type]


def test_a_covered_tenant_with_the_same_fence_passes_with_its_representative() -> None:
    comparison = plan_comparison([_verdict(_as_planned())], [_read()])
    assert comparison.observed.rows == ("pks/small (blue)", "pks/small (green)")
    assert not comparison.mismatches
    assert not comparison.incomplete
    require_plan_verdicts([_verdict(_as_planned())], "report", [_read()])


def test_a_removed_pod_security_label_fails_naming_the_tenant_and_the_field() -> None:
    differs = _read(differences=(f"{ENFORCE}: representative restricted, tenant {ABSENT}",))
    comparison = plan_comparison([_verdict(_as_planned())], [differs])
    assert [(m.row, m.column) for m in comparison.mismatches] == [("pks/small (green)", FENCE)]
    with pytest.raises(AssertionError, match="green"):
        require_plan_verdicts([_verdict(_as_planned())], differs.describe(), [differs])
    assert ENFORCE in differs.describe()


def test_a_read_back_that_errors_is_error_never_a_failure() -> None:
    with pytest.raises(Inconclusive):
        require_plan_verdicts([_verdict(_as_planned())], "report", [_read(error="reading namespace: 503")])


def test_a_representatives_contradiction_fails_its_covered_tenants_too_unless_its_control_failed() -> None:
    results = _as_planned()
    results[Case.HOST_PID] = CaseResult(Case.HOST_PID, X, R, Layer.NONE, "runs")
    comparison = plan_comparison([_verdict(results)], [_read()])
    assert {m.row for m in comparison.mismatches} == {"pks/small (blue)", "pks/small (green)"}
    no_control = plan_comparison([_verdict(results, ran=False)], [_read()])
    assert not no_control.mismatches, "without the representative's control, no copied cell is evidence"


def test_without_covered_tenants_the_table_is_as_before() -> None:
    assert FENCE not in plan_comparison([_verdict(_as_planned())]).observed.columns


def test_the_report_names_the_tenants_not_covered_first() -> None:
    differs = _read(differences=(f"{ENFORCE}: representative restricted, tenant {ABSENT}",))
    text = PlansObserved((_verdict(_as_planned()),), (ReadBack("amber", "small", "c1", "blue"), differs)).describe()
    assert text.splitlines()[0] == f"NOT COVERED: {differs.describe()}"
    assert "blue (plan small): case matrix observed" in text
