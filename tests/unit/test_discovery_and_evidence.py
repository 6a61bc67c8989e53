"""What the access matrix asks is what the API server says it serves (checks/rbac/discovery.py's
discover: every top-level resource of each group's preferred version, with the standard verbs it lists),
and evidence attached to the report is redacted first (checks/evidence.py)."""

from __future__ import annotations

from typing import Any

import allure
import pytest

from checks import evidence
from checks.rbac.discovery import ApiResource, discover
from provisioning.kube import client as kube

DISCOVERY: dict[str, Any] = {
    "/apis": {
        "groups": [
            {"name": "apps", "preferredVersion": {"version": "v1"}},
            {"name": "metrics.k8s.io", "preferredVersion": {"version": "v1beta1"}},
        ]
    },
    "/api/v1": {
        "resources": [
            {"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["get", "list", "create", "proxy"]},
            {"name": "pods/exec", "kind": "PodExecOptions", "namespaced": True, "verbs": ["get", "create"]},
            {"name": "bindings", "kind": "Binding", "namespaced": True, "verbs": ["create"]},
            {"name": "componentstatuses", "kind": "ComponentStatus", "namespaced": False, "verbs": ["get", "list"]},
            {"name": "nothing", "kind": "Nothing", "namespaced": False, "verbs": ["proxy"]},
        ]
    },
    "/apis/apps/v1": {
        "resources": [
            {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["watch", "get", "patch"]},
            {"name": "deployments/scale", "kind": "Scale", "namespaced": True, "verbs": ["get", "update"]},
        ]
    },
    "/apis/metrics.k8s.io/v1beta1": {
        "resources": [{"name": "nodes", "kind": "NodeMetrics", "namespaced": False, "verbs": ["get", "list"]}]
    },
}


def test_discovery_keeps_top_level_resources_with_their_standard_verbs_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def request(_api: Any, method: str, path: str) -> Any:
        assert method == "GET"
        asked.append(path)
        return DISCOVERY[path]

    monkeypatch.setattr(kube, "request", request)
    assert discover(object()) == [
        ApiResource("", "v1", "bindings", "Binding", True, ("create",)),
        ApiResource("", "v1", "componentstatuses", "ComponentStatus", False, ("get", "list")),
        ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "create")),
        ApiResource("apps", "v1", "deployments", "Deployment", True, ("get", "watch", "patch")),
        ApiResource("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, ("get", "list")),
    ], "subresources and resources with no standard verb are left out; verbs in the standard order"
    assert asked == ["/apis", "/api/v1", "/apis/apps/v1", "/apis/metrics.k8s.io/v1beta1"]


def test_a_resources_paths_follow_its_group_and_scope() -> None:
    pods = ApiResource("", "v1", "pods", "Pod", True, ("get",))
    deployments = ApiResource("apps", "v1", "deployments", "Deployment", True, ("get",))
    assert (pods.api_version, pods.base, pods.label) == ("v1", "/api/v1", "pods")
    assert (deployments.api_version, deployments.base, deployments.label) == (
        "apps/v1",
        "/apis/apps/v1",
        "deployments.apps",
    )
    assert pods.collection("tenant-blue") == "/api/v1/namespaces/tenant-blue/pods"
    assert deployments.collection("") == "/apis/apps/v1/deployments"


def test_the_timings_table_lists_each_step_in_seconds_and_the_total() -> None:
    table = evidence.timings_table({"create cluster <pks>": 61.26, "onboard blue": 2.0})
    assert "<td>create cluster &lt;pks&gt;</td><td style='text-align:right'>61.3 s</td>" in table
    assert "<td>onboard blue</td><td style='text-align:right'>2.0 s</td>" in table
    assert "<tr><th>total</th><th>63.3 s</th></tr>" in table
    assert evidence.timings_table({}).endswith("<tr><th>total</th><th>0.0 s</th></tr></table>")


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(allure, "attach", lambda body, name, attachment_type: seen.append((name, body)))
    return seen


JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_an_api_answer_is_attached_with_status_reason_and_body_redacted(attached: list[tuple[str, str]]) -> None:
    failure = kube.ApiFailure(403, "Forbidden", f'{{"message": "denied", "token": "{JWT}"}}')
    evidence.attach_api_answer(failure, "refusal")
    [(name, body)] = attached
    assert name == "refusal"
    assert body.startswith("HTTP 403 Forbidden\n\n")
    assert '"message": "denied"' in body
    assert JWT not in body


def test_an_answer_without_a_body_is_attached_as_its_text(attached: list[tuple[str, str]]) -> None:
    evidence.attach_api_answer(kube.ApiFailure(0, "connection refused"))
    assert attached == [("API answer", "HTTP 0 connection refused\n\n0 connection refused")]


def test_timings_are_attached_only_when_there_are_some(attached: list[tuple[str, str]]) -> None:
    evidence.attach_timings({}, "timings")
    assert attached == []
    evidence.attach_timings({"onboard": 1.0}, "timings")
    assert [name for name, _ in attached] == ["timings"]
