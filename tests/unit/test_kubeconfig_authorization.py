"""The kubeconfig backend's clusters authorize as their plan states unless one SubjectAccessReview refutes it
(provisioning/backends/kubeconfig_authorization.py); the reviews' answers are those the lab's clusters gave."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from provisioning.backends import kubeconfig_authorization as authz
from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.kubeconfig_spec import KubeconfigSpec
from provisioning.backends.protocol import ClusterRequest
from provisioning.kube import client as kube
from provisioning.model.tenancy import AuthorizationMode, ClusterPlacement, Placement, Plan, Tenant

ABAC_REFUSAL = {"allowed": False, "reason": "No policy matched."}  # lab cfcr, either question
RBAC_REFUSAL = {"allowed": False}  # lab pks (Node,RBAC), the ABAC question: no authorizer gives a reason
RBAC_GRANT = {
    "allowed": True,
    "reason": 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" '
    'to Group "system:authenticated"',
}  # lab pks, the RBAC question


@pytest.mark.parametrize(
    ("mode", "status", "refuted"),
    [
        (AuthorizationMode.RBAC, RBAC_GRANT, False),
        (AuthorizationMode.RBAC, ABAC_REFUSAL, True),  # an ABAC cluster stated as RBAC: tenants would get 403
        (AuthorizationMode.RBAC, {"allowed": False, "reason": "denied by the webhook"}, False),  # cannot tell
        (AuthorizationMode.RBAC, {"allowed": True}, False),  # another authorizer allowed first
        (AuthorizationMode.ABAC, ABAC_REFUSAL, False),
        (AuthorizationMode.ABAC, RBAC_REFUSAL, True),  # an RBAC cluster stated as ABAC
        (AuthorizationMode.ABAC, {"allowed": True}, False),
        (AuthorizationMode.ABAC, {"allowed": False, "reason": "x\nNo policy matched."}, False),  # ABAC,RBAC
        # an authorizer failed (e.g. an unreachable webhook): allowed false without a reason decides nothing
        (AuthorizationMode.ABAC, {"allowed": False, "evaluationError": "webhook: connection refused"}, False),
        (AuthorizationMode.RBAC, {**ABAC_REFUSAL, "evaluationError": "webhook: connection refused"}, False),
    ],
)
def test_a_review_refutes_a_stated_mode_only_on_the_answer_it_contradicts(
    mode: AuthorizationMode, status: dict[str, Any], refuted: bool
) -> None:
    assert (authz.contradiction(mode, status) is not None) is refuted


class FakeApi:
    """The requests a backend's provision sends; SubjectAccessReviews answered with `status`."""

    def __init__(self, status: dict[str, Any] | None, review_fails: bool = False) -> None:
        self.status = status
        self.review_fails = review_fails
        self.sent: list[tuple[str, str, Any]] = []

    def close(self) -> None:
        pass


def backend(monkeypatch: pytest.MonkeyPatch, api: FakeApi) -> KubeconfigBackend:
    def request(fake: FakeApi, method: str, path: str, body: Any = None, **_kw: Any) -> Any:
        fake.sent.append((method, path, body))
        if path == authz.REVIEWS:
            if fake.review_fails:
                raise kube.ApiFailure(403, "Forbidden")
            return {"status": fake.status}
        return {"gitVersion": "v1.34.0"}

    monkeypatch.setattr(kube, "cluster_of_context", lambda _p, _c=None: kube.Cluster("https://10.0.0.1", b"ca"))
    monkeypatch.setattr(kube, "from_kubeconfig", lambda *_a, **_kw: api)
    monkeypatch.setattr(kube, "request", request)
    return KubeconfigBackend(
        spec=KubeconfigSpec(path="admin.kubeconfig"),
        base_dir=Path("/tmp"),
        source="targets.yaml",
        where="products[1].kubeconfig",
        plan_indices={"small": 0, "default": 1},
    )


def request_for(mode: AuthorizationMode) -> ClusterRequest:
    tenants = (Tenant("blue", "default"),)
    placement = ClusterPlacement("bare", "shared", Placement.SHARED, tenants)
    return ClusterRequest(placement, Plan("default", authorization=mode), "run")


@pytest.mark.parametrize(
    ("mode", "status"), [(AuthorizationMode.ABAC, ABAC_REFUSAL), (AuthorizationMode.RBAC, RBAC_GRANT)]
)
def test_the_handle_authorizes_as_the_plan_states(
    monkeypatch: pytest.MonkeyPatch, mode: AuthorizationMode, status: dict[str, Any]
) -> None:
    api = FakeApi(status)
    handle = backend(monkeypatch, api).provision(request_for(mode))
    assert handle.authorization is mode
    reviews = [body for _m, path, body in api.sent if path == authz.REVIEWS]
    assert len(reviews) == 1
    assert reviews[0]["spec"]["user"] == authz.PROBE_USER


def test_a_refuted_plan_is_one_line_naming_the_plans_authorization(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as raised:
        backend(monkeypatch, FakeApi(ABAC_REFUSAL)).provision(request_for(AuthorizationMode.RBAC))
    assert raised.value.path == "products[1].plans[1].authorization"
    assert "No policy matched" in raised.value.message
    assert "authorization: abac" in raised.value.message
    assert "\n" not in str(raised.value)


def test_a_review_the_credentials_may_not_create_leaves_the_plans_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    handle = backend(monkeypatch, FakeApi(None, review_fails=True)).provision(request_for(AuthorizationMode.ABAC))
    assert handle.authorization is AuthorizationMode.ABAC


@pytest.mark.parametrize(
    "answer",
    [
        {"status": {"allowed": False, "evaluationError": "failed calling webhook: connection refused"}},
        {"status": {}},  # no status.allowed: no answer, never a denial
        {},
        None,
    ],
)
def test_a_review_that_decided_nothing_refutes_no_plan(monkeypatch: pytest.MonkeyPatch, answer: Any) -> None:
    monkeypatch.setattr(kube, "request", lambda *_a, **_kw: answer)
    assert authz.refutation(object(), AuthorizationMode.ABAC) is None
    assert authz.refutation(object(), AuthorizationMode.RBAC) is None
