"""An access review's answer (authorization.k8s.io/v1 SubjectAccessReview, SelfSubjectAccessReview,
SubjectRulesReview's kin) read from its parsed body (pure): whether it is an answer at all, and whether the
authorizers could decide it.

The API server always writes `status.allowed` (not omitempty in authorization.k8s.io/v1
SubjectAccessReviewStatus), so a body without it is no answer and is never read as a denial. An answer
whose `status.evaluationError` is set says an authorizer failed to evaluate the request (e.g. a webhook
authorizer it could not reach): its `allowed: false` and its reason are not a decision
(k8s.io/api authorization/v1 types.go: "EvaluationError is an indication that some error occurred during
the authorization check").
"""

from __future__ import annotations

import json
from typing import Any

EVIDENCE_MAX = 300  # characters of a body named in `not_an_answer`'s message


def not_an_answer(answer: object) -> str | None:
    """Why `answer` (a created access review's parsed body) is no review answer, naming what came back
    (cut to EVIDENCE_MAX characters), or None when it is one: a JSON object whose `status` is an object
    with `allowed` a boolean."""
    if not isinstance(answer, dict):
        return f"no review answer: the body is not a JSON object: {json.dumps(answer)[:EVIDENCE_MAX]}"
    status = answer.get("status")
    if not isinstance(status, dict):
        return f"no review answer: no status object: {json.dumps(answer)[:EVIDENCE_MAX]}"
    if not isinstance(status.get("allowed"), bool):
        return f"no review answer: status.allowed is missing or not a boolean: {json.dumps(answer)[:EVIDENCE_MAX]}"
    return None  # an answer: never serialized again (one per cell of the matrix)


def evaluation_error(status: dict[str, Any]) -> str:
    """The review status's `evaluationError` ("" when none): when set, nothing was decided."""
    return str(status.get("evaluationError") or "")
