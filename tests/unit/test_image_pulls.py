"""provisioning.model.image_pulls: which products force pulls, how a pod's start is read, and the cells
of the private-image check."""

from __future__ import annotations

import pytest

from provisioning.lab.profiles import CFCR, PKS, PKS_ALWAYS_PULL
from provisioning.model import image_pulls
from provisioning.model.image_pulls import Observation, Start

REFUSED = (
    'pod tenant-b/borrowed cannot start: c: ErrImagePull (failed to pull and unpack image "10.0.0.1:5043/a/p@sha256:'
    'ab": failed to resolve reference: pull access denied, repository does not exist or may require authorization: '
    "server message: insufficient_scope: authorization failed: 401 Unauthorized)"
)


def test_only_a_product_with_always_pull_images_forces_pulls() -> None:
    assert image_pulls.forces_pulls(PKS_ALWAYS_PULL.admission_plugins)
    assert not image_pulls.forces_pulls(PKS.admission_plugins)
    assert not image_pulls.forces_pulls(CFCR.admission_plugins)


def test_the_other_tenant_is_expected_refused_only_where_pulls_are_forced() -> None:
    assert image_pulls.expected_other_tenant(True) is Start.PULL_REFUSED
    assert image_pulls.expected_other_tenant(False) is Start.RAN


@pytest.mark.parametrize(
    ("failure", "start"),
    [
        ("", Start.RAN),
        (REFUSED, Start.PULL_REFUSED),
        (
            "pod b/p cannot start: c: ImagePullBackOff (Back-off pulling image: authentication required)",
            Start.PULL_REFUSED,
        ),
        ("pod b/p cannot start: c: ErrImagePull (dial tcp 10.0.0.1:5043: connect: connection refused)", Start.FAILED),
        ("pod b/p cannot start: c: ErrImageNeverPull (not present with pull policy of Never)", Start.FAILED),
        ("pod b/p ended (phase=Failed) unauthorized", Start.FAILED),
    ],
)
def test_a_start_is_a_refused_pull_only_when_a_pull_failure_names_refused_credentials(
    failure: str, start: Start
) -> None:
    assert image_pulls.start_of(failure) is start


def test_the_cells_hold_when_the_owner_runs_and_the_other_tenant_is_refused() -> None:
    owner = Observation(Start.RAN, "a ran")
    cells = image_pulls.requirements(owner, {"Never": Observation(Start.PULL_REFUSED, "b refused")})
    assert cells == {image_pulls.OWNER_RUNS: (True, "a ran"), image_pulls.other_refused("Never"): (True, "b refused")}


def test_the_other_tenant_running_the_image_contradicts_and_a_failure_otherwise_is_unobserved() -> None:
    owner = Observation(Start.FAILED, "a: connection refused")
    others = {"IfNotPresent": Observation(Start.RAN, "b ran"), "Never": Observation(Start.FAILED, "b: evicted")}
    cells = image_pulls.requirements(owner, others)
    assert cells[image_pulls.OWNER_RUNS] == (None, "a: connection refused")
    assert cells[image_pulls.other_refused("IfNotPresent")] == (False, "b ran")
    assert cells[image_pulls.other_refused("Never")] == (None, "b: evicted")


def test_an_owner_refused_its_own_pull_leaves_the_positive_control_unobserved() -> None:
    """A pull error of the owner's pod is the registry's or the suite's problem: ERROR, never a verdict."""
    cells = image_pulls.requirements(Observation(Start.PULL_REFUSED, "a refused"), {})
    assert cells == {image_pulls.OWNER_RUNS: (None, "a refused")}


def test_a_pod_refused_at_admission_by_a_policy_holds_the_requirement() -> None:
    owner = Observation(Start.RAN, "a ran")
    cells = image_pulls.requirements(owner, {"IfNotPresent": Observation(Start.ADMISSION_REFUSED, "b refused")})
    assert cells[image_pulls.other_refused("IfNotPresent")] == (True, "b refused")


@pytest.mark.parametrize(
    ("status", "message", "start"),
    [
        (
            403,
            "pods \"borrowed\" is forbidden: ValidatingAdmissionPolicy 'always-pull' with binding 'always-pull' "
            "denied request: imagePullPolicy must be Always",
            Start.ADMISSION_REFUSED,
        ),
        (
            403,
            'admission webhook "validate.kyverno.svc" denied the request: require-image-pull-policy-always',
            Start.ADMISSION_REFUSED,
        ),
        (
            403,
            'pods "borrowed" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
            Start.FAILED,
        ),
        (403, 'pods "borrowed" is forbidden: exceeded quota: compute, requested: pods=1', Start.FAILED),
        (
            403,
            'pods is forbidden: User "tenant-b-admin" cannot create resource "pods" in API group ""',
            Start.FAILED,
        ),
        (500, "etcdserver: request timed out", Start.FAILED),
    ],
)
def test_only_a_policy_refusing_the_pod_at_admission_is_a_refusal(status: int, message: str, start: Start) -> None:
    assert image_pulls.start_of_refusal(status, message) is start
