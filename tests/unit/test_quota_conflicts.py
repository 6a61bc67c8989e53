"""A create answered 409 by ResourceQuota admission's optimistic update of the quota's usage is repeated,
as client-go's retry.RetryOnConflict repeats an update (provisioning.kube.pods.retry_quota_conflicts);
every other answer ends at once. Seen on the lab: check_privileged_002's case pods on a dedicated cluster got
"Operation cannot be fulfilled on resourcequotas "tenant-quota": the object has been modified" and were
ERROR."""

from __future__ import annotations

import json

import pytest

from provisioning.kube.client import ApiFailure
from provisioning.kube.pods import QUOTA_CONFLICT, retry_quota_conflicts

CONFLICT = json.dumps({"kind": "Status", "message": f'{QUOTA_CONFLICT} "tenant-quota": the object has been modified'})


def answers(*outcomes: ApiFailure | str) -> list[ApiFailure | str]:
    return list(outcomes)


def creator(outcomes: list[ApiFailure | str]) -> tuple[list[int], object]:
    calls: list[int] = []

    def create() -> str:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, ApiFailure):
            raise outcome
        return outcome

    return calls, create


def test_a_quota_conflict_is_tried_again_until_the_create_is_answered() -> None:
    calls, create = creator(
        answers(ApiFailure(409, "Conflict", CONFLICT), ApiFailure(409, "Conflict", CONFLICT), "pod")
    )
    assert retry_quota_conflicts(create, timeout=10) == "pod"  # type: ignore[arg-type]
    assert len(calls) == 3


@pytest.mark.parametrize(
    "failure",
    [
        ApiFailure(409, "Conflict", json.dumps({"message": 'pods "x" already exists'})),
        ApiFailure(403, "Forbidden", json.dumps({"message": "exceeded quota: tenant-quota"})),
        ApiFailure(0, "connection refused"),
    ],
    ids=["already-exists", "quota-exceeded", "transport"],
)
def test_any_other_answer_ends_at_once(failure: ApiFailure) -> None:
    calls, create = creator(answers(failure, "pod"))
    with pytest.raises(ApiFailure) as raised:
        retry_quota_conflicts(create, timeout=10)  # type: ignore[arg-type]
    assert raised.value is failure
    assert len(calls) == 1


def test_conflicts_past_the_deadline_raise_the_last_conflict() -> None:
    calls, create = creator(answers(*[ApiFailure(409, "Conflict", CONFLICT)] * 50))
    with pytest.raises(ApiFailure) as raised:
        retry_quota_conflicts(create, timeout=0.5)  # type: ignore[arg-type]
    assert raised.value.status == 409
    assert QUOTA_CONFLICT in raised.value.message
    assert len(calls) >= 2
