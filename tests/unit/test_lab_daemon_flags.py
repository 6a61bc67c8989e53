"""The command lines of the lab's daemons (flags.py) and the node hosts' routes and rules (routes.py):
what a profile asks for reaches the daemon that enforces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning.lab import flags, routes
from provisioning.lab.layout import LAB_NETWORK, SERVICE_CIDR, ClusterLayout
from provisioning.lab.profiles import CFCR, PKS, PKS_EXTERNAL_IPS_ADMITTED, PROFILES, LabProfile
from provisioning.model.tenancy import AuthorizationMode

BIN = Path("/lab/bin")
LAYOUT = ClusterLayout("ha-x", 7, 2, Path("/lab/clusters/ha-x"))


def _values(argv: list[str], flag: str) -> list[str]:
    """Every value of `--flag=value` in `argv`."""
    return [arg.split("=", 1)[1] for arg in argv if arg.startswith(f"--{flag}=")]


def _value(argv: list[str], flag: str) -> str:
    values = _values(argv, flag)
    assert len(values) == 1, f"--{flag} given {len(values)} times in {argv}"
    return values[0]


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES)
def test_the_api_server_enables_exactly_the_profiles_admission_plugins(profile: LabProfile) -> None:
    argv = flags.kube_apiserver(BIN, LAYOUT, profile)
    assert _value(argv, "enable-admission-plugins").split(",") == list(profile.admission_plugins)


def test_only_the_hardened_pks_refuses_service_external_ips() -> None:
    def plugins(profile: LabProfile) -> list[str]:
        return _value(flags.kube_apiserver(BIN, LAYOUT, profile), "enable-admission-plugins").split(",")

    assert "DenyServiceExternalIPs" in plugins(PKS)
    assert "DenyServiceExternalIPs" not in plugins(PKS_EXTERNAL_IPS_ADMITTED)
    assert "DenyServiceExternalIPs" not in plugins(CFCR)


@pytest.mark.parametrize(
    ("profile", "modes", "policy_file"),
    [
        (CFCR, "ABAC", "/lab/clusters/ha-x/abac-policy.jsonl"),
        (CFCR.with_authorization(AuthorizationMode.RBAC), "Node,RBAC", None),
        (PKS, "Node,RBAC", None),
        (PKS.with_authorization(AuthorizationMode.ABAC), "ABAC", "/lab/clusters/ha-x/abac-policy.jsonl"),
    ],
)
def test_the_api_server_authorizes_with_the_mode_the_profile_asks_for(
    profile: LabProfile, modes: str, policy_file: str | None
) -> None:
    argv = flags.kube_apiserver(BIN, LAYOUT, profile)
    assert _value(argv, "authorization-mode") == modes
    assert _values(argv, "authorization-policy-file") == ([policy_file] if policy_file else [])


def test_oidc_profiles_trust_the_clusters_issuer_and_others_do_not() -> None:
    pks = flags.kube_apiserver(BIN, LAYOUT, PKS)
    cfcr = flags.kube_apiserver(BIN, LAYOUT, CFCR)
    assert _value(pks, "authentication-config") == "/lab/clusters/ha-x/authentication.yaml"
    assert _values(cfcr, "authentication-config") == []
    assert not [arg for arg in pks + cfcr if arg.startswith("--oidc-")], "structured authentication only"


def test_token_authentication_is_the_token_file_of_the_cluster_only_where_the_profile_has_it() -> None:
    assert _value(flags.kube_apiserver(BIN, LAYOUT, CFCR), "token-auth-file") == "/lab/clusters/ha-x/tokens.csv"
    assert _values(flags.kube_apiserver(BIN, LAYOUT, PKS), "token-auth-file") == []


@pytest.mark.parametrize(("profile", "allowed"), [(CFCR, "false"), (PKS, "true")])
def test_privileged_containers_follow_the_profile(profile: LabProfile, allowed: str) -> None:
    assert _value(flags.kube_apiserver(BIN, LAYOUT, profile), "allow-privileged") == allowed


def test_the_service_network_is_the_same_for_every_daemon_that_needs_it() -> None:
    worker = LAYOUT.worker_nodes[0]
    for argv in (
        flags.kube_apiserver(BIN, LAYOUT, PKS),
        flags.kube_controller_manager(BIN, LAYOUT),
        flags.kube_router(BIN, LAYOUT, worker),
    ):
        assert _value(argv, "service-cluster-ip-range") == SERVICE_CIDR


def test_the_api_server_serves_on_the_control_planes_address_with_the_clusters_pki() -> None:
    argv = flags.kube_apiserver(BIN, LAYOUT, PKS)
    assert argv[:2] == ["/lab/bin/kube", "kube-apiserver"]
    assert _value(argv, "advertise-address") == "10.213.7.10"
    assert _value(argv, "client-ca-file") == "/lab/clusters/ha-x/pki/ca.crt"
    assert _value(argv, "etcd-servers") == flags.ETCD_CLIENT_URL
    names = [arg.split("=", 1)[0] for arg in argv[2:]]
    assert len(names) == len(set(names)), "no flag is given twice"


def test_etcd_listens_on_the_control_planes_loopback_only() -> None:
    argv = flags.etcd(BIN, LAYOUT.control_plane)
    urls = [arg for arg in argv if arg.startswith("http")]
    assert urls
    assert all(url.startswith("http://127.0.0.1:") for url in urls), urls
    assert argv[argv.index("--data-dir") + 1] == "/lab/clusters/ha-x/nodes/cp/etcd"


def test_the_controller_manager_knows_the_clusters_own_pod_network() -> None:
    other = ClusterLayout("ha-y", 8, 1, Path("/lab/clusters/ha-y"))
    assert _value(flags.kube_controller_manager(BIN, LAYOUT), "cluster-cidr") == "10.107.0.0/16"
    assert _value(flags.kube_controller_manager(BIN, other), "cluster-cidr") == "10.108.0.0/16"
    assert "-nodeipam" in _value(flags.kube_controller_manager(BIN, LAYOUT), "controllers").split(",")


def test_each_kubelet_registers_its_own_node_with_its_own_credentials() -> None:
    first, second = (flags.kubelet(BIN, LAYOUT, node) for node in LAYOUT.worker_nodes)
    assert (_value(first, "hostname-override"), _value(first, "node-ip")) == ("ha-x-w1", "10.213.7.11")
    assert (_value(second, "hostname-override"), _value(second, "node-ip")) == ("ha-x-w2", "10.213.7.12")
    assert _value(first, "kubeconfig") == "/lab/clusters/ha-x/kubeconfigs/kubelet-ha-x-w1.kubeconfig"
    assert _value(first, "node-labels") == "caas-conformance.io/lab=ha-x"


def test_kube_router_enforces_network_policy_and_nothing_else() -> None:
    argv = flags.kube_router(BIN, LAYOUT, LAYOUT.worker_nodes[1])
    enabled = {flag: _value(argv, flag) for flag in ("run-firewall", "run-router", "run-service-proxy")}
    assert enabled == {"run-firewall": "true", "run-router": "false", "run-service-proxy": "false"}
    assert _value(argv, "hostname-override") == "ha-x-w2"


def test_every_routed_pod_network_is_another_workers_via_its_address() -> None:
    found = routes.pod_routes(LAYOUT)
    assert ("ha-x-cp", "10.107.1.0/24", "10.213.7.11") in found
    assert ("ha-x-w1", "10.107.2.0/24", "10.213.7.12") in found
    assert ("ha-x-w2", "10.107.1.0/24", "10.213.7.11") in found
    own_address = {node.name: node.ip for node in LAYOUT.nodes}
    assert all(via != own_address[node] for node, _, via in found), "no node host routes via itself"
    assert len(found) == 4  # control plane to both workers, each worker to the other


def test_only_an_isolating_profile_drops_pod_traffic_to_the_lab_network() -> None:
    def drops(profile: LabProfile) -> list[tuple[str, ...]]:
        return [r for r in routes.worker_rules(LAYOUT, profile) if r[-2:] == ("-j", "DROP")]

    assert drops(PKS) == [("-t", "mangle", "-A", routes.EDGE_CHAIN, "-d", LAB_NETWORK, "-j", "DROP")]
    assert drops(CFCR) == []
    own = ("-t", "mangle", "-A", routes.EDGE_CHAIN, "-d", "10.213.7.0/24", "-j", "RETURN")
    rules = routes.worker_rules(LAYOUT, PKS)
    assert rules.index(own) < rules.index(drops(PKS)[0]), "the cluster's own node hosts stay reachable"
    masquerade = routes.worker_rules(LAYOUT, CFCR)[0]
    assert masquerade[:9] == ("-t", "nat", "-A", "POSTROUTING", "-s", "10.107.0.0/16", "!", "-d", "10.107.0.0/16")
