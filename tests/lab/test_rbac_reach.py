"""Issue 19's failing inputs, each played on one `pks` lab cluster as a provider mistake the test adds:
the check that must see it turns red with the cell that shows it, and passes without it.

The tenancy is onboarded by the kubeconfig backend (tenants blue and green, identities the admin
impersonates). Each test first judges the clean cluster (pass), then adds the mistake, waits until the
API server's SubjectAccessReview grants it, judges again (the named cells fail) and removes it. The
matrices are the checks' own (checks.rbac), narrowed to the resources each input touches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checks.matrix import Cell
from checks.network.probe import deploy_probe_pods
from checks.rbac.discovery import discover, discover_subresources
from checks.rbac.matrix import (
    AccessRun,
    ProviderScope,
    namespaces_of_no_tenant,
    own_namespace_controls,
    provider_questions,
    subresource_questions,
)
from checks.rbac.reach import judge, observe, observe_paths, observe_service_accounts, observe_streams
from checks.rbac.reviews import review
from checks.verdicts import require
from harness.backends import backend_for
from harness.settings import Settings, Timeouts, build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from provisioning.model.onboarding import collection_path, object_path
from provisioning.model.rbac import AUTHENTICATED, Request
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy, Provisioner
from tests.lab.conftest import existing_cluster_targets
from tests.lab.inventory import suite_run_id

pytestmark = pytest.mark.lab

RUN_ID = suite_run_id("rbac-reach")
RBAC = "rbac.authorization.k8s.io"
# The resources the inputs touch (the checks ask every one discovery lists; the test narrows for time).
RESOURCES = {("", "secrets"), ("", "pods"), ("", "configmaps"), (RBAC, "rolebindings")}


@dataclass(frozen=True)
class Reach:
    tenancy: ProvisionedTenancy
    cluster: ProvisionedCluster
    settings: Settings
    admin: Any


@pytest.fixture(scope="module")
def reach(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reach]:
    name = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}rbac-reach"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    lab = cluster.up(lab_paths, name, "pks", 1, Timeouts().lab_ready, run_id=RUN_ID)
    try:
        kubeconfig = Path(lab.layout.kubeconfig(cluster.ADMIN))
        targets = existing_cluster_targets(tmp_path_factory.mktemp("reach"), kubeconfig, ("blue", "green"))
        settings = build_settings(targets_path=targets, environment={}, run_id=RUN_ID)
        provisioner = Provisioner(backend_for(settings, "existing"), settings.run_id)
        tenancy = provisioner.provision(settings.targets.model, "existing")
        admin = kube.from_kubeconfig(kubeconfig, pool_size=16)
        try:
            yield Reach(tenancy, tenancy.clusters[0], settings, admin)
        finally:
            admin.close()
            provisioner.release()
    finally:
        cluster.down(lab_paths, name)


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}


def _binding(name: str, role: str, subjects: list[dict[str, str]], namespace: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def _group(name: str) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": "Group", "name": name}


@contextmanager
def mistake(admin: Any, manifests: list[dict[str, Any]], granted: Request) -> Iterator[None]:
    """The provider's mistake in force (its SubjectAccessReview of `granted` allowed), removed after."""
    created = []
    try:
        for manifest in manifests:
            kube.request(admin, "POST", collection_path(manifest), body=manifest)
            created.append(object_path(manifest))
        wait_until(
            lambda: review(admin, granted),
            lambda answer: answer[0] is Cell.ALLOWED,
            timeout=30,
            what=f"the mistake to grant {granted}",
        )
        yield
    finally:
        for path in reversed(created):
            kube.delete_if_present(admin, path)


def _provider_run(reach: Reach) -> AccessRun:
    resources = [r for r in discover(reach.admin) if (r.group, r.name) in RESOURCES]
    namespaces = namespaces_of_no_tenant(reach.admin, reach.tenancy, ())
    questions = own_namespace_controls(reach.cluster, resources) + provider_questions(
        reach.tenancy, reach.cluster, resources, namespaces
    )
    return observe(reach.tenancy, reach.cluster, questions)


def _failure(run: AccessRun, scopes: tuple[str, ...]) -> str:
    comparison = run.compare(lambda q: q.scope in scopes)
    with pytest.raises(AssertionError) as failed:
        require(comparison, comparison.render())
    return str(failed.value)


def test_secrets_across_namespaces_and_kube_system_turn_check_rbac_007_red(reach: Reach) -> None:
    clean = _provider_run(reach)
    comparison = clean.compare(lambda q: q.scope in ("provider", "control"))
    require(comparison, comparison.render())  # check_rbac_007 passes on the clean cluster
    manifests = [
        _cluster_role("mistake-secrets", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}]),
        _binding("mistake-secrets", "mistake-secrets", [_group("blue:viewers")]),
        _binding("mistake-kube-system", "edit", [_group("green:admins")], "kube-system"),
    ]
    granted = Request("blue-viewer", ("blue:viewers", AUTHENTICATED), "list", "secrets")
    with mistake(reach.admin, manifests, granted):
        failure = _failure(_provider_run(reach), ("provider", "control"))
    assert "expected DENIED, observed ALLOWED: blue-viewer -> (all namespaces): list secrets" in failure
    assert "expected DENIED, observed ALLOWED: blue-viewer -> kube-system: list secrets" in failure
    assert "expected DENIED, observed ALLOWED: green-admin -> kube-system: create pods" in failure


def test_get_on_pods_exec_in_another_tenant_turns_checks_rbac_008_and_009_red(reach: Reach) -> None:
    """The issue's first input: a ClusterRole of `get` (not `create`) on pods/exec bound in green's
    namespace to blue's admins opens a WebSocket exec (kubectl 1.30+) into green's pods on v1.34."""
    pods = deploy_probe_pods(reach.tenancy, reach.settings.timeouts.pod_ready)
    home = {p.namespace: p.name for p in pods if p.app == "a"}
    subresources = [s for s in discover_subresources(reach.admin) if (s.parent.group, s.parent.name) == ("", "pods")]
    tenant_namespaces = [t.namespace for t in reach.cluster.tenants]

    def runs() -> tuple[AccessRun, AccessRun]:
        matrix = subresource_questions(reach.tenancy, reach.cluster, subresources, [])
        matrix = [q for q in matrix if q.probe.attributes["namespace"] in tenant_namespaces]
        return observe(reach.tenancy, reach.cluster, matrix), observe_streams(reach.tenancy, reach.cluster, home)

    matrix, streams = runs()
    judge([("subresources", matrix), ("streams", streams)])  # both pass on the clean cluster
    assert streams.observation.request["blue-admin", "tenant-blue: exec over websocket (get)"] is Cell.ALLOWED
    evidence = streams.observation.request.evidence["blue-admin", "tenant-blue: exec over websocket (get)"]
    assert evidence.startswith("101"), f"the positive control opened a real stream: {evidence}"
    manifests = [
        _cluster_role("mistake-exec-get", [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}]),
        _binding("mistake-exec-get", "mistake-exec-get", [_group("blue:admins")], "tenant-green"),
    ]
    granted = Request("blue-admin", ("blue:admins", AUTHENTICATED), "get", "pods", "tenant-green", "", "exec")
    with mistake(reach.admin, manifests, granted):
        matrix, streams = runs()
    subresource_failure = _failure(matrix, ("subresource",))
    assert "expected DENIED, observed ALLOWED: blue-admin -> tenant-green: get pods/exec" in subresource_failure
    stream_failure = _failure(streams, ("stream",))
    assert "expected DENIED, observed ALLOWED: blue-admin -> tenant-green: exec over websocket (get)" in stream_failure
    assert "(101: upgraded to websocket (the stream opened))" in stream_failure, "a real shell in green's pod"
    assert stream_failure.startswith("FAIL: 1 mismatched"), "create is still denied: SPDY stays closed"
    assert streams.observation.request["blue-admin", "tenant-green: exec over spdy (create)"] is Cell.DENIED


def test_a_binding_to_every_service_account_turns_check_rbac_010_red(reach: Reach) -> None:
    def run() -> AccessRun:
        return observe_service_accounts(
            reach.tenancy,
            reach.cluster,
            ProviderScope(),
            RUN_ID,
            reach.settings.timeouts.enforce,
            lambda r: (r.group, r.name) in RESOURCES or not r.namespaced,
        )

    judge([("service accounts", run())])  # passes on the clean cluster
    manifests = [_binding("mistake-every-workload-views", "view", [_group("system:serviceaccounts")])]
    user = "system:serviceaccount:tenant-blue:default"
    granted = Request(user, ("system:serviceaccounts", AUTHENTICATED), "list", "pods", "tenant-green")
    with mistake(reach.admin, manifests, granted):
        dirty = run()
    with pytest.raises(AssertionError) as failed:
        judge([("service accounts", dirty)])
    assert f"expected DENIED, observed ALLOWED: {user} -> tenant-green: list pods" in str(failed.value)
    assert f"expected DENIED, observed ALLOWED: {user} -> kube-system: list pods" in str(failed.value)


def test_metrics_for_tenants_turn_check_rbac_011_red(reach: Reach) -> None:
    judge(list(zip(("paths", "anonymous"), observe_paths(reach.tenancy, reach.cluster, ProviderScope()), strict=True)))
    manifests = [
        _cluster_role("mistake-metrics", [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
        _binding("mistake-metrics", "mistake-metrics", [_group("green:viewers")]),
    ]
    granted = Request("green-viewer", ("green:viewers", AUTHENTICATED), "get", path="/metrics")
    with mistake(reach.admin, manifests, granted):
        dirty = observe_paths(reach.tenancy, reach.cluster, ProviderScope())
    with pytest.raises(AssertionError) as failed:
        judge(list(zip(("paths", "anonymous"), dirty, strict=True)))
    assert "expected DENIED, observed ALLOWED: green-viewer -> get /metrics" in str(failed.value)
    anonymous = dirty[1].observation.request
    assert anonymous["system:anonymous", "get /version"] is Cell.ALLOWED, "Kubernetes' public-info-viewer"
    assert anonymous["system:anonymous", "(cluster): list namespaces"] is Cell.DENIED
