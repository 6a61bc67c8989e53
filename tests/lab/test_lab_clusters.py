"""The embedded lab runs real Kubernetes: pods run, clusters are separate, the profiles differ
the way the products do, volumes persist, and teardown leaves nothing behind."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.settings import Timeouts
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.kube.pods import delete_pod, exec_in_pod, run_pod
from provisioning.lab import cluster, host, images
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.layout import BRIDGE, NETNS_PREFIX
from tests.lab.inventory import ANY_INDEX, cluster_links, cluster_prefix, leaked_since, ours
from tests.support import spawn_caas

TEARDOWN = f"{cluster_prefix()}t-teardown"  # other suites on the same lab use other prefixes
BROKEN = f"{cluster_prefix()}t-broken"

pytestmark = pytest.mark.lab


def _namespace(api: Any) -> Iterator[str]:
    name = f"lab-test-{secrets.token_hex(3)}"
    kube.call(api, "CoreV1Api", "create_namespace", {"metadata": {"name": name}})
    yield name
    kube.call(api, "CoreV1Api", "delete_namespace", name)


@pytest.fixture
def namespace(admin: Any) -> Iterator[str]:
    yield from _namespace(admin)


def _probe_pod(name: str, args: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "probe", "image": images.PROBE.reference, "imagePullPolicy": "Never", "args": args}
            ],
        },
    }


def _connect(api: Any, namespace: str, pod: str, address: str, port: int, protocol: str = "tcp") -> str:
    targets = json.dumps([{"id": "t", "protocol": protocol, "host": address, "port": port}])
    result = exec_in_pod(api, namespace, pod, ["caas-probe", "connect", "--timeout", "2s", targets], timeout=20)
    assert result.ok, result.stderr
    return str(json.loads(result.stdout)["result"])


def test_a_pod_runs_and_gets_an_address(lab: LabCluster, admin: Any, namespace: str, timeouts: Timeouts) -> None:
    pod = run_pod(admin, namespace, _probe_pod("server", ["serve"]), timeouts.pod_ready)
    assert pod.status.pod_ip.startswith(f"10.{100 + lab.layout.index}.")
    nodes = kube.call(admin, "CoreV1Api", "list_node").items
    assert {n.status.node_info.kubelet_version for n in nodes} == {"v1.34.4"}


def test_clusters_reject_each_others_admin_credentials(lab_clusters: dict[str, LabCluster]) -> None:
    pks, cfcr = lab_clusters["pks"], lab_clusters["cfcr"]
    own = kube.from_kubeconfig(pks.layout.kubeconfig(cluster.ADMIN))
    pks_ca = kube.cluster_of_context(pks.layout.kubeconfig(cluster.ADMIN)).ca_pem
    config = json.loads(cfcr.layout.kubeconfig(cluster.ADMIN).read_text())
    user = config["users"][0]["user"]
    import base64

    foreign = kube.api_client(
        kube.Cluster(pks.layout.api_server_url, pks_ca),
        cert_pem=base64.b64decode(user["client-certificate-data"]),
        key_pem=base64.b64decode(user["client-key-data"]),
    )
    try:
        assert kube.call(own, "CoreV1Api", "list_namespace").items, "positive control: own admin must list"
        with pytest.raises(kube.ApiFailure) as failure:
            kube.call(foreign, "CoreV1Api", "list_namespace")
        assert failure.value.status == 401
    finally:
        own.close()
        foreign.close()


def test_deny_all_policy_blocks_on_pks_and_not_on_cfcr(
    lab: LabCluster, admin: Any, namespace: str, timeouts: Timeouts
) -> None:
    server = run_pod(admin, namespace, _probe_pod("server", ["serve"]), timeouts.pod_ready)
    run_pod(admin, namespace, _probe_pod("client", ["serve", "--tcp", "9090", "--udp", "9091"]), timeouts.pod_ready)
    address = server.status.pod_ip
    assert _connect(admin, namespace, "client", address, 8080) == "connected", "positive control before the policy"
    policy = {"metadata": {"name": "deny-all"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    kube.call(admin, "NetworkingV1Api", "create_namespaced_network_policy", namespace, policy)
    if lab.profile.enforce_network_policy:
        wait_until(
            lambda: _connect(admin, namespace, "client", address, 8080),
            lambda r: r == "refused",
            timeout=timeouts.enforce,
            what="the deny-all policy to block TCP 8080",
        )
        assert _connect(admin, namespace, "client", address, 8082, "udp") == "refused"
    else:
        # Accepted by the API, never enforced: give it the same time pks needs, then observe.
        assert kube.call(admin, "NetworkingV1Api", "read_namespaced_network_policy", "deny-all", namespace)
        observed = [_connect(admin, namespace, "client", address, 8080) for _ in range(3)]
        assert observed == ["connected"] * 3


def test_volume_binds_and_data_survives_pod_recreation(
    lab: LabCluster, admin: Any, namespace: str, timeouts: Timeouts
) -> None:
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
    }
    kube.call(admin, "CoreV1Api", "create_namespaced_persistent_volume_claim", namespace, claim)
    wait_until(
        lambda: (
            kube.call(admin, "CoreV1Api", "read_namespaced_persistent_volume_claim", "data", namespace).status.phase
        ),
        lambda phase: phase == "Bound",
        timeout=timeouts.volume_bound,
        what="claim data to be Bound",
    )

    def writer(name: str) -> dict[str, Any]:
        manifest = _probe_pod(name, ["serve"])
        manifest["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        manifest["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        return manifest

    run_pod(admin, namespace, writer("first"), timeouts.pod_ready)
    token = secrets.token_hex(8)
    assert exec_in_pod(admin, namespace, "first", ["sh", "-c", f"echo {token} > /data/proof"], timeout=20).ok
    delete_pod(admin, namespace, "first", timeouts.pod_ready)
    run_pod(admin, namespace, writer("second"), timeouts.pod_ready)
    result = exec_in_pod(admin, namespace, "second", ["cat", "/data/proof"], timeout=20)
    assert result.stdout.strip() == token


def test_teardown_leaves_nothing(lab_paths: LabPaths, lab_clusters: dict[str, LabCluster], timeouts: Timeouts) -> None:
    before = host.inventory(lab_paths.home)
    extra = cluster.up(lab_paths, TEARDOWN, "pks", 2, timeouts.lab_ready)
    admin = kube.from_kubeconfig(extra.layout.kubeconfig(cluster.ADMIN))
    try:
        for namespace in _namespace(admin):
            run_pod(admin, namespace, _probe_pod("server", ["serve"]), timeouts.pod_ready)
            during = host.inventory(lab_paths.home)
            # the machine's other clusters may come and go meanwhile: count this cluster's own (cp + 2 workers)
            own_netns = [name for name in during.netns if name.startswith(f"{NETNS_PREFIX}{TEARDOWN}-")]
            assert len(own_netns) == 3, during.netns
            assert ours(during.new_since(before)).processes, "the cluster runs its daemons"
            break
    finally:
        admin.close()
        cluster.down(lab_paths, TEARDOWN)
    leaked = leaked_since(lab_paths, before, {extra.layout.index})
    assert leaked.empty, leaked


def test_down_works_after_the_starting_process_is_killed(
    lab_paths: LabPaths, lab_clusters: dict[str, LabCluster], timeouts: Timeouts
) -> None:
    """SIGKILL `caas lab up` half-way, then `caas lab down` from the state on disk: nothing is left."""
    import signal

    name = f"{cluster_prefix()}t-crash"  # `caas lab up` refuses a name without CAAS_CLUSTER_PREFIX
    before = host.inventory(lab_paths.home)
    process = spawn_caas("lab", "up", "--name", name, "--profile", "pks")
    try:
        wait_until(
            lambda: len(state.daemons) if (state := cluster.read_state(lab_paths.cluster_dir(name))) else 0,
            lambda started: started >= 4,
            timeout=timeouts.lab_ready,
            what=f"{name} to start 4 daemons",
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    crashed = cluster.read_state(lab_paths.cluster_dir(name))
    assert crashed is not None, "the killed `up` left its state on disk"
    assert ours(host.inventory(lab_paths.home).new_since(before)).processes, "the crash left daemons running"
    cluster.down(lab_paths, name)
    leaked = leaked_since(lab_paths, before, {crashed.index})
    assert leaked.empty, leaked


def test_a_component_that_fails_to_start_shows_its_log_and_leaves_nothing(
    lab_paths: LabPaths, lab_clusters: dict[str, LabCluster], tmp_path: Path, timeouts: Timeouts
) -> None:
    """Binaries whose etcd exits at once: `up` names etcd, shows its log tail, and removes everything."""
    broken_bin = tmp_path / "bin"
    broken_bin.mkdir()
    for binary in lab_paths.bin.iterdir():
        (broken_bin / binary.name).symlink_to(binary)
    (broken_bin / "etcd").unlink()
    (broken_bin / "etcd").write_text("#!/bin/sh\necho 'etcd: injected failure: data dir is corrupt' >&2\nexit 1\n")
    (broken_bin / "etcd").chmod(0o755)
    home = LabPaths(lab_paths.home, bin_override=broken_bin)
    before = host.inventory(lab_paths.home)
    running = {s.index: s.name for s in cluster.list_clusters(lab_paths)}
    with pytest.raises(cluster.ComponentDied) as failure:
        cluster.up(home, BROKEN, "pks", 1, timeouts.lab_ready)
    message = str(failure.value)
    assert message.startswith(f"etcd of cluster {BROKEN} exited:")
    assert "injected failure: data dir is corrupt" in message
    assert not home.cluster_dir(BROKEN).exists()
    # whatever index it took, nothing of it is left (links of an index another suite's cluster holds are its)
    assert leaked_since(lab_paths, before, ANY_INDEX).empty
    # the running clusters keep their network: the lab's shared links (its bridge) and the host links of every
    # cluster that ran before and still runs (another suite's may have stopped meanwhile)
    still = {s.index for s in cluster.list_clusters(lab_paths) if running.get(s.index) == s.name}
    kept = cluster_links(before.links, still)
    assert BRIDGE in before.links, f"the lab's bridge is among the links before: {before.links}"
    assert {BRIDGE, *kept} <= set(host.inventory(lab_paths.home).links), "the running clusters keep their network"
