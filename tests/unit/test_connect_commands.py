"""The commands and targets a probe is given (checks/network/probe.py, dns.py, services.py): what
`caas-probe connect` is asked to try, over which protocol, on which port, within how many seconds.

The flag syntax is the probe's own (provisioning/lab/go/images/cmd/probe/main.go): `--timeout` is a Go
duration (time.ParseDuration, e.g. "2s", "500ms", "1.5s") and the targets one JSON list of
`{"id", "protocol", "host", "port"}`.
"""

from __future__ import annotations

import json
import re

import pytest

from checks.matrix import Cell, Matrix
from checks.network.dns import ABSENT, as_resolution, name_targets, pod_dns_name
from checks.network.probe import (
    TCP_PORTS,
    UDP_PORT,
    ProbePod,
    Target,
    connect_command,
    parse_results,
    pod_targets,
    port_targets,
)
from checks.network.services import EXPOSED, SERVICE, TenantService, admit_outside_policy, service_manifest
from provisioning.model.tenancy import Placement, Tenant

BLUE_A = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
GREEN_B = ProbePod("green", "pks-shared", "tenant-green", "probe-b", "b", "10.244.2.9")
NODE = ProbePod("blue", "pks-shared", "", "worker-1", "node", "172.18.0.3")  # a node: no namespace
BLUE_SERVICE = TenantService("blue", "pks-shared", "tenant-blue", SERVICE, "10.96.0.15")


def test_connect_asks_every_target_at_once_with_its_protocol_host_and_port() -> None:
    targets = [
        Target("green/b:8080/tcp", "10.244.2.9", 8080, "tcp"),
        Target("green/b:8082/udp", "10.244.2.9", 8082, "udp"),
    ]
    command = connect_command(targets, 2.0)
    assert command[:3] == ["connect", "--timeout", "2s"]
    assert len(command) == 4, "the targets are one argument"
    assert json.loads(command[3]) == [
        {"id": "green/b:8080/tcp", "protocol": "tcp", "host": "10.244.2.9", "port": 8080},
        {"id": "green/b:8082/udp", "protocol": "udp", "host": "10.244.2.9", "port": 8082},
    ]


@pytest.mark.parametrize(("seconds", "flag"), [(2.0, "2s"), (2, "2s"), (0.5, "0.5s"), (1.25, "1.25s"), (30.0, "30s")])
def test_the_timeout_is_given_in_seconds_as_a_go_duration(seconds: float, flag: str) -> None:
    assert connect_command([], seconds)[2] == flag


@pytest.mark.parametrize("seconds", [0.00001, 1_000_000.0])
def test_a_timeout_far_from_seconds_is_still_a_go_duration(seconds: float) -> None:
    flag = connect_command([], seconds)[2]
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)", flag), flag


def test_no_targets_is_an_empty_list_not_a_missing_argument() -> None:
    assert connect_command([], 2.0) == ["connect", "--timeout", "2s", "[]"]


def test_a_port_is_a_json_number_and_a_host_name_is_kept_as_written() -> None:
    name = "caas-probe.tenant-green.svc.cluster.local"
    [entry] = json.loads(connect_command([Target(f"{name} (name)", name, 8080, "tcp")], 2.0)[3])
    assert entry == {"id": f"{name} (name)", "protocol": "tcp", "host": name, "port": 8080}
    assert isinstance(entry["port"], int)


def test_the_probe_label_is_tenant_and_app_or_the_app_alone() -> None:
    assert BLUE_A.label == "blue/a"
    assert ProbePod("", "pks-shared", "", "outside", "outside", "").label == "outside"


def test_pod_targets_are_both_tcp_ports_and_the_udp_port_of_every_pod() -> None:
    assert pod_targets([BLUE_A, GREEN_B]) == [
        Target("blue/a:8080/tcp", "10.244.1.7", 8080, "tcp"),
        Target("blue/a:8081/tcp", "10.244.1.7", 8081, "tcp"),
        Target("blue/a:8082/udp", "10.244.1.7", 8082, "udp"),
        Target("green/b:8080/tcp", "10.244.2.9", 8080, "tcp"),
        Target("green/b:8081/tcp", "10.244.2.9", 8081, "tcp"),
        Target("green/b:8082/udp", "10.244.2.9", 8082, "udp"),
    ]
    assert (TCP_PORTS, UDP_PORT) == ((8080, 8081), 8082)


def test_pod_targets_of_one_protocol_only() -> None:
    assert [(t.port, t.protocol) for t in pod_targets([BLUE_A], ("tcp",))] == [(8080, "tcp"), (8081, "tcp")]
    assert [(t.port, t.protocol) for t in pod_targets([BLUE_A], ("udp",))] == [(8082, "udp")]
    assert pod_targets([BLUE_A], ()) == []


def test_port_targets_take_the_protocol_as_written_in_upper_case_and_probe_it_in_lower_case() -> None:
    targets = port_targets([BLUE_A, GREEN_B], [("TCP", 443), ("UDP", 53)])
    assert targets == [
        Target("blue/a:443/tcp", "10.244.1.7", 443, "tcp"),
        Target("blue/a:53/udp", "10.244.1.7", 53, "udp"),
        Target("green/b:443/tcp", "10.244.2.9", 443, "tcp"),
        Target("green/b:53/udp", "10.244.2.9", 53, "udp"),
    ]
    assert {e["protocol"] for e in json.loads(connect_command(targets, 2.0)[3])} == {"tcp", "udp"}


def test_tcp_and_udp_to_the_same_port_are_two_columns() -> None:
    targets = port_targets([BLUE_A], [("TCP", 53), ("UDP", 53)])
    assert len({t.column for t in targets}) == 2


# --- DNS names and services --------------------------------------------------------------------------


def test_a_pods_dns_name_is_its_dashed_address_in_its_namespace() -> None:
    assert pod_dns_name(BLUE_A) == "10-244-1-7.tenant-blue.pod.cluster.local"
    assert pod_dns_name(BLUE_A, "example.org") == "10-244-1-7.tenant-blue.pod.example.org"


def test_name_targets_are_every_service_every_pod_and_one_name_nobody_made_asked_fully_qualified() -> None:
    pairs = name_targets([BLUE_A, GREEN_B, NODE], [BLUE_SERVICE])
    assert [(owner.label, t.column, t.host, t.port, t.protocol) for owner, t in pairs] == [
        (
            "blue/svc",
            "caas-probe.tenant-blue.svc.cluster.local (name)",
            "caas-probe.tenant-blue.svc.cluster.local.",
            8080,
            "dns",
        ),
        ("blue/a", "blue/a pod (name)", "10-244-1-7.tenant-blue.pod.cluster.local.", 8080, "dns"),
        ("green/b", "green/b pod (name)", "10-244-2-9.tenant-green.pod.cluster.local.", 8080, "dns"),
        (
            f"blue/{ABSENT}",
            f"{ABSENT}.tenant-blue.svc.cluster.local (name)",
            f"{ABSENT}.tenant-blue.svc.cluster.local.",
            8080,
            "dns",
        ),
    ], "a node (no namespace) has no pod name; every host ends with the root's dot, no column does"


def test_without_services_there_is_no_negative_control_name() -> None:
    assert [t.host for _owner, t in name_targets([BLUE_A], [])] == ["10-244-1-7.tenant-blue.pod.cluster.local."]


def test_a_service_is_probed_on_its_address_over_tcp_and_udp_and_owned_by_its_tenant() -> None:
    assert BLUE_SERVICE.dns_name == "caas-probe.tenant-blue.svc.cluster.local"
    assert BLUE_SERVICE.address_targets() == [
        Target("blue/caas-probe:8080/tcp", "10.96.0.15", 8080, "tcp"),
        Target("blue/caas-probe:8082/udp", "10.96.0.15", 8082, "udp"),
    ]
    assert BLUE_SERVICE.name_targets() == [
        Target(f"{BLUE_SERVICE.dns_name}:8080/tcp", BLUE_SERVICE.dns_name, 8080, "tcp"),
        Target(f"{BLUE_SERVICE.dns_name}:8082/udp", BLUE_SERVICE.dns_name, 8082, "udp"),
    ]
    owner = BLUE_SERVICE.owner
    assert (owner.tenant, owner.namespace, owner.app, owner.ip) == ("blue", "tenant-blue", "svc", "10.96.0.15")


def test_the_cluster_ip_service_serves_the_tcp_and_udp_probe_ports_of_pods_a() -> None:
    manifest = service_manifest(Tenant("blue", "small", Placement.SHARED), "run-1", SERVICE, "a", node_port=False)
    assert manifest["metadata"]["name"] == "caas-probe"
    assert manifest["metadata"]["labels"]["caas-conformance.io/run-id"] == "run-1"
    assert manifest["metadata"]["labels"]["caas-conformance.io/tenant"] == "blue"
    assert manifest["spec"]["type"] == "ClusterIP"
    assert manifest["spec"]["selector"] == {"app": "a", "probe": "caas"}
    assert manifest["spec"]["ports"] == [
        {"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "echo", "port": 8082, "protocol": "UDP"},
    ]


def test_the_node_port_service_exposes_the_tcp_port_of_pods_b_only() -> None:
    manifest = service_manifest(Tenant("blue", "small", Placement.SHARED), "run-1", EXPOSED, "b", node_port=True)
    assert manifest["spec"]["type"] == "NodePort"
    assert manifest["spec"]["selector"] == {"app": "b", "probe": "caas"}
    assert manifest["spec"]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_the_tenant_admits_outside_clients_to_its_exposed_pods_on_the_exposed_tcp_port_only() -> None:
    policy = admit_outside_policy(Tenant("blue", "small", Placement.SHARED), "run-1")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "b"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 8080}]}
    ]
    assert "egress" not in policy["spec"]


def test_a_resolved_name_is_allowed_and_an_unknown_one_denied_by_the_name_reading() -> None:
    results = parse_results(
        "\n".join(
            [
                json.dumps({"id": "known (name)", "result": "resolved", "detail": "10.96.0.12"}),
                json.dumps({"id": "unknown (name)", "result": "dns-failure", "detail": "lookup x.: no such host"}),
            ]
        )
    )
    assert results["known (name)"] == (Cell.ALLOWED, "resolved: 10.96.0.12")
    cells = {("blue/a", column): cell for column, (cell, _) in results.items()}
    evidence = {("blue/a", column): detail for column, (_, detail) in results.items()}
    resolution = as_resolution(Matrix.build(["blue/a"], list(results), cells, evidence))
    assert resolution["blue/a", "known (name)"] is Cell.ALLOWED
    assert resolution["blue/a", "unknown (name)"] is Cell.DENIED
