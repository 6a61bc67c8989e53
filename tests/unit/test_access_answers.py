"""The access matrix's real requests and self/subject access reviews as cells (checks/rbac/access.py):
a request or review the API server answered decides the cell; one that failed is ERROR, never denied.
Only a request sent without credentials may take its 401 as the refusal it asked for.

Review shapes: authorization.k8s.io/v1 SelfSubjectAccessReview and SubjectAccessReview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from checks.matrix import Cell
from checks.rbac import access
from checks.rbac.discovery import ApiResource
from checks.rbac.non_resource import path_probe
from provisioning.kube import client as kube
from provisioning.kube.client import ApiFailure
from provisioning.model.access import ANONYMOUS

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "create"))
LIST_GREEN_PODS = access.resource_probe("blue-viewer", "blue-viewer", PODS, "list", "tenant-green")
ANONYMOUS_LIST = replace(access.resource_probe(ANONYMOUS, ANONYMOUS, PODS, "list", ""), anonymous=True)


def api_answers(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[dict[str, Any]]:
    """kube.send answers `answer`: an ApiFailure with a status is that status and its body, one of status 0
    is raised (a transport error), anything else is a 201 with `answer` as its JSON body. Returns what was
    sent (the body parsed)."""
    sent: list[dict[str, Any]] = []

    def send(_api: Any, method: str, path: str, body: bytes | None = None, headers: Any = None) -> Any:
        sent.append({"method": method, "path": path, "body": body and json.loads(body), "headers": headers})
        if isinstance(answer, ApiFailure):
            if answer.status == 0:
                raise answer
            return answer.status, answer.reason, answer.body.encode()
        return 201, "Created", json.dumps(answer).encode()

    monkeypatch.setattr(kube, "send", send)
    return sent


def test_a_request_that_succeeded_is_allowed_and_is_sent_as_the_probe_says(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = api_answers(monkeypatch, {})
    assert access.real_request(object(), LIST_GREEN_PODS) == (Cell.ALLOWED, "authorized (2xx)")
    assert sent == [
        {
            "method": "GET",
            "path": "/api/v1/namespaces/tenant-green/pods?limit=1",
            "body": None,
            "headers": {"Content-Type": "application/json"},
        }
    ]


def test_a_write_is_sent_with_its_body_its_content_type_and_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = api_answers(monkeypatch, {})
    patch = access.resource_probe("blue-viewer", "blue-viewer", PODS, "patch", "tenant-green")
    assert access.real_request(object(), patch)[0] is Cell.ALLOWED
    assert sent == [
        {
            "method": "PATCH",
            "path": f"/api/v1/namespaces/tenant-green/pods/{access.ABSENT}?dryRun=All",
            "body": {},
            "headers": {"Content-Type": "application/merge-patch+json"},
        }
    ]


FORBIDDEN = '{"message": "pods is forbidden: User \\"blue-viewer\\" cannot list resource \\"pods\\""}'


@pytest.mark.parametrize(
    ("failure", "cell"),
    [
        (ApiFailure(403, "Forbidden", FORBIDDEN), Cell.DENIED),
        (ApiFailure(401, "Unauthorized"), Cell.ERROR),  # the credentials did not work: nothing was asked
        (ApiFailure(0, "ConnectTimeoutError"), Cell.ERROR),
        (ApiFailure(503, "Service Unavailable"), Cell.ERROR),
        (ApiFailure(404, "Not Found"), Cell.ALLOWED),  # authorized, then the absent object was not found
    ],
)
def test_a_refused_request_is_classified_by_what_the_api_server_said(
    monkeypatch: pytest.MonkeyPatch, failure: ApiFailure, cell: Cell
) -> None:
    api_answers(monkeypatch, failure)
    assert access.real_request(object(), LIST_GREEN_PODS)[0] is cell


def test_a_403_in_no_wording_of_the_api_servers_is_error_never_access_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    api_answers(monkeypatch, ApiFailure(403, "Forbidden", "Forbidden"))  # e.g. a proxy in front of the API server
    cell, evidence = access.real_request(object(), LIST_GREEN_PODS)
    assert cell is Cell.ERROR
    assert "a layer the answer does not name" in evidence
    assert "authorized" not in evidence


def test_a_401_is_the_refusal_only_of_a_request_sent_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    api_answers(monkeypatch, ApiFailure(401, "Unauthorized"))
    cell, evidence = access.real_request(object(), ANONYMOUS_LIST)
    assert cell is Cell.DENIED
    assert evidence == "401: a request without credentials is refused (Unauthorized)"
    assert access.real_request(object(), path_probe(ANONYMOUS, ANONYMOUS, "/metrics"))[0] is Cell.DENIED
    assert access.real_request(object(), path_probe("blue-viewer", "blue-viewer", "/metrics"))[0] is Cell.ERROR


def test_a_self_review_asks_the_probes_attributes_and_reads_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = api_answers(monkeypatch, {"status": {"allowed": False, "reason": ""}})
    assert access.self_review(object(), LIST_GREEN_PODS) == (Cell.DENIED, "SelfSubjectAccessReview: ")
    [request] = sent
    assert request["method"] == "POST"
    assert request["path"] == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert request["body"] == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "group": "", "resource": "pods", "namespace": "tenant-green"}},
    }


def test_a_subject_review_names_the_user_and_its_groups_with_the_authenticated_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = api_answers(monkeypatch, {"status": {"allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "x"'}})
    cell, evidence = access.subject_review(object(), LIST_GREEN_PODS, ("blue:viewers", "blue:members"))
    assert (cell, evidence) == (Cell.ALLOWED, 'SubjectAccessReview: RBAC: allowed by ClusterRoleBinding "x"')
    assert sent[0]["path"] == "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    spec = sent[0]["body"]["spec"]
    assert spec["user"] == "blue-viewer"
    assert spec["groups"] == ["blue:viewers", "blue:members", "system:authenticated"]


def test_a_subject_review_of_the_anonymous_user_is_in_the_unauthenticated_group_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = api_answers(monkeypatch, {"status": {"allowed": False}})
    access.subject_review(object(), path_probe(ANONYMOUS, ANONYMOUS, "/version"), ("ignored",))
    assert sent[0]["body"]["spec"] == {
        "user": ANONYMOUS,
        "groups": ["system:unauthenticated"],
        "nonResourceAttributes": {"path": "/version", "verb": "get"},
    }


@pytest.mark.parametrize(
    ("answer", "cell", "evidence"),
    [
        (ApiFailure(403, "Forbidden"), Cell.ERROR, "SelfSubjectAccessReview itself failed: 403: Forbidden"),
        (ApiFailure(0, "timed out"), Cell.ERROR, "SelfSubjectAccessReview itself failed: 0: timed out"),
        (
            {"status": {"allowed": False, "evaluationError": "webhook unreachable"}},
            Cell.ERROR,
            "SelfSubjectAccessReview evaluation error: webhook unreachable",
        ),
    ],
)
def test_a_review_that_could_not_answer_is_error_never_denied(
    monkeypatch: pytest.MonkeyPatch, answer: Mapping[str, Any] | ApiFailure, cell: Cell, evidence: str
) -> None:
    api_answers(monkeypatch, answer)
    assert access.self_review(object(), LIST_GREEN_PODS) == (cell, evidence)


@pytest.mark.parametrize("answer", [{}, {"kind": "SelfSubjectAccessReview"}, {"status": {}}])
def test_an_answer_without_status_allowed_is_error_never_denied(
    monkeypatch: pytest.MonkeyPatch, answer: Mapping[str, Any]
) -> None:
    api_answers(monkeypatch, answer)
    assert access.self_review(object(), LIST_GREEN_PODS)[0] is Cell.ERROR


@pytest.mark.parametrize(
    ("answer", "evidence"),
    [
        (None, "SelfSubjectAccessReview: no review answer: the body is not a JSON object: null"),
        ([], "SelfSubjectAccessReview: no review answer: the body is not a JSON object: []"),
        ({"status": {}}, 'SelfSubjectAccessReview: no review answer: status.allowed is missing or not a boolean: {"s'),
    ],
)
def test_an_answer_that_is_no_review_answer_is_error_naming_what_came_back(
    monkeypatch: pytest.MonkeyPatch, answer: Any, evidence: str
) -> None:
    api_answers(monkeypatch, answer)
    cell, said = access.self_review(object(), LIST_GREEN_PODS)
    assert cell is Cell.ERROR
    assert said.startswith(evidence)


class _Streaming:
    """A response whose status line came and whose body never ends (a watch): reading it is a failure."""

    def __init__(self, status: int) -> None:
        self.status, self.reason, self.headers, self.closed = status, "OK", {}, False

    def read(self, _amount: int) -> bytes:
        raise AssertionError("the watch's stream was read")

    def close(self) -> None:
        self.closed = True


class _Api:
    def __init__(self, response: _Streaming) -> None:
        self.sent: list[tuple[str, str]] = []
        self.response = response
        self.default_headers: dict[str, str] = {}
        self.configuration = self
        self.host = "https://api.test:6443"
        self.rest_client = self
        self.pool_manager = self

    def get_api_key_with_prefix(self, _name: str) -> str:
        return "Bearer t"

    def request(self, method: str, url: str, **_kw: Any) -> _Streaming:
        self.sent.append((method, url))
        return self.response


def test_a_watch_is_answered_by_its_status_line_and_its_stream_closed_unread() -> None:
    watch = access.resource_probe("blue-viewer", "blue-viewer", PODS, "watch", "tenant-blue")
    api = _Api(_Streaming(200))
    assert access.real_request(api, watch) == (Cell.ALLOWED, "authorized (200: the watch started)")
    assert api.sent == [("GET", "https://api.test:6443/api/v1/namespaces/tenant-blue/pods?watch=true&timeoutSeconds=1")]
    assert api.response.closed


PROVIDER_GUARD = ApiFailure(
    422,
    "Invalid",
    json.dumps(
        {
            "kind": "Status",
            "status": "Failure",
            "reason": "Invalid",
            "message": 'rolebindings.rbac.authorization.k8s.io "acme-admin-blue" is forbidden: '
            "ValidatingAdmissionPolicy 'acme-guard' with binding 'acme-guard' denied request: hands off",
        }
    ),
)


def test_any_admission_refusal_fences_the_providers_own_object_and_only_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """onboarding: existing: a provider guards its objects with its own policy (any name, 403 or 422);
    on other probes the same refusal comes after authorization and proves nothing of RBAC."""
    api_answers(monkeypatch, PROVIDER_GUARD)
    provider_object = replace(LIST_GREEN_PODS, method="DELETE", admission_fences=True)
    cell, evidence = access.real_request(object(), provider_object)
    assert cell is Cell.DENIED
    assert evidence.startswith(f"{access.FENCED_BY_ADMISSION}422: ")
    assert access.real_request(object(), replace(provider_object, admission_fences=False))[0] is Cell.ALLOWED
