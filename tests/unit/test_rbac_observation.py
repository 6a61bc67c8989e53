"""How API answers become access cells: an error is never a denial (no cluster)."""

from __future__ import annotations

import pytest

from checks.rbac.access import classify_failure, resource_probe
from checks.rbac.discovery import ApiResource
from provisioning.kube.client import ApiFailure
from reports.matrix import Cell

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
