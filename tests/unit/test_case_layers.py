"""Which layer's refusal shows a privilege case's expected outcome (provisioning/model/privileges.py
`deciding_layers`, `CaseResult.matches`): a case only the plan's pod-security level forbids must be
refused by a layer enforcing that level (PodSecurity admission, or a ValidatingAdmissionPolicy or policy
webhook doing its work); refused by another layer, e.g. API validation, it is a mismatch naming both."""

from __future__ import annotations

import pytest

from checks.matrix import Cell
from checks.privileged.cases import plan_comparison
from provisioning.model.privileges import Case, CaseResult, Layer, Outcome, PlanVerdicts

R, N = Outcome.REJECTED, Outcome.NOT_RUN


@pytest.mark.parametrize("layer", [Layer.API_VALIDATION, Layer.QUOTA, Layer.KUBELET, None])
def test_a_level_case_refused_by_another_layer_is_a_mismatch_naming_both(layer: Layer | None) -> None:
    result = CaseResult(Case.HOST_PID, R, R, layer, "refused")
    assert not result.matches
    assert result.wrong_layer == (
        f"refused by {layer.value if layer else 'no layer named'}, expected PodSecurity admission, "
        "ValidatingAdmissionPolicy or admission webhook"
    )


@pytest.mark.parametrize("layer", [Layer.POD_SECURITY, Layer.ADMISSION_POLICY, Layer.WEBHOOK])
def test_a_level_case_refused_by_a_layer_enforcing_the_level_matches(layer: Layer) -> None:
    """The plan promises its level, not the mechanism: a policy engine may enforce it (PSP-era products)."""
    result = CaseResult(Case.HOST_PID, R, R, layer)
    assert result.matches
    assert result.wrong_layer == ""


def test_privileged_may_be_refused_by_api_validation_before_admission() -> None:
    """An API server without --allow-privileged (the lab's cfcr) refuses it before any admission layer."""
    assert CaseResult(Case.PRIVILEGED, R, R, Layer.API_VALIDATION).matches
    assert CaseResult(Case.PRIVILEGED, R, R, Layer.POD_SECURITY).matches
    assert not CaseResult(Case.PRIVILEGED, R, R, Layer.QUOTA).matches


def test_a_case_invalid_everywhere_is_shown_by_any_admission_layer() -> None:
    assert CaseResult(Case.HOST_PROCESS, R, R, Layer.API_VALIDATION).matches
    assert not CaseResult(Case.HOST_PROCESS, R, R, Layer.QUOTA).matches


def test_a_node_refusal_comes_from_the_node() -> None:
    assert CaseResult(Case.UNSAFE_SYSCTL, N, N, Layer.KUBELET).matches
    assert CaseResult(Case.PROC_UNMASKED, N, N, Layer.RUNTIME).matches
    wrong = CaseResult(Case.UNSAFE_SYSCTL, N, N, Layer.POD_SECURITY)
    assert wrong.wrong_layer == "refused by PodSecurity admission, expected kubelet or container runtime"


def test_a_different_outcome_is_no_layer_question() -> None:
    result = CaseResult(Case.HOST_PID, R, Outcome.RUNS, Layer.NONE)
    assert not result.matches
    assert result.wrong_layer == ""


def test_the_plan_table_fails_the_cell_and_names_both_layers() -> None:
    results = tuple(CaseResult(c, R, R, Layer.POD_SECURITY, "violates PodSecurity") for c in Case)
    results = tuple(
        CaseResult(r.case, R, R, Layer.API_VALIDATION, "spec: Invalid value") if r.case is Case.HOST_PID else r
        for r in results
    )
    comparison = plan_comparison([PlanVerdicts("pks", "small", "blue", "ran", results, control_ran=True)])
    assert [(m.row, m.column) for m in comparison.mismatches] == [("pks/small (blue)", "hostPID")]
    evidence = comparison.observed.evidence["pks/small (blue)", "hostPID"]
    assert comparison.observed["pks/small (blue)", "hostPID"] is Cell.DENIED
    assert evidence.startswith("refused by API validation, expected PodSecurity admission,")
