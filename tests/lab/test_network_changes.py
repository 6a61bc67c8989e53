"""Isolation under change on a `pks` lab cluster (issue 20): the engine of check_network_009 against the lab's
enforcer (kube-router 2.1.0).

In CI: an enforcer that stops (killed, as a crash) leaves its last rules behind; a policy removed meanwhile
keeps its flow open, and the engine must call that change late, with its time; restarted, the enforcer
resyncs and the same matrix converges (the "restart the enforcing agent" change). Nightly: every kind of
change ten times over, and the figures of the closing note (median and worst time to enforce per kind).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from checks.matrix import Matrix
from checks.network.changes import Change, ChangeVerdict, PartnerChanges, enforce, summary
from checks.network.expectations import Pair
from checks.network.policies_in_force import expected_by_policies, read_endpoints, read_policies
from checks.network.probe import ProbePod, Prober, deploy_probe_pods, pod_targets, probe_pod_manifest
from harness.backends import backend_for
from harness.settings import Timeouts, build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.kube.pods import create_pod, delete_pod, wait_running
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabCluster
from provisioning.lab.state import DaemonRecord
from provisioning.tenancy import ProvisionedTenancy, Provisioner
from tests.lab.conftest import existing_cluster_targets

pytestmark = pytest.mark.lab
TENANTS = ("cblue", "cgreen")
DEADLINE = 60.0  # the example targets file's default dataplane.enforce_within_seconds
STALE_DEADLINE = 10.0  # long enough for kube-router to follow a change (about 3 s on the lab), not a resync
ROUNDS = 10
REUSE_BATCH = 8  # pods started at once while waiting for the address to come round (host-local: in order)
REUSE_ATTEMPTS = 400  # more than a node's /24 holds


@pytest.fixture(scope="module")
def tenancy(
    lab_clusters: dict[str, LabCluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProvisionedTenancy]:
    admin = lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)
    targets = existing_cluster_targets(tmp_path_factory.mktemp("changes"), admin, TENANTS)
    run_settings = build_settings(targets_path=targets, environment={}, run_id="changes")
    provisioner = Provisioner(backend_for(run_settings, "existing"), run_settings.run_id)
    yield provisioner.provision(run_settings.targets.model, "existing")
    provisioner.release()


@pytest.fixture(scope="module")
def pods(tenancy: ProvisionedTenancy) -> list[ProbePod]:
    return deploy_probe_pods(tenancy, Timeouts().pod_ready)


class Matrixes:
    """What the policies in force allow now, and what the probes see now, for every pair of the pods
    (read from the cluster at each expectation: labels and port maps as they are)."""

    def __init__(self, tenancy: ProvisionedTenancy, pods: list[ProbePod]) -> None:
        self.tenancy, self.pods = tenancy, pods
        self.targets = [(pod, t) for pod in pods for t in pod_targets([pod])]
        self.pairs: list[Pair] = [(s, o, t) for s in pods for o, t in self.targets if s != o]
        self.prober = Prober(tenancy, Timeouts().probe)

    def expect(self) -> Matrix:
        in_force, labels = read_policies(self.tenancy, self.tenancy.clusters[0])
        endpoints = read_endpoints(self.tenancy, self.tenancy.clusters[0])
        columns = [t.column for _, t in self.targets]
        return expected_by_policies(self.pods, columns, self.pairs, in_force, labels, endpoints)

    def observe(self) -> tuple[Matrix, int]:
        wanted = {(s.label, t.column) for s, _, t in self.pairs}
        observation = self.prober.observe(
            self.pods, [t for _, t in self.targets], skip=lambda s, t: (s.label, t.column) not in wanted
        )
        return observation.matrix, observation.probes


def _enforcer(lab: LabCluster) -> DaemonRecord:
    return next(d for d in lab.state.daemons if d.component.startswith("kube-router-"))


def _restart_enforcer(lab: LabCluster) -> Change:
    return Change("restart the enforcing agent", lambda: lab.restart(_enforcer(lab).component, 60))


def test_a_rule_left_behind_by_a_stopped_enforcer_is_late_and_a_restart_clears_it(
    tenancy: ProvisionedTenancy, pods: list[ProbePod], lab_clusters: dict[str, LabCluster]
) -> None:
    lab = lab_clusters["pks"]
    first, second = tenancy.clusters[0].tenants[:2]
    partners = PartnerChanges(tenancy, tenancy.clusters[0], first, second)
    matrixes = Matrixes(tenancy, pods)
    add, label, _, _, remove = partners.changes()
    try:
        for change in (add, label):  # the flow opens: the enforcer follows changes (the positive control)
            opened = enforce(change, matrixes.expect, matrixes.observe, DEADLINE)
            assert opened.verdict.comparison.passed, opened.verdict.report()
        os.kill(_enforcer(lab).pid, signal.SIGKILL)  # a crash: its rules stay in the kernel
        host.kill_all([_enforcer(lab).pid])
        stale = enforce(remove, matrixes.expect, matrixes.observe, STALE_DEADLINE)
        assert stale.late, f"the removed policy's flow closed without an enforcer: {stale.verdict.report()}"
        assert f"not enforced after {stale.seconds:.1f}s" in stale.line()
        print(stale.line())
    finally:
        restarted = enforce(_restart_enforcer(lab), matrixes.expect, matrixes.observe, DEADLINE)
        partners.restore()
    print(restarted.line())
    assert restarted.verdict.comparison.passed, f"the restarted enforcer left the stale rule: {restarted.line()}"


@pytest.mark.nightly
def test_time_to_enforce_each_kind_of_change(
    tenancy: ProvisionedTenancy, pods: list[ProbePod], lab_clusters: dict[str, LabCluster]
) -> None:
    lab = lab_clusters["pks"]
    first, second = tenancy.clusters[0].tenants[:2]
    partners = PartnerChanges(tenancy, tenancy.clusters[0], first, second)
    matrixes = Matrixes(tenancy, pods)
    outcomes: list[ChangeVerdict] = []
    try:
        for _ in range(ROUNDS):
            for change in [*partners.changes(), _restart_enforcer(lab)]:
                outcomes.append(enforce(change, matrixes.expect, matrixes.observe, DEADLINE))
            partners.undo()
    finally:
        partners.restore()
    print(summary(outcomes))
    late = [o.line() for o in outcomes if not o.verdict.comparison.passed]
    assert not late, "\n".join(late)


@pytest.mark.nightly
def test_an_address_reused_by_another_tenant_carries_none_of_its_old_rules(
    tenancy: ProvisionedTenancy, pods: list[ProbePod]
) -> None:
    """The first tenant's pod b, admitted by its partner policy, is deleted; the second tenant's pods are
    started and removed until one gets its address; the matrix over that pod must then be what the
    policies allow the second tenant's pod (its own tenant only), within the deadline after it runs."""
    first, second = tenancy.clusters[0].tenants[:2]
    partners = PartnerChanges(tenancy, tenancy.clusters[0], first, second)
    old = next(p for p in pods if p.tenant == first.name and p.app == "b")
    admin = tenancy.admin_client(tenancy.clusters[0])
    timeout = Timeouts().pod_ready
    reused: ProbePod | None = None
    try:
        before = Matrixes(tenancy, pods)
        for change in partners.changes()[:2]:  # the flow to the old pod is open
            opened = enforce(change, before.expect, before.observe, DEADLINE)
            assert opened.verdict.comparison.passed, opened.verdict.report()
        delete_pod(admin, old.namespace, old.name, timeout)
        for batch in range(REUSE_ATTEMPTS // REUSE_BATCH):
            names = [f"reuse-{batch}-{i}" for i in range(REUSE_BATCH)]
            for name in names:
                manifest = probe_pod_manifest(second.name, "r", tenancy.run_id)
                manifest["metadata"] = {**manifest["metadata"], "name": name}  # type: ignore[dict-item]
                create_pod(admin, second.namespace, manifest)
            running = {name: wait_running(admin, second.namespace, name, timeout) for name in names}
            hit = next((n for n, pod in running.items() if pod.status.pod_ip == old.ip), None)
            for name in names:
                if name != hit:
                    delete_pod(admin, second.namespace, name, timeout)
            if hit:
                reused = ProbePod(second.name, old.cluster, second.namespace, hit, "r", old.ip)
                break
        assert reused is not None, f"{old.ip} did not come round in {REUSE_ATTEMPTS} pods"
        now = [p for p in pods if p != old] + [reused]
        matrixes = Matrixes(tenancy, now)
        outcome = enforce(
            Change("an address reused by another tenant", lambda: None), matrixes.expect, matrixes.observe, DEADLINE
        )
        print(outcome.line())
        assert outcome.verdict.comparison.passed, outcome.verdict.report()
    finally:
        if reused is not None:
            delete_pod(admin, second.namespace, reused.name, timeout)
        create_pod(admin, old.namespace, probe_pod_manifest(first.name, "b", tenancy.run_id))
        wait_running(admin, old.namespace, old.name, timeout)
        admin.close()
        partners.restore()


def _deployment(tenant: str, run_id: str) -> dict[str, Any]:
    """A Deployment of probe pods labelled as the first tenant's pods b, which its partner policy selects."""
    pod = probe_pod_manifest(tenant, "b", run_id)
    labels = dict(pod["metadata"]["labels"])  # type: ignore[index]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scaled", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "b", "probe": "caas", "scaled": "yes"}},
            "template": {"metadata": {"labels": {**labels, "scaled": "yes"}}, "spec": pod["spec"]},
        },
    }


@pytest.mark.nightly
def test_time_to_enforce_scaling_a_selected_deployment(tenancy: ProvisionedTenancy, pods: list[ProbePod]) -> None:
    """The first tenant's Deployment of pods its partner policy selects is scaled from 1 to 3 and back, ten
    times: the new pods must be admitted exactly as the policy says (and isolated otherwise) once running."""
    first, second = tenancy.clusters[0].tenants[:2]
    partners = PartnerChanges(tenancy, tenancy.clusters[0], first, second)
    admin = tenancy.admin_client(tenancy.clusters[0])
    base = f"/apis/apps/v1/namespaces/{first.namespace}/deployments"
    outcomes: list[ChangeVerdict] = []

    def running_pods(count: int) -> list[ProbePod]:
        def read() -> list[dict[str, Any]]:
            query = {"labelSelector": "scaled=yes"}
            items: list[dict[str, Any]] = kube.request(
                admin, "GET", f"/api/v1/namespaces/{first.namespace}/pods", query=query
            )["items"]
            return [p for p in items if p["status"].get("phase") == "Running" and p["status"].get("podIP")]

        found = wait_until(
            read,
            lambda items: len(items) == count and all(not p["metadata"].get("deletionTimestamp") for p in items),
            timeout=Timeouts().pod_ready,
            what=f"{count} running pods of the Deployment scaled",
        )
        return [
            ProbePod(
                first.name,
                pods[0].cluster,
                first.namespace,
                p["metadata"]["name"],
                p["metadata"]["name"],
                p["status"]["podIP"],
            )
            for p in found
        ]

    def scale(replicas: int) -> None:
        kube.request(
            admin,
            "PATCH",
            f"{base}/scaled/scale",
            body={"spec": {"replicas": replicas}},
            content_type="application/merge-patch+json",
        )

    kube.request(admin, "POST", base, body=_deployment(first.name, tenancy.run_id))
    try:
        before = Matrixes(tenancy, pods + running_pods(1))
        for change in partners.changes()[:2]:  # the flow to the selected pods is open
            assert enforce(change, before.expect, before.observe, DEADLINE).verdict.comparison.passed
        for _ in range(ROUNDS):
            for replicas in (3, 1):
                scale(replicas)
                now = Matrixes(tenancy, pods + running_pods(replicas))
                change = Change(f"scale a selected Deployment to {replicas}", lambda: None)
                outcomes.append(enforce(change, now.expect, now.observe, DEADLINE))
    finally:
        kube.delete_if_present(admin, f"{base}/scaled")
        admin.close()
        partners.restore()
    print(summary(outcomes))
    late = [o.line() for o in outcomes if not o.verdict.comparison.passed]
    assert not late, "\n".join(late)
