"""Refusals mapped by the one classifier (provisioning.model.answers.classify), never by hand:
checks.answered.over_quota (a ResourceQuota refusal for the resource asked about is DENIED, any other answer
ERROR) as checks/privileged/limits.py's pod-count and above-quota probes read it, and
provisioning.tenancy.refused_by_protection (the onboarding protection's policy in force)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from checks.answered import EVIDENCE_MAX, over_quota
from checks.matrix import Cell
from checks.privileged import limits
from provisioning.kube import client as kube
from provisioning.kube.client import ApiFailure
from provisioning.model import answers
from provisioning.model.onboarding import PROTECTION
from provisioning.model.tenancy import Plan, Quota, Tenant
from provisioning.tenancy import refused_by_protection

PODS_EXCEEDED = (
    'pods "count-over-ab" is forbidden: exceeded quota: tenant-quota, requested: pods=1, used: pods=4, limited: pods=4'
)
CPU_EXCEEDED = (
    'pods "greedy-ab" is forbidden: exceeded quota: tenant-quota, requested: requests.cpu=3, used: requests.cpu=0,'
    " limited: requests.cpu=2"
)
LIMITED = "maximum cpu usage per Container is 1, but limit is 3"
AUTHORIZER = 'pods is forbidden: User "blue-admin" cannot create resource "pods" in API group "" in the namespace'


def failure(status: int, message: str) -> ApiFailure:
    return ApiFailure(status, "Forbidden", json.dumps({"message": message, "reason": "Forbidden"}))


@pytest.mark.parametrize(
    ("refusal", "resource", "cell", "layer"),
    [
        (failure(403, PODS_EXCEEDED), "pods", Cell.DENIED, answers.Layer.QUOTA),
        (failure(403, PODS_EXCEEDED), "", Cell.DENIED, answers.Layer.QUOTA),  # any resource the quota names
        (failure(403, CPU_EXCEEDED), "pods", Cell.ERROR, answers.Layer.QUOTA),  # another resource: not this quota
        (failure(403, AUTHORIZER), "", Cell.ERROR, answers.Layer.AUTHORIZER),  # another layer says nothing of quota
        (
            failure(403, "maximum cpu usage per Container is 1, but limit is 3"),
            "",
            Cell.ERROR,
            answers.Layer.LIMIT_RANGER,
        ),
        (ApiFailure(500, "Internal Server Error"), "", Cell.ERROR, answers.Layer.NONE),
        (ApiFailure(0, "connection refused"), "pods", Cell.ERROR, answers.Layer.NONE),
    ],
)
def test_only_a_quota_refusal_for_the_resource_asked_is_denied(
    refusal: ApiFailure, resource: str, cell: Cell, layer: answers.Layer
) -> None:
    got = over_quota(refusal, resource)
    assert (got.cell, got.layer) == (cell, layer.value)
    assert got.evidence == (refusal.message if cell is Cell.DENIED else str(refusal))


def test_over_quota_evidence_is_cut_to_the_evidence_limit() -> None:
    long = PODS_EXCEEDED + ", " + "x" * 2 * EVIDENCE_MAX
    assert over_quota(failure(403, long)).evidence == long[:EVIDENCE_MAX]


def plan() -> Plan:
    return Plan("small", quota=Quota(hard={"pods": "2"}))


def fill(monkeypatch: pytest.MonkeyPatch, refusal: ApiFailure) -> limits.LimitsObservation:
    """_fill_pod_quota with the quota's 2 pods admitted and the third answered `refusal`."""
    quota = SimpleNamespace(status=SimpleNamespace(used={"pods": "0"}))
    monkeypatch.setattr(kube, "call", lambda *_a, **_k: SimpleNamespace(items=[quota]))
    posted: list[Any] = []

    def request(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        posted.append(1)
        if len(posted) > 2:
            raise refusal
        return {}

    monkeypatch.setattr(kube, "request", request)
    seen = limits.LimitsObservation("blue", "small")
    limits._fill_pod_quota(object(), Tenant("blue", "small"), plan(), {}, seen, 1.0)
    return seen


def test_a_pod_past_the_pod_quota_refused_by_the_quota_is_decided_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fill(monkeypatch, failure(403, PODS_EXCEEDED))
    assert seen.decided_by == answers.Layer.QUOTA.value
    assert seen.facts[-1] == f"pod 3 is rejected: {PODS_EXCEEDED}"
    assert not seen.errors
    assert not seen.problems


@pytest.mark.parametrize("refusal", [failure(403, AUTHORIZER), ApiFailure(0, "connection refused")])
def test_a_pod_past_the_pod_quota_refused_otherwise_is_an_error(
    monkeypatch: pytest.MonkeyPatch, refusal: ApiFailure
) -> None:
    seen = fill(monkeypatch, refusal)
    assert seen.decided_by == answers.Layer.NONE.value
    assert seen.errors == [f"pod 3 got no quota answer: {refusal.status}: {refusal.message}"]


def answer(status: int, message: str) -> answers.Answer:
    return answers.classify(status, message)


@pytest.mark.parametrize(
    ("said", "in_force"),
    [
        (
            answer(
                403,
                f'networkpolicies.networking.k8s.io "{PROTECTION}-probe" is forbidden: ValidatingAdmissionPolicy'
                f" '{PROTECTION}-run-1' with binding '{PROTECTION}-run-1' denied request: the provider's onboarding"
                " made this object",
            ),
            True,
        ),
        (answer(200, "accepted (the policy is not in force yet)"), False),
        # another policy's refusal, the authorizer's or no answer: the protection is not shown in force
        (answer(403, "ValidatingAdmissionPolicy 'someone-else' with binding 'b' denied request: no"), False),
        (answer(403, f'{PROTECTION}-probe: User "blue-developer" cannot create resource "networkpolicies"'), False),
        (answer(0, "connection refused"), False),
    ],
)
def test_the_onboarding_protection_is_in_force_only_when_its_policy_refuses(
    said: answers.Answer, in_force: bool
) -> None:
    assert refused_by_protection(said) is in_force
