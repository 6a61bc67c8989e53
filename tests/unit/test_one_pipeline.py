"""Issue 18, one check pipeline (no cluster): one rule turns a classified API answer into a cell
(`provisioning.model.answers.decide`, named as cells by `checks.answered`), whatever the engine; the
positive controls of delegation, reach and the system priorities are judged by the one rule
(`checks.matrix.apply_positive_control`), and every cell keeps who decided it."""

from __future__ import annotations

from typing import Any, cast

import pytest

from checks import decided
from checks.answered import Answered, failed, made, observed
from checks.matrix import Cell, Matrix
from checks.privileged import object_limits
from checks.rbac import reviews
from checks.rbac.access import Observation, Said, classify_failure, layer_of, resource_probe
from checks.rbac.discovery import ApiResource
from checks.rbac.matrix import AccessRun, Question
from checks.rbac.reach import IDENTITY_CONTROL, TokenRun, joined, judge
from checks.verdicts import Inconclusive
from provisioning.kube.client import ApiFailure
from provisioning.model import answers, image_pulls
from provisioning.model.rbac import Request
from reports.findings import observed_reason

RBAC_DENIAL = '{"message": "pods is forbidden: User \\"u\\" cannot list resource \\"pods\\""}'
POD_SECURITY = '{"message": "pods \\"x\\" is forbidden: violates PodSecurity \\"restricted:v1.34\\""}'
INVALID = '{"message": "Pod \\"x\\" is invalid: spec.containers: Required value"}'
POLICY_422 = "pods \"x\" is forbidden: ValidatingAdmissionPolicy 'pull-always' with binding 'b' denied request: no"
PODS = ApiResource("", "v1", "pods", "Pod", True, ("list",))

A, D, E = Cell.ALLOWED, Cell.DENIED, Cell.ERROR
AUTHN, AUTHZ = answers.AUTHENTICATION_FENCE, answers.AUTHORIZATION_FENCE


@pytest.mark.parametrize(
    ("status", "body", "whole", "authorization", "authentication"),
    [
        (200, "", A, A, A),
        (101, "", A, A, A),  # a stream upgraded after authorization
        (404, "not found", A, A, A),  # authorized, admitted: the object is not there
        (403, RBAC_DENIAL, D, D, A),
        (403, POD_SECURITY, D, A, A),  # refused after authorization
        (422, INVALID, E, A, A),  # authorized, then not valid: nothing about the request's own fences
        (401, "Unauthorized", E, E, D),
        (429, "", E, E, E),
        (503, "", E, E, E),
        (0, "timed out", E, E, E),
    ],
)
def test_one_rule_maps_an_answer_to_a_cell_for_the_fence_probed(
    status: int, body: str, whole: Cell, authorization: Cell, authentication: Cell
) -> None:
    answer = answers.classify(status, body)
    assert [observed(answer, "e", fence).cell for fence in (None, AUTHZ, AUTHN)] == [
        whole,
        authorization,
        authentication,
    ]


def test_a_refusal_keeps_its_layer_and_a_request_let_through_names_nobody() -> None:
    assert failed(ApiFailure(403, "Forbidden", POD_SECURITY)).layer == "PodSecurity admission"
    assert failed(ApiFailure(403, "Forbidden", POD_SECURITY), AUTHZ).layer == "-"
    assert failed(ApiFailure(401, "Unauthorized", "Unauthorized"), AUTHN) == Answered(
        D, "401: Unauthorized", "authentication"
    )


def test_a_create_the_run_needs_is_error_when_an_object_of_that_name_is_there() -> None:
    assert made(ApiFailure(409, "Conflict", '{"message": "roles \\"r\\" already exists"}')).cell is E
    assert made(ApiFailure(422, "Unprocessable Entity", INVALID)).cell is E
    assert made(ApiFailure(403, "Forbidden", RBAC_DENIAL)) == Answered(
        D, '403: pods is forbidden: User "u" cannot list resource "pods"', "authorizer"
    )


def test_the_access_way_reads_the_one_rule_and_keeps_the_layer() -> None:
    fenced = classify_failure(ApiFailure(403, "Forbidden", RBAC_DENIAL))
    assert (fenced[0], layer_of(fenced)) == (D, "authorizer")
    admitted = classify_failure(ApiFailure(403, "Forbidden", POD_SECURITY))
    assert (admitted[0], layer_of(admitted)) == (A, "-")
    provider = classify_failure(ApiFailure(403, "Forbidden", POD_SECURITY), admission_fences=True)
    assert isinstance(provider, Said)
    assert (provider[0], provider.fenced, provider.layer) == (D, True, "PodSecurity admission")
    anonymous = classify_failure(ApiFailure(401, "Unauthorized", "Unauthorized"), anonymous=True)
    assert (anonymous[0], layer_of(anonymous)) == (D, "authentication")


def test_a_review_is_read_when_the_classifier_says_it_was_created(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"status": {"allowed": true, "reason": "ok"}}'
    monkeypatch.setattr(reviews.kube, "post_raw", lambda *_a: (201, body))
    assert reviews.review(None, Request("u", (), "get", "pods", "ns")) == (A, "ok")
    monkeypatch.setattr(reviews.kube, "post_raw", lambda *_a: (403, b"forbidden"))
    assert reviews.review(None, Request("u", (), "get", "pods", "ns"))[0] is E


def test_an_image_pull_refused_by_a_policy_is_read_with_its_status_body_and_reason() -> None:
    status_body = '{"kind": "Status", "message": "' + POLICY_422.replace('"', '\\"') + '", "reason": "Invalid"}'
    assert image_pulls.start_of_refusal(422, status_body, "Unprocessable Entity") is image_pulls.Start.ADMISSION_REFUSED
    assert image_pulls.start_of_refusal(422, INVALID, "Unprocessable Entity") is image_pulls.Start.FAILED


def _run(cell: Cell, layer: str, expected: Cell = D, row: str = "sa-blue") -> tuple[Question, Observation]:
    probe = resource_probe(row, row, PODS, "list", "tenant-red")
    question = Question(probe, cast(Any, None), expected, "serviceaccount")
    key = (row, probe.column)
    request = Matrix.build([row], [probe.column], {key: cell}, {key: "seen"}, {key: layer})
    return question, Observation({"request": request}, (), {})


def test_a_token_that_is_not_its_accounts_turns_the_denials_to_error_by_the_one_rule() -> None:
    question, observation = _run(D, "authorizer")
    wrong = Answered(D, "the token of sa-blue authenticates as someone", "authentication")
    judged = TokenRun((question,), observation, positive_control=False, tokens={"sa-blue": wrong}).compare()
    assert judged.observed["sa-blue", question.probe.column] is E
    assert judged.observed["sa-blue", IDENTITY_CONTROL] is E, "a control is never its own control"
    assert not judged.mismatches
    held = TokenRun((question,), observation, False, {"sa-blue": Answered(A, "ok", "-")}).compare()
    assert held.passed
    assert held.observed.layers["sa-blue", question.probe.column] == "authorizer"


def test_judged_runs_keep_every_cells_deciding_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[str, ...]] = []
    monkeypatch.setattr(decided, "record", recorded.append)
    question, observation = _run(D, "authorizer")
    judge([("service accounts", AccessRun((question,), observation, positive_control=False))])
    assert recorded == [("authorizer",)]
    both = joined(
        [
            ("a", Matrix.build(["r"], ["c"], {("r", "c"): D}, {}, {("r", "c"): "x"})),
            ("b", Matrix.build(["r"], ["d"], {})),
        ]
    )
    assert (both.rows, both.columns, both.layers) == (("a: r", "b: r"), ("c", "d"), {("a: r", "c"): "x"})


PRIORITY = "blue: system-node-critical"
CONTROL_ROW = f"blue: {object_limits.CONTROL}"


def test_a_failed_priority_control_makes_an_admission_prove_nothing_by_the_one_rule() -> None:
    admitted = Answered(D, "a pod of system-node-critical was admitted", "admission")
    refused_control = Answered(D, "403: violates PodSecurity", "PodSecurity admission")
    with pytest.raises(Inconclusive, match="positive control failed"):
        object_limits.require_held({CONTROL_ROW: refused_control, PRIORITY: admitted}, "refused")
    with pytest.raises(AssertionError):
        object_limits.require_held({CONTROL_ROW: Answered(A, "admitted (dry run)", "-"), PRIORITY: admitted}, "refused")


def test_a_failing_table_names_a_contradicted_row_first_for_the_reports_reason() -> None:
    admitted = Answered(D, "a pod of system-node-critical was admitted", "admission")
    with pytest.raises(AssertionError) as failure:
        object_limits.require_held({CONTROL_ROW: Answered(A, "admitted (dry run)", "-"), PRIORITY: admitted}, "refused")
    first = str(failure.value).splitlines()[0]
    assert first == f"{PRIORITY}: contradicted [admission] a pod of system-node-critical was admitted"
    assert observed_reason(f"AssertionError: {failure.value}")[0] == first


def test_a_held_priority_refusal_records_its_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[str, ...]] = []
    monkeypatch.setattr(decided, "record", recorded.append)
    refused = Answered(A, "refused: 403: forbidden", "ValidatingAdmissionPolicy")
    object_limits.require_held({CONTROL_ROW: Answered(A, "admitted (dry run)", "-"), PRIORITY: refused}, "refused")
    assert recorded == [("ValidatingAdmissionPolicy",)]
