"""Reading the API server's SubjectAccessReview answers (checks/rbac/reviews.py), the second of the
access matrix's three ways: allowed or denied only from a review the API server evaluated, ERROR for
anything else (a refused review, an evaluation error, a transport failure), never a denial.

The review shapes are authorization.k8s.io/v1 SubjectAccessReview's (spec.resourceAttributes or
spec.nonResourceAttributes; status.allowed, status.reason, status.evaluationError).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks.matrix import Cell
from checks.rbac import reviews
from checks.rbac.access import STREAMING
from checks.rbac.streaming import TRANSPORTS, stream_subjects
from provisioning.kube import client as kube
from provisioning.kube.client import ApiFailure
from provisioning.model.rbac import Request

LIST_PODS = Request(
    "blue-viewer", ("blue:viewers", "blue:members", "system:authenticated"), "list", "pods", "tenant-green"
)
GET_METRICS = Request("blue-viewer", ("blue:viewers",), "get", path="/metrics")


def test_a_resource_request_is_reviewed_with_every_resource_attribute() -> None:
    exec_in = Request("blue-admin", ("blue:admins",), "create", "pods", "tenant-green", "", "exec", "probe-a")
    assert reviews.review_spec(exec_in) == {
        "user": "blue-admin",
        "groups": ["blue:admins"],
        "resourceAttributes": {
            "verb": "create",
            "group": "",
            "resource": "pods",
            "subresource": "exec",
            "namespace": "tenant-green",
            "name": "probe-a",
        },
    }


def test_a_path_is_reviewed_as_a_non_resource_request_only() -> None:
    assert reviews.review_spec(GET_METRICS) == {
        "user": "blue-viewer",
        "groups": ["blue:viewers"],
        "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
    }


def answer_with(monkeypatch: pytest.MonkeyPatch, code: int, data: bytes | Exception) -> list[dict[str, Any]]:
    """Make the API server answer every review POST with (`code`, `data`), or raise `data`."""
    sent: list[dict[str, Any]] = []

    def post_raw(_api: Any, path: str, body: bytes) -> tuple[int, bytes]:
        assert path == "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        sent.append(json.loads(body))
        if isinstance(data, Exception):
            raise data
        return code, data

    monkeypatch.setattr(kube, "post_raw", post_raw)
    return sent


def status(**fields: object) -> bytes:
    return json.dumps({"kind": "SubjectAccessReview", "status": fields}).encode()


def test_an_allowed_review_is_allowed_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = answer_with(monkeypatch, 201, status(allowed=True, reason='RBAC: allowed by RoleBinding "view"'))
    assert reviews.review(object(), LIST_PODS) == (Cell.ALLOWED, 'RBAC: allowed by RoleBinding "view"')
    assert sent == [
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": reviews.review_spec(LIST_PODS)}
    ]


def test_a_review_that_does_not_allow_is_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_with(monkeypatch, 201, status(allowed=False))
    assert reviews.review(object(), LIST_PODS) == (Cell.DENIED, "")
    answer_with(monkeypatch, 201, status(allowed=False, denied=True, reason="webhook said no"))
    assert reviews.review(object(), LIST_PODS) == (Cell.DENIED, "webhook said no")


def test_a_review_with_an_evaluation_error_is_error_never_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    error = 'clusterrole.rbac.authorization.k8s.io "caas-tenant" not found'
    answer_with(monkeypatch, 201, status(allowed=False, evaluationError=error))
    assert reviews.review(object(), LIST_PODS) == (Cell.ERROR, error)


@pytest.mark.parametrize("data", [b"{}", status(), status(reason="no allowed field")])
def test_a_created_review_without_status_allowed_is_error_never_denied(
    monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    answer_with(monkeypatch, 201, data)
    assert reviews.review(object(), LIST_PODS)[0] is Cell.ERROR


@pytest.mark.parametrize(
    ("data", "evidence"),
    [
        (b"[]", "201: no review answer: the body is not a JSON object: []"),
        (b'"allowed"', '201: no review answer: the body is not a JSON object: "allowed"'),
        (b"<html>proxy error</html>", "201: no review answer: the body is not JSON: <html>proxy error</html>"),
        (status(allowed="yes"), "201: no review answer: status.allowed is missing or not a boolean: "),
    ],
)
def test_a_created_review_that_is_no_review_answer_is_error_naming_what_came_back(
    monkeypatch: pytest.MonkeyPatch, data: bytes, evidence: str
) -> None:
    answer_with(monkeypatch, 201, data)
    cell, said = reviews.review(object(), LIST_PODS)
    assert cell is Cell.ERROR
    assert said.startswith(evidence)


def test_a_body_that_is_no_json_object_is_error_for_its_cell_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def post_raw(_api: Any, _path: str, body: bytes) -> tuple[int, bytes]:
        verb = json.loads(body)["spec"]["resourceAttributes"]["verb"]
        return 201, b"[]" if verb == "list" else status(allowed=True)

    monkeypatch.setattr(kube, "post_raw", post_raw)
    asked = [Request("blue-viewer", (), verb, "pods", "tenant-blue") for verb in ("get", "list", "watch")]
    cells = [cell for cell, _ in reviews.review_all(object(), asked, workers=2)]
    assert cells == [Cell.ALLOWED, Cell.ERROR, Cell.ALLOWED]


@pytest.mark.parametrize(
    ("code", "data", "evidence"),
    [
        (
            403,
            b'{"message": "cannot create subjectaccessreviews"}',
            '403: {"message": "cannot create subjectaccessreviews"}',
        ),
        (500, b"etcdserver: request timed out", "500: etcdserver: request timed out"),
        (200, status(allowed=False), '200: {"kind": "SubjectAccessReview", "status": {"allowed": false}}'),
    ],
)
def test_a_review_the_api_server_did_not_create_is_error(
    monkeypatch: pytest.MonkeyPatch, code: int, data: bytes, evidence: str
) -> None:
    answer_with(monkeypatch, code, data)
    assert reviews.review(object(), LIST_PODS) == (Cell.ERROR, evidence)


def test_a_review_that_never_reached_the_api_server_is_error(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_with(monkeypatch, 0, ApiFailure(0, "ReadTimeoutError: read timed out"))
    assert reviews.review(object(), LIST_PODS) == (Cell.ERROR, "0: ReadTimeoutError: read timed out")


def test_the_evidence_of_a_refused_review_is_cut_at_300_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_with(monkeypatch, 503, b"x" * 1000)
    cell, evidence = reviews.review(object(), LIST_PODS)
    assert (cell, evidence) == (Cell.ERROR, "503: " + "x" * 300)


@pytest.mark.parametrize("workers", [1, 4])
def test_review_all_answers_in_the_order_asked(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    def post_raw(_api: Any, _path: str, body: bytes) -> tuple[int, bytes]:
        verb = json.loads(body)["spec"]["resourceAttributes"]["verb"]
        return 201, status(allowed=verb == "get", reason=verb)

    monkeypatch.setattr(kube, "post_raw", post_raw)
    verbs = ["get", "list", "watch", "get", "create", "delete", "get"]
    asked = [Request("blue-viewer", (), verb, "pods", "tenant-blue") for verb in verbs]
    assert reviews.review_all(object(), asked, workers) == [
        (Cell.ALLOWED if verb == "get" else Cell.DENIED, verb) for verb in verbs
    ]


def test_every_stream_is_asked_over_every_transport_in_every_namespace_in_column_order() -> None:
    subjects = stream_subjects(["tenant-blue", "tenant-green"])
    assert len(subjects) == 2 * len(STREAMING) * len(TRANSPORTS) == 2 * 3 * 2
    assert subjects[:2] == [("tenant-blue", STREAMING[0], "websocket"), ("tenant-blue", STREAMING[0], "spdy")]
    assert {sub for _ns, sub, _t in subjects} == {"exec", "attach", "portforward"}
    assert stream_subjects([]) == []
