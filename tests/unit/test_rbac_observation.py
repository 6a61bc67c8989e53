"""How API answers become access cells: an error is never a denial (no cluster)."""

from __future__ import annotations

import pytest

from checks.matrix import Cell
from checks.rbac.access import AccessObserver, Said, classify_failure, resource_probe, spread
from checks.rbac.discovery import ApiResource
from provisioning.kube.client import ApiFailure

RBAC_DENIAL = '{"message": "pods is forbidden: User \\"blue-viewer\\" cannot create resource \\"pods\\""}'
ESCALATION = (
    '{"message": "rolebindings \\"x\\" is forbidden: user \\"a\\" '
    'is attempting to grant RBAC permissions not currently held"}'
)
ADMISSION = '{"message": "pods \\"x\\" is forbidden: violates PodSecurity \\"restricted:v1.34\\""}'
PROVIDER_FENCE = (
    '{"message": "rolebindings \\"tenant-admins\\" is forbidden: ValidatingAdmissionPolicy '
    "'caas-protect-onboarding-run-1' with binding 'caas-protect-onboarding-run-1' denied request: "
    "the provider's onboarding made this object\"}"
)
OTHER_POLICY = '{"message": "x is forbidden: ValidatingAdmissionPolicy \'someone-else\' denied request"}'


@pytest.mark.parametrize(
    ("status", "body", "cell"),
    [
        (403, RBAC_DENIAL, Cell.DENIED),
        (403, ESCALATION, Cell.DENIED),
        (403, ADMISSION, Cell.ALLOWED),  # authorized, then refused by admission
        (403, PROVIDER_FENCE, Cell.DENIED),  # out of the tenant's reach: the provider's fence refused it
        (403, OTHER_POLICY, Cell.ALLOWED),  # another admission policy says nothing about the provider's fence
        (404, '{"message": "not found"}', Cell.ALLOWED),  # authorization runs before the lookup
        (422, '{"message": "invalid"}', Cell.ALLOWED),
        (401, '{"message": "Unauthorized"}', Cell.ERROR),
        (429, "", Cell.ERROR),
        (500, "", Cell.ERROR),
        (503, "", Cell.ERROR),
        (0, "", Cell.ERROR),  # transport error or timeout
    ],
)
def test_classification(status: int, body: str, cell: Cell) -> None:
    assert classify_failure(ApiFailure(status, "reason", body))[0] is cell


def test_writes_are_dry_run_and_collections_never_match() -> None:
    pods = ApiResource("", "v1", "pods", "Pod", True, ("create", "delete", "deletecollection"))
    for verb in pods.verbs:
        probe = resource_probe("u", "u", pods, verb, "tenant-blue")
        assert probe.query.get("dryRun") == "All"
        assert probe.path.startswith("/api/v1/namespaces/tenant-blue/pods")
    assert "labelSelector" in resource_probe("u", "u", pods, "deletecollection", "tenant-blue").query


def test_a_refusal_of_a_request_without_credentials_is_the_denial_asked_for() -> None:
    unauthorized = ApiFailure(401, "Unauthorized", '{"message": "Unauthorized"}')
    assert classify_failure(unauthorized, anonymous=True)[0] is Cell.DENIED
    assert classify_failure(unauthorized)[0] is Cell.ERROR, "an identity's credentials refused: nothing decided"
    assert classify_failure(ApiFailure(503, "Service Unavailable"), anonymous=True)[0] is Cell.ERROR


def test_the_providers_fence_and_a_refused_review_are_said_beside_the_cell() -> None:
    fenced = classify_failure(ApiFailure(403, "Forbidden", PROVIDER_FENCE))
    assert isinstance(fenced, Said)
    assert fenced.fenced
    assert not fenced.refused
    assert fenced == (Cell.DENIED, fenced[1]), "a Said compares as its (cell, evidence)"
    assert not classify_failure(ApiFailure(403, "Forbidden", OTHER_POLICY)).fenced


def test_a_way_whose_every_review_was_refused_is_unavailable_and_a_fenced_cell_no_disagreement() -> None:
    probes = [
        resource_probe("blue-admin", "blue-admin", ApiResource("", "v1", "pods", "Pod", True, ("get",)), "get", ns)
        for ns in ("tenant-blue", "tenant-green")
    ]
    refused = Said(Cell.ERROR, "SelfSubjectAccessReview itself failed: 403: nope", refused=True)
    said = {
        "request": [Said(Cell.DENIED, "fenced", fenced=True), (Cell.DENIED, "403")],
        "selfsubjectaccessreview": [refused, refused],
        "subjectaccessreview": [(Cell.ALLOWED, "SubjectAccessReview: allowed"), (Cell.DENIED, "no")],
    }
    observer = AccessObserver.__new__(AccessObserver)
    rows, columns = [probes[0].row], [p.column for p in probes]
    observation = observer._observation(probes, list(said), said, rows, columns, 0)
    assert observation.unavailable == {"selfsubjectaccessreview": refused[1]}
    assert observation.disagreements == (), "the fenced cell is no disagreement; the other cells agree"
    said["selfsubjectaccessreview"] = [refused, (Cell.ERROR, "SelfSubjectAccessReview itself failed: 403: nope")]
    assert observer._observation(probes, list(said), said, rows, columns, 0).unavailable == {}, (
        "only a refusal the classifier read makes a way unavailable, never its evidence's words"
    )


def test_spread_puts_different_identities_side_by_side_and_keeps_each_identitys_order() -> None:
    tasks = [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1), ("c", 2)]
    spread_out = spread(tasks, lambda task: task[0])
    assert spread_out == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("c", 2), ("a", 3)]
    assert sorted(spread_out) == sorted(tasks)
