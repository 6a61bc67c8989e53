"""check_privileged_001/002 ask the Pod Security case matrix once per (plan, cluster), of its first tenant by
name, and read back every other tenant's namespace labels and dry-run one forbidden pod as it: the grouping,
the choice and the comparisons (pure)."""

from __future__ import annotations

import pytest

from checks.privileged.cases import FENCE, PlansObserved, plan_comparison, require_plan_verdicts
from checks.privileged.fences import (
    COMPLIANT,
    Admission,
    Probe,
    admission,
    admission_difference,
    fence,
    probe_case,
    read_backs,
    representatives_admission,
)
from checks.representatives import ABSENT, IGNORED_LABELS, ReadBack, fence_differences, groups
from checks.verdicts import Inconclusive
from provisioning.model import answers
from provisioning.model.fences import ENFORCE
from provisioning.model.onboarding import NAMESPACE_NAME, RUN_ID, TENANT
from provisioning.model.privileges import Case, CaseResult, Layer, Outcome, PlanVerdicts
from provisioning.model.tenancy import Plan, PodSecurityLevel, Tenant

X, R = Outcome.REJECTED, Outcome.RUNS
RESTRICTED = {ENFORCE: "restricted", f"{ENFORCE}-version": "v1.34", TENANT: "t", RUN_ID: "r1", NAMESPACE_NAME: "t"}
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


def test_the_fence_is_every_label_but_the_namespaces_and_the_tenants_names() -> None:
    assert set(IGNORED_LABELS) == {NAMESPACE_NAME, TENANT, RUN_ID}
    assert fence({**RESTRICTED, "team": "a"}) == {ENFORCE: "restricted", f"{ENFORCE}-version": "v1.34", "team": "a"}
    assert fence(None) == {}


def test_a_difference_names_the_label_and_both_values() -> None:
    removed = fence({k: v for k, v in RESTRICTED.items() if k != ENFORCE})
    assert fence_differences(fence(RESTRICTED), removed) == [f"{ENFORCE}: representative restricted, tenant {ABSENT}"]
    other = fence({**RESTRICTED, TENANT: "u", RUN_ID: "r2", NAMESPACE_NAME: "u"})
    assert fence_differences(fence(RESTRICTED), other) == [], "the per-tenant labels are no difference"
    selected = fence({**RESTRICTED, "policy.example.com/exempt": "true"})
    assert fence_differences(fence(RESTRICTED), selected) == [
        f"policy.example.com/exempt: representative {ABSENT}, tenant true"
    ], "a label an admission policy's namespace selector can match is a difference"


def test_the_dry_run_asks_for_the_first_case_the_plan_forbids_at_admission() -> None:
    restricted = Plan("small", pod_security=PodSecurityLevel.RESTRICTED)
    assert probe_case(restricted) is Case.HOST_NETWORK, "the first forbidden case, privileged last"
    baseline = Plan("default", pod_security=PodSecurityLevel.BASELINE)
    assert probe_case(baseline) is Case.HOST_NETWORK, "not privileged: API validation may refuse it cluster-wide"
    only_privileged = Plan("loose", pod_security=PodSecurityLevel.PRIVILEGED)
    assert probe_case(only_privileged) is Case.PRIVILEGED
    privileged = Plan("open", allow_privileged=True, pod_security=PodSecurityLevel.PRIVILEGED)
    assert probe_case(privileged) is None, "a plan that forbids nothing: the compliant pod must be admitted"


def _pod_security_refusal() -> answers.Answer:
    body = 'pods "p" is forbidden: violates PodSecurity "restricted:v1.34": privileged'
    return answers.classify(403, body, "Forbidden")


def test_a_dry_runs_answer_is_classified_as_a_create_is() -> None:
    assert admission(None) == Admission(Outcome.ADMITTED, Layer.NONE, "admitted (dry run)")
    refused = admission(_pod_security_refusal(), "403: violates PodSecurity")
    assert (refused.outcome, refused.layer) == (X, Layer.POD_SECURITY)
    unavailable = admission(answers.classify(503, "etcdserver: leader changed", "ServiceUnavailable"))
    assert unavailable.outcome is Outcome.ERROR, "an answer that decides nothing is never a refusal"


def test_the_dry_run_must_get_the_representatives_outcome_from_the_same_layer() -> None:
    rep = Admission(X, Layer.POD_SECURITY)
    assert admission_difference("privileged", rep, Admission(X, Layer.POD_SECURITY)) == ""
    assert admission_difference("privileged", rep, Admission(Outcome.ADMITTED, Layer.NONE)) == (
        "dry-run privileged: representative rejected (PodSecurity admission), tenant admitted (-)"
    )
    other_layer = admission_difference("privileged", rep, Admission(X, Layer.ADMISSION_POLICY))
    assert "PodSecurity admission" in other_layer
    assert "ValidatingAdmissionPolicy" in other_layer


def test_the_representatives_answer_is_read_from_its_cell() -> None:
    verdict = _verdict(_as_planned())
    assert representatives_admission(verdict, Case.PRIVILEGED).layer is Layer.POD_SECURITY
    assert representatives_admission(verdict, None).outcome is Outcome.ADMITTED
    runs = {**_as_planned(), Case.PRIVILEGED: CaseResult(Case.PRIVILEGED, X, R, Layer.NONE, "runs")}
    assert representatives_admission(_verdict(runs), Case.PRIVILEGED).outcome is Outcome.ADMITTED
    unobserved = {**_as_planned(), Case.PRIVILEGED: CaseResult(Case.PRIVILEGED, X, Outcome.ERROR, None, "503")}
    assert representatives_admission(_verdict(unobserved), Case.PRIVILEGED).outcome is Outcome.ERROR
    assert representatives_admission(_verdict(_as_planned(), ran=False), None).outcome is Outcome.ERROR


REFUSED = Probe(Case.PRIVILEGED, Admission(X, Layer.POD_SECURITY, "403: violates PodSecurity"))


def _small(*names: str) -> list[Tenant]:
    return [Tenant(name, "small") for name in names]


def test_read_backs_cover_the_same_namespace_and_answer_and_not_a_differing_or_unread_one() -> None:
    found = groups(_small("blue", "green", "amber"), lambda t: "c1")
    assert found[0].representative.name == "amber"
    verdicts = [_verdict(_as_planned(), tenant="amber")]
    fences = {"amber": fence(RESTRICTED), "blue": fence(RESTRICTED), "green": "reading namespace: 503"}
    blue, green = read_backs(found, fences, {"blue": REFUSED, "green": REFUSED}, verdicts)
    assert blue.covered
    assert "dry-run privileged: rejected (PodSecurity admission)" in blue.describe()
    assert not green.covered
    assert green.error == "reading namespace: 503"
    unread = read_backs(found, {**fences, "amber": "timeout"}, {"blue": REFUSED, "green": REFUSED}, verdicts)
    assert [r.error for r in unread] == ["representative's namespace not read: timeout"] * 2


def test_a_tenant_whose_dry_run_is_admitted_fails_naming_it_the_case_and_both_layers() -> None:
    found = groups(_small("blue", "green"), lambda t: "c1")
    admitted = Probe(Case.PRIVILEGED, Admission(Outcome.ADMITTED, Layer.NONE))
    fences = {"blue": fence(RESTRICTED), "green": fence(RESTRICTED)}
    (green,) = read_backs(found, fences, {"green": admitted}, [_verdict(_as_planned())])
    assert not green.covered
    assert not green.error
    assert green.differences == (
        "dry-run privileged: representative rejected (PodSecurity admission), tenant admitted (-)",
    )
    assert green.describe().startswith("green (plan small on c1), represented by blue: differs")


def test_a_dry_run_or_a_representatives_cell_not_observed_is_error() -> None:
    found = groups(_small("blue", "green"), lambda t: "c1")
    fences = {"blue": fence(RESTRICTED), "green": fence(RESTRICTED)}
    (failed,) = read_backs(found, fences, {"green": "connection refused"}, [_verdict(_as_planned())])
    assert failed.error == "dry run: connection refused"
    unavailable = Probe(Case.PRIVILEGED, Admission(Outcome.ERROR, None, "503: leader changed"))
    (undecided,) = read_backs(found, fences, {"green": unavailable}, [_verdict(_as_planned())])
    assert undecided.error == "dry-run privileged: 503: leader changed"
    compliant = Probe(None, Admission(Outcome.ADMITTED, Layer.NONE))
    (no_control,) = read_backs(found, fences, {"green": compliant}, [_verdict(_as_planned(), ran=False)])
    assert no_control.error.startswith(f"representative's {COMPLIANT} not observed")


def _verdict(results: dict[Case, CaseResult], ran: bool = True, tenant: str = "blue") -> PlanVerdicts:
    return PlanVerdicts("pks", "small", tenant, "ran (compliant-1 on n1)", tuple(results.values()), ran)


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
