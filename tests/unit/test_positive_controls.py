"""Every check engine, given a positive control that fails, ends in ERROR with what the control saw:
never a failure of the product, never a pass.

Each test injects one failing control into the engine's own code path (an API answered from memory, the
pod of the control unable to start: ErrImageNeverPull, or its request refused), makes every other
observation what the expectation says, and runs the engine's verdict: ERROR is `Inconclusive` (or, where
the control is a fixture's pod, an infrastructure error, which Allure reports as broken), FAIL is
AssertionError. The engines: network reachability (check_network_*), the RBAC access matrix (check_rbac_001,
002, 005) and credentials (check_rbac_006), the privileges per plan (check_privileged_001/002), workload
controllers (check_privileged_003), tenant fences (check_privileged_004), plan limits (check_privileged_005), volume
separation (check_storage_003), storage quota (check_storage_005), and the pods every other storage and network
check starts from.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checks.matrix import Cell, Matrix, compare
from checks.network import outside
from checks.network import probe as network_probe
from checks.network.probe import Target
from checks.network.reachability import observe_until_converged
from checks.network.reachability import require as require_reachability
from checks.privileged import cases, limits, tampering, workloads
from checks.rbac import credentials
from checks.rbac.access import Observation
from checks.rbac.discovery import ApiResource
from checks.rbac.matrix import AccessRun, cluster_scoped_questions, own_namespace_controls
from checks.storage import quota, separation, volumes
from checks.verdicts import Inconclusive, require
from harness.errors import InfrastructureError
from provisioning.kube import client as kube_client
from provisioning.kube import pods
from provisioning.kube.client import ApiFailure
from provisioning.model.privileges import Case, render_table
from provisioning.model.tenancy import Plan, PodSecurityLevel, Product, Quota, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from tests.support import ROOT
from tests.unit.pod_states import NEVER_PULL, model, pod

FEATURES = ROOT / "features"
PLAN = Plan(
    "rich",
    pod_security=PodSecurityLevel.BASELINE,
    quota=Quota(
        hard={"pods": "10", "requests.cpu": "1", "requests.storage": "1Gi", "persistentvolumeclaims": "3"},
        default_requests={"cpu": "50m"},
        default_limits={"cpu": "250m"},
    ),
)


def verdict(check: Callable[[], object]) -> tuple[str, str]:
    """("pass" | "FAIL" | "ERROR", the message): how the run's report would show the check."""
    try:
        check()
    except AssertionError as exc:
        return "FAIL", str(exc)
    except (Inconclusive, InfrastructureError) as exc:
        return "ERROR", str(exc)
    return "pass", ""


def feature_table(path: str) -> list[list[str]]:
    """The first data table of a feature file, header first."""
    lines = (FEATURES / path).read_text().splitlines()
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.strip().startswith("|")]


class FakeClient:
    def __init__(self, user: str) -> None:
        self.user = user

    def close(self) -> None:
        pass


class Tenancy(ProvisionedTenancy):
    """Two tenants on one shared cluster; every client is a FakeClient naming its user ("" = admin)."""

    def client_for(self, user: str, timeout: float = 0) -> Any:
        return FakeClient(user)

    def client_on(self, cluster: ProvisionedCluster, user: str, timeout: float = 0) -> Any:
        return FakeClient(user)

    def admin_client(self, cluster: ProvisionedCluster, timeout: float = 0) -> Any:
        return FakeClient("")


def make_tenancy(plan: Plan = PLAN) -> Tenancy:
    handle = types.SimpleNamespace(name="shared", authorization=types.SimpleNamespace(value="rbac"))
    cluster = ProvisionedCluster(handle, (Tenant("blue", plan.name), Tenant("green", plan.name)))
    return Tenancy(Product("p", "lab", (plan,)), "run", [cluster])


def items(*objects: Any) -> Any:
    return types.SimpleNamespace(items=list(objects))


class FakeApi:
    """The API calls of the engines, answered from memory: every pod is in `pod_state` (by default it cannot
    start: its image is not on the node), every other request succeeds unless `refuse` says otherwise."""

    def __init__(self, refuse: Callable[[FakeClient, str, str], ApiFailure | None] = lambda _c, _v, _p: None) -> None:
        self.refuse = refuse
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.pod_state: Callable[[str], Any] = lambda name: pod(name, waiting=NEVER_PULL)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeApi:
        monkeypatch.setattr(kube_client, "call", self.call)
        monkeypatch.setattr(pods, "call", self.call)
        monkeypatch.setattr(kube_client, "request", self.request)
        monkeypatch.setattr(kube_client, "create_with_warnings", self.create_with_warnings)
        return self

    def _refused(self, api: FakeClient, verb: str, what: str) -> None:
        failure = self.refuse(api, verb, what)
        if failure is not None:
            raise failure

    def call(self, api: FakeClient, _group: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self._refused(api, method, str(args[-1]) if args else "")
        handler: Callable[..., Any] = getattr(self, method)
        return handler(*args, **kwargs)

    def request(self, api: FakeClient, verb: str, path: str, body: Any = None, **_kwargs: Any) -> Any:
        self._refused(api, verb, path)
        if verb == "POST" and path.endswith("/deployments"):
            self.deployments[body["metadata"]["name"]] = body
        return body or {}

    def create_with_warnings(self, api: FakeClient, path: str, body: Any) -> tuple[Any, list[str]]:
        self.request(api, "POST", path, body)
        return body, ['would violate PodSecurity "baseline:v1.34": host namespaces (hostNetwork=true)']

    # CoreV1Api, AppsV1Api
    def create_namespaced_pod(self, namespace: str, manifest: dict[str, Any], **kwargs: Any) -> Any:
        if not kwargs.get("dry_run"):
            self.pods[(namespace, manifest["metadata"]["name"])] = manifest
        return manifest

    def read_namespaced_pod(self, name: str, namespace: str, **_kwargs: Any) -> Any:
        if (namespace, name) not in self.pods:
            raise ApiFailure(404, "Not Found")
        return self.pod_state(name)

    def delete_namespaced_pod(self, name: str, namespace: str, **_kwargs: Any) -> None:
        self.pods.pop((namespace, name), None)

    def list_namespaced_pod(self, namespace: str, label_selector: str = "", **_kwargs: Any) -> Any:
        app = label_selector.removeprefix("app=")
        return items(*([self.pod_state(f"{app}-7d4f9-x2x9z")] if app in self.deployments else []))

    def list_namespaced_event(self, *_args: Any, **_kwargs: Any) -> Any:
        return items()

    def list_namespaced_replica_set(self, *_args: Any, **_kwargs: Any) -> Any:
        return items()

    def list_namespaced_resource_quota(self, *_args: Any, **_kwargs: Any) -> Any:
        hard = dict(PLAN.quota.hard)
        return items(model({"metadata": {"name": "tenant-quota"}, "spec": {"hard": hard}}, "V1ResourceQuota"))

    def read_namespace(self, name: str, **_kwargs: Any) -> Any:
        return model(
            {"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}, "V1Namespace"
        )

    def create_namespaced_persistent_volume_claim(self, _namespace: str, manifest: dict[str, Any], **_kw: Any) -> Any:
        return manifest

    def read_namespaced_persistent_volume_claim(self, name: str, namespace: str, **_kwargs: Any) -> Any:
        return model(
            {
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"volumeName": "pvc-1", "storageClassName": "lab-hostpath"},
                "status": {"phase": "Bound", "capacity": {"storage": "16Mi"}},
            },
            "V1PersistentVolumeClaim",
        )

    def delete_namespaced_persistent_volume_claim(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def create_persistent_volume(self, manifest: dict[str, Any], **_kwargs: Any) -> Any:
        return manifest

    def patch_persistent_volume(self, *_args: Any, **_kwargs: Any) -> Any:
        return {}


def tenants_refused(api: FakeClient, verb: str, what: str) -> ApiFailure | None:
    """What a fenced cluster refuses a tenant: cluster-scoped writes, namespaces, relabelling, another
    tenant's claims, host paths."""
    if api.user == "":
        return None
    cluster_scoped = verb in ("create_persistent_volume", "patch_persistent_volume")
    namespace_change = (verb == "PATCH" and "/namespaces/" in what) or (verb == "POST" and what == "/api/v1/namespaces")
    if cluster_scoped or namespace_change or verb == "read_namespaced_persistent_volume_claim":
        return ApiFailure(403, f"{api.user} is forbidden")
    if verb == "create_namespaced_pod" and "hostPath" in what:
        return ApiFailure(403, 'pods is forbidden: violates PodSecurity "baseline:v1.34": hostPath volumes')
    return None


# --- the engines ---------------------------------------------------------------------------------------


def test_network_reachability_with_a_failing_control_is_error() -> None:
    rows, columns = ["blue/a", "green/a"], ["blue/b:8080/tcp", "green/b:8080/tcp"]
    expected = Matrix.build(
        rows, columns, {(r, c): Cell.ALLOWED if r[:4] == c[:4] else Cell.DENIED for r in rows for c in columns}
    )
    unreachable = Matrix.build(
        rows, columns, dict.fromkeys(expected.cells, Cell.DENIED), dict.fromkeys(expected.cells, "timeout: 2s")
    )
    seen = observe_until_converged(expected, lambda: (unreachable, 4), attempts=1)
    status, message = verdict(lambda: require_reachability(seen))
    assert status == "ERROR"
    assert "positive control failed (blue/a -> blue/b:8080/tcp is denied: timeout: 2s)" in message


def test_network_checks_error_at_once_when_the_probe_pods_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeApi().install(monkeypatch)
    status, message = verdict(lambda: network_probe.deploy_probe_pods(make_tenancy(), timeout=120))
    assert status == "ERROR"
    assert "pod tenant-blue/probe-a cannot start: container probe: ErrImageNeverPull" in message


def test_from_outside_a_machine_that_connects_everywhere_observes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transparent proxy or gateway that completes every TCP handshake makes every outside probe
    "connect": the negative control (an address routed nowhere) connects too, and check_network_006 is ERROR."""
    targets = [
        Target("pks-w1:30080/tcp", "10.213.1.11", 30080, "tcp"),
        Target("blue/a:8080/tcp", "10.101.1.5", 8080, "tcp"),
    ]

    def run(command: list[str], **_kwargs: Any) -> Any:
        probes = json.loads(command[-1])
        lines = [json.dumps({"id": p["id"], "result": "connected"}) for p in probes]
        return types.SimpleNamespace(returncode=0, stdout="\n".join(lines), stderr="")

    monkeypatch.setattr(outside.subprocess, "run", run)
    observed, _ = outside.observe_from_outside(Path("caas-probe"), targets, 2.0)
    expected = Matrix.build(
        [outside.OUTSIDE],
        [t.column for t in targets],
        {("outside", targets[0].column): Cell.ALLOWED, ("outside", targets[1].column): Cell.DENIED},
    )
    seen = observe_until_converged(expected, lambda: (observed, 2), attempts=1)
    status, message = verdict(lambda: require_reachability(seen))
    assert status == "ERROR"
    assert "an address routed nowhere (RFC 5737)" in message


def _rbac_run(control: Cell) -> AccessRun:
    cluster = make_tenancy().clusters[0]
    resources = [
        ApiResource("", "v1", "pods", "Pod", True, ("list",)),
        ApiResource("", "v1", "nodes", "Node", False, ("list",)),
    ]
    questions = own_namespace_controls(cluster, resources) + cluster_scoped_questions(cluster, resources)
    cells = {(q.probe.row, q.probe.column): control if q.scope == "control" else Cell.DENIED for q in questions}
    rows = list(dict.fromkeys(q.probe.row for q in questions))
    columns = list(dict.fromkeys(q.probe.column for q in questions))
    observed = Matrix.build(rows, columns, cells, dict.fromkeys(cells, "403: forbidden"))
    return AccessRun(tuple(questions), Observation({"request": observed}, (), {}))


@pytest.mark.parametrize("control", [Cell.DENIED, Cell.ERROR])
def test_rbac_access_matrix_with_a_failing_control_is_error(control: Cell) -> None:
    comparison = _rbac_run(control).compare()
    status, message = verdict(lambda: require(comparison, comparison.render()))
    assert status == "ERROR"
    assert f"positive control failed (blue-admin -> tenant-blue: list pods is {control.value}: 403" in message


def test_rbac_credentials_with_a_failing_control_is_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        credentials, "authentication", lambda *_a: (Cell.DENIED, "401: the credentials are not accepted")
    )
    tenancy = make_tenancy()
    expected, observed = credentials.credential_matrices(tenancy, list(tenancy.clusters[0].identities))
    comparison = compare(expected, observed)
    status, message = verdict(lambda: require(comparison, comparison.render()))
    assert status == "ERROR"
    assert "positive control failed" in message


def test_privileges_per_plan_with_a_control_pod_that_cannot_start_is_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeApi().install(monkeypatch)
    tenancy = make_tenancy()
    seen = [cases.observe_plan(tenancy, t, "run", pod_timeout=120) for t in tenancy.tenants]
    status, message = verdict(lambda: cases.require_plan_verdicts(seen, render_table(seen)))
    assert status == "ERROR"
    assert "positive control failed (pod tenant-blue/compliant-" in message
    assert "ErrImageNeverPull" in message
    assert all(r.observed.value == "error" for v in seen for r in v.results)
    assert message.startswith("ERROR p/rich (blue): positive control failed"), "the table says ERROR, not FAIL"
    assert not fake.pods, "the control pod is removed"


@pytest.mark.parametrize("step", ["accepted", "failed create", "no pod"])
@pytest.mark.parametrize("control", ["pod cannot start", "replica set refused", "create refused"])
def test_workload_controllers_with_a_failing_control_are_error(
    monkeypatch: pytest.MonkeyPatch, control: str, step: str
) -> None:
    def refuse(_api: FakeClient, verb: str, path: str) -> ApiFailure | None:
        return (
            ApiFailure(500, "etcdserver: request timed out") if control == "create refused" and verb == "POST" else None
        )

    fake = FakeApi(refuse).install(monkeypatch)
    if control == "replica set refused":
        failure = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "pods is forbidden"}
        replica_set = model(
            {"metadata": {"name": "rs"}, "status": {"replicas": 0, "conditions": [failure]}}, "V1ReplicaSet"
        )
        monkeypatch.setattr(fake, "list_namespaced_replica_set", lambda *_a, **_k: items(replica_set))
        monkeypatch.setattr(fake, "list_namespaced_pod", lambda *_a, **_k: items())
    tenancy = make_tenancy()
    seen = [
        workloads.observe_forbidden_deployment(tenancy, t, Case.HOST_NETWORK, "run", timeout=120)
        for t in tenancy.tenants
    ]
    judge = {
        "accepted": workloads.not_accepted_with_warning,
        "failed create": workloads.no_failed_create,
        "no pod": workloads.some_pod_exists,
    }[step]
    status, message = verdict(lambda: workloads.require_each(seen, judge))
    assert status == "ERROR"
    assert "positive control: failed; ERROR: positive control failed: " in message
    said = {"pod cannot start": "ErrImageNeverPull", "replica set refused": "pods is forbidden"}.get(control, "500")
    assert said in message


def test_tenant_fences_with_a_refused_control_are_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(api: FakeClient, verb: str, path: str) -> ApiFailure | None:
        if api.user and verb == "POST" and path.endswith("/configmaps"):
            return ApiFailure(403, "configmaps is forbidden: blue-admin cannot create configmaps")
        return tenants_refused(api, verb, path)

    FakeApi(refuse).install(monkeypatch)
    tenancy = make_tenancy()
    observed = tampering.observe_tampering(tenancy, tenancy.tenants, "run")
    wanted = {action: Cell(access) for action, access in feature_table("privileged/namespace_tampering.feature")[1:]}
    comparison = tampering.fences_comparison(observed, wanted)
    status, message = verdict(lambda: require(comparison, comparison.render()))
    assert status == "ERROR"
    assert "positive control failed (blue -> create a configmap in its namespace is denied: 403" in message


def test_plan_limits_with_an_unanswered_compliant_pod_are_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_api: FakeClient, verb: str, path: str) -> ApiFailure | None:
        return ApiFailure(503, "the server is currently unable to handle the request") if verb == "POST" else None

    FakeApi(refuse).install(monkeypatch)
    tenancy = make_tenancy()
    seen = [limits.observe_limits(tenancy, t, "run", timeout=5) for t in tenancy.tenants]
    status, message = verdict(lambda: limits.require_limits(seen))
    assert status == "ERROR"
    assert "ERROR: 503" in message


def _workspace(monkeypatch: pytest.MonkeyPatch, refuse: Callable[[FakeClient, str, str], ApiFailure | None]) -> Any:
    fake = FakeApi(refuse).install(monkeypatch)
    not_found = '0/1 nodes are available: persistentvolumeclaim "sto-data-1" not found.'
    fake.pod_state = lambda name: (
        pod(name, unschedulable=not_found) if name.startswith("sto-intruder") else pod(name, waiting=NEVER_PULL)
    )
    return volumes.Workspace(make_tenancy(), timeout=120)


def test_volume_separation_with_an_owner_pod_that_cannot_start_is_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(api: FakeClient, verb: str, what: str) -> ApiFailure | None:
        claim_of_another = verb == "create_namespaced_persistent_volume_claim" and api.user == "green-admin"
        if claim_of_another:
            return ApiFailure(403, "the claim's volume is bound to a different claim")
        return tenants_refused(api, verb, what)

    ws = _workspace(monkeypatch, refuse)
    written = volumes.WrittenVolume("blue", "sto-data-1", "sto-writer-1", "pvc-1", "lab-hostpath", "16Mi", "t0k3n")
    parties = separation.Parties("blue", "green")
    table = [(s, a, access) for s, a, access in feature_table("storage/tenant_separation.feature")[1:]]
    observed = separation.observe_separation(ws, written, parties, [(s, a) for s, a, _ in table])
    comparison = separation.separation_comparison(ws, parties, table, observed)
    status, message = verdict(lambda: require(comparison, comparison.render()))
    assert status == "ERROR", message
    # another tenant's empty-dir pod ran (the column control held): its denials count, the owner's row is ERROR
    assert "not observed properly (ERROR): the owner mounts its claim in a new pod -> access (pod tenant-blue" in (
        message
    )
    assert "ErrImageNeverPull" in message


def test_storage_quota_with_a_refused_claim_within_it_is_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_api: FakeClient, verb: str, _what: str) -> ApiFailure | None:
        if verb == "create_namespaced_persistent_volume_claim":
            return ApiFailure(
                403, "exceeded quota: tenant-quota, requested: requests.storage=1Mi, persistentvolumeclaims=1"
            )
        return None

    ws = _workspace(monkeypatch, refuse)
    monkeypatch.setattr(ws, "wait_quota_settled", lambda _tenant: None)  # nothing was admitted to count
    observed = quota.observe_quota(ws, "blue", dict(PLAN.quota.hard))
    wanted = {column: Cell(access) for column, access in feature_table("storage/quota.feature")[1:]}
    comparison = quota.quota_comparison(observed, wanted)
    status, message = verdict(lambda: require(comparison, comparison.render()))
    assert status == "ERROR"
    assert "positive control failed (blue -> a claim within the storage quota is denied: exceeded quota" in message


def test_storage_checks_error_at_once_when_their_writer_pod_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _workspace(monkeypatch, lambda *_a: None)
    status, message = verdict(lambda: volumes.claim_and_write(ws, "blue", bound_timeout=5))
    assert status == "ERROR"
    assert "pod tenant-blue/sto-writer-" in message
    assert "ErrImageNeverPull" in message
