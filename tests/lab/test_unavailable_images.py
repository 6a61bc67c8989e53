"""Issue 25's run on a node without the suite's images: a pks lab cluster treated as an existing cluster,
two tenants on a baseline plan without quota, the suite's images taken off the node's containerd. Every
pod-based check is ERROR naming the pull failure and none FAILs; pods that can never start are known
within seconds (the run took 10 minutes when every wait for them ran out its timeout).

Nightly: one check per kind of pod (probe pods, a compliant pod, a compliant Deployment, volume pods)
within 3 minutes, and every check within 3 minutes too (issue 25's Done-when). Measured on the 2-core lab
VM: 200-318 s before the RBAC area inferred its self reviews and wrote wide matrices linearly (load 1-17;
521 s at load 14-25), 168-191 s after (load 5-12), of which the RBAC area about 70-95 s and the
pod-based checks about 65 s. CI covers the waits without a cluster (tests/unit/test_pod_start_failures.py)
and the registry's pull failures with tests/lab/test_lab_registry.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.lab import cluster
from provisioning.lab.cluster import LabCluster
from tests.lab.existing_runs import PRODUCT_FAILS, Run, caas_run, pks_cluster, remove_suite_images, targets
from tests.lab.inventory import cluster_prefix

pytestmark = pytest.mark.lab

ISSUE_PLAN = "{name: default, pod_security: baseline}"
# the checks that start pods: probe pods (network, rbac_009), a compliant pod or Deployment (privileged),
# a pod writing to a volume (storage)
POD_BASED = {
    "check_network_001",
    "check_network_003",
    "check_network_004",
    "check_network_005",
    "check_network_006",
    "check_network_007",
    "check_privileged_001",
    "check_privileged_003",
    "check_storage_002",
    "check_storage_003",
    "check_storage_004",
    "check_storage_006",
    "check_rbac_009",
}
SLICE = ("check_network_001", "check_privileged_001", "check_privileged_003", "check_storage_002", "check_storage_003")
PULL_FAILURE = re.compile(r"cannot start: container \w+: (ErrImageNeverPull|ErrImagePull|ImagePullBackOff) \(")
SLICE_BUDGET = 180.0  # seconds for the whole CI run: provisioning, the checks, the reports and the release
RUN_BUDGET = 180.0  # seconds for the whole run of every check (issue 25: "the whole run ends within 3 minutes")
POD_WAITS_BUDGET = 90.0  # seconds the pod-based checks of the full run take together (every check ERROR)


@pytest.fixture(scope="module")
def lab() -> Iterator[LabCluster]:
    with pks_cluster("noimages") as started:
        remove_suite_images(started)
        yield started


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(SLICE, id="one-check-per-kind-of-pod", marks=pytest.mark.nightly),  # ~2 min; CI: unit tests
        pytest.param((), id="every-check", marks=[pytest.mark.nightly, pytest.mark.timeout(2700)]),
    ],
)
def run(request: pytest.FixtureRequest, lab: LabCluster, tmp_path_factory: pytest.TempPathFactory) -> Run:
    checks: tuple[str, ...] = request.param
    directory = tmp_path_factory.mktemp("noimages")
    kubeconfig = Path(lab.layout.kubeconfig(cluster.ADMIN))
    file = targets(directory, kubeconfig, (ISSUE_PLAN,), {"blue": "default", "green": "default"})
    seen = caas_run(file, directory / "out", f"{cluster_prefix()}noimages-{len(checks)}", timeout=2400, checks=checks)
    slowest = sorted(seen.durations.items(), key=lambda item: -item[1])[:6]
    load = os.getloadavg()[0]
    print(
        f"images unavailable ({len(checks) or 'every'} checks): {seen.seconds:.0f}s at load {load:.1f}, {seen.counts()}"
    )
    print("slowest checks: " + ", ".join(f"{check} {seconds:.0f}s" for check, seconds in slowest))
    return seen


def test_every_pod_based_check_is_error_naming_the_pull_failure(run: Run) -> None:
    for check in sorted(POD_BASED & set(run.statuses)):
        message = run.messages.get(check, "")
        assert run.statuses[check] == "error", f"{check}: {run.statuses[check]}: {message[:800]}"
        assert PULL_FAILURE.search(message), f"{check} does not name the pull failure: {message[:800]}"


def test_no_check_fails_for_images_the_node_lacks(run: Run) -> None:
    failed = {c: run.messages.get(c, "")[:800] for c, s in run.statuses.items() if s == "fail"}
    failed = {c: m for c, m in failed.items() if c not in PRODUCT_FAILS}  # the lab product's own, images or not
    assert not failed, failed


def test_pods_that_cannot_start_are_known_within_seconds(run: Run) -> None:
    if len(run.statuses) == len(SLICE):
        assert run.seconds < SLICE_BUDGET, f"{run.seconds:.0f}s: {run.counts()}"
    else:
        pod_based = {c: round(s) for c, s in run.durations.items() if c in POD_BASED}
        assert sum(pod_based.values()) < POD_WAITS_BUDGET, pod_based


def test_the_whole_run_ends_within_three_minutes(run: Run) -> None:
    """The checks, the provisioning, the reports and the release, for the slice and for every check."""
    slowest = dict(sorted(((c, round(s)) for c, s in run.durations.items()), key=lambda item: -item[1])[:6])
    load = os.getloadavg()[0]
    assert run.seconds < RUN_BUDGET, f"{run.seconds:.0f}s at load {load:.1f}; slowest checks: {slowest}"
