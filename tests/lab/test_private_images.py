"""Private images on shared nodes, on the lab (issue 21; kubectl-mtb MTB-PL1-CC-DI-1): tenant A pushes a
private image into its own repository of the lab registry and runs a pod from it with its pull secret on
node N; tenant B, without any pull secret, then starts pods naming the same image on node N with pull
policy IfNotPresent and Never. On the lab's pks (no forced pulls) B runs A's image from the node's cache
and the check fails; on pks-always-pull (AlwaysPullImages) B's pulls are refused (401 Unauthorized) and the
check passes. A's pod running is the positive control.

The lab registry (Debian's docker-registry, distribution 2.8) authenticates with htpasswd but has no
per-repository authorization: any login it accepts may read every repository. A's repository is private
in the sense the product can enforce: only A's namespace holds a pull secret for it, and B's pods name none
(an anonymous pull is refused). "B cannot pull A's repository with B's own login" needs a token-auth
registry and is not tested here.

One bare one-node cluster per profile, one after the other (nightly: two cluster starts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.verdicts import holds, require, requirement_comparison, requirement_row
from provisioning.images import refs, skopeo
from provisioning.images.pull_secret import secret_manifest
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed, create_pod, wait_running
from provisioning.lab import cluster, registry
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.profiles import PROFILES
from provisioning.model import image_pulls
from provisioning.model.image_pulls import Observation, Start
from provisioning.settings import Timeouts
from reports.matrix import Cell

pytestmark = [pytest.mark.lab, pytest.mark.nightly]

OWNER, OTHER = "tenant-a", "tenant-b"
SECRET = "tenant-a-registry"
ROW = f"{OWNER}'s private image"  # the subject of the requirement table
OTHER_POLICIES = ("IfNotPresent", "Never")
LAB_UP = 600.0  # seconds for a bare cluster to be ready on a loaded 2-core lab host
START_TIMEOUT = 120.0  # seconds for a pod of a few-MB image from the lab registry to run or fail


@pytest.fixture(scope="module")
def served(lab_paths: LabPaths) -> registry.LabRegistry:
    return registry.up(lab_paths.home)


@pytest.fixture(scope="module")
def private_image(served: registry.LabRegistry, lab_paths: LabPaths) -> str:
    """Tenant A's private image (the suite's busybox) in A's own repository, by digest."""
    prefix = os.environ.get("CAAS_CLUSTER_PREFIX", "")
    repository = f"{registry.HOST}/{prefix}{OWNER}/private"
    access = skopeo.Access(login=served.login(), ca_file=served.ca_file)
    skopeo.copy(f"oci-archive:{refs.archives(lab_paths.images)['busybox']}", f"docker://{repository}:v1", dest=access)
    return f"{repository}@{refs.digests(lab_paths.images)['busybox']}"


@pytest.fixture(scope="module", params=["pks", "pks-always-pull"])
def shared(request: pytest.FixtureRequest, lab_paths: LabPaths, timeouts: Timeouts) -> Iterator[LabCluster]:
    """A bare one-node cluster of the profile (its node has none of the suite's images): started as pks,
    its API server then switched to the profile's flags."""
    name = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}priv-img"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    started = time.monotonic()
    lab = cluster.up(lab_paths, name, "pks", 1, max(timeouts.lab_ready, LAB_UP), bare=True)
    try:
        if request.param != "pks":  # its readiness pod could not start under AlwaysPullImages
            lab.switch_api_server(PROFILES[request.param], timeouts.lab_ready)
        print(f"{request.param}: bare one-node cluster up in {time.monotonic() - started:.1f}s")
        yield lab
    finally:
        cluster.down(lab_paths, name)


def _pod(name: str, image: str, node: str, policy: str, secret: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,  # the shared node: A's image is in its cache when B's pods start
            "terminationGracePeriodSeconds": 0,
            **({"imagePullSecrets": [{"name": secret}]} if secret else {}),
            "containers": [{"name": "c", "image": image, "imagePullPolicy": policy, "command": ["sleep", "3600"]}],
        },
    }


def _start(api: Any, namespace: str, manifest: dict[str, Any]) -> Observation:
    name, asked = manifest["metadata"]["name"], manifest["spec"]["containers"][0]["imagePullPolicy"]
    where = f"pod {namespace}/{name} on {manifest['spec']['nodeName']} ({asked})"
    created = create_pod(api, namespace, manifest)
    admitted = created.spec.containers[0].image_pull_policy
    policy = f"admitted with {admitted}" if admitted != asked else f"kept {asked}"
    try:
        wait_running(api, namespace, name, timeout=START_TIMEOUT)
    except PodFailed as failed:
        return Observation(image_pulls.start_of(str(failed)), f"{where}, {policy}: {failed}")
    return Observation(Start.RAN, f"{where}, {policy}: Running")


def test_another_tenant_runs_a_cached_private_image_only_without_forced_pulls(
    shared: LabCluster, served: registry.LabRegistry, private_image: str
) -> None:
    profile = PROFILES[shared.state.profile]
    forced = image_pulls.forces_pulls(profile.admission_plugins)
    node = shared.layout.worker_nodes[0].name
    api = kube.from_kubeconfig(shared.layout.kubeconfig(cluster.ADMIN))
    try:
        for namespace in (OWNER, OTHER):
            kube.request(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
        secret = secret_manifest(OWNER, served.login(), {})
        secret["metadata"]["name"] = SECRET
        kube.request(api, "POST", f"/api/v1/namespaces/{OWNER}/secrets", body=secret)
        started = time.monotonic()
        owner = _start(api, OWNER, _pod("private", private_image, node, "IfNotPresent", SECRET))
        others = {
            policy: _start(api, OTHER, _pod(f"borrowed-{policy.lower()}", private_image, node, policy))
            for policy in OTHER_POLICIES
        }
        print(f"{profile.name}: A's pod and B's {len(others)} pods observed in {time.monotonic() - started:.1f}s")
    finally:
        for namespace in (OWNER, OTHER):
            kube.delete_if_present(api, f"/api/v1/namespaces/{namespace}")
        api.close()

    assert owner.start is Start.RAN, owner.evidence  # the positive control
    expected = image_pulls.expected_other_tenant(forced)
    assert {p: o.start for p, o in others.items()} == dict.fromkeys(OTHER_POLICIES, expected), others
    cells = image_pulls.requirements(owner, others)
    observed = requirement_row(
        ROW, {c: (Cell.ERROR, e) if ok is None else holds(ok, e) for c, (ok, e) in cells.items()}
    )
    comparison = requirement_comparison(observed, controls=[(ROW, image_pulls.OWNER_RUNS)])
    if forced:
        require(comparison)  # the check passes
        print(f"{profile.name}: the check passes:", owner.evidence, *(o.evidence for o in others.values()), sep="\n")
    else:
        with pytest.raises(AssertionError) as failed:
            require(comparison)  # the check fails: B used A's private image
        assert all(observed[ROW, image_pulls.other_refused(p)] is Cell.DENIED for p in OTHER_POLICIES)
        print(f"{profile.name}: the check fails as expected:\n{failed.value}")


def test_the_private_repository_refuses_a_pull_without_a_login(
    served: registry.LabRegistry, private_image: str
) -> None:
    """What B's pods meet once a pull is forced: the registry itself refuses an anonymous read of A's image
    (and still serves it to the login of A's pull secret)."""
    anonymous = skopeo.inspect_failure(f"docker://{private_image}", skopeo.Access(ca_file=served.ca_file))
    assert image_pulls.start_of(f"ErrImagePull ({anonymous})") is Start.PULL_REFUSED, anonymous
    assert skopeo.inspect_failure(f"docker://{private_image}", skopeo.Access(served.login(), served.ca_file)) == ""
