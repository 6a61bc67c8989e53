"""Manifests the engines create as a tenant (checks/network/policies_in_force.py, checks/storage/
volumes.py, checks/privileged/workloads.py): what they open, what they ask for, and that they carry the
run's labels (so cleanup finds them) and pass the `restricted` pod-security level where they must.

The partner policies are judged with the suite's own NetworkPolicy model (checks/network/policy.py,
tested against the Kubernetes semantics in test_network_policy.py): together they open exactly one TCP
port from one app of one tenant to one app of the other.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from checks.network.policies_in_force import partner_policy
from checks.network.policy import Endpoint, Port, allowed
from checks.privileged.workloads import _deployment
from checks.storage.volumes import (
    MOUNT,
    SMALL_CLAIM,
    claim_manifest,
    claim_volume,
    unique,
    volume_pod_manifest,
)
from provisioning.model.onboarding import TENANT

RUN_LABELS = {
    "caas-conformance.io/run-id": "run-1",
    "caas-conformance.io/tenant": "blue",
    "caas-conformance.io/managed-by": "caas-conformance",
}

# --- partner policies -------------------------------------------------------------------------------


def in_namespace(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}


NAMESPACE_LABELS = {"tenant-blue": {TENANT: "blue"}, "tenant-green": {TENANT: "green"}}
DENY_ALL = [
    {"metadata": {"name": "deny", "namespace": ns}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    for ns in NAMESPACE_LABELS
]
PORTS = (Port(8080), Port(8081), Port(8082, "UDP"))
BLUE_B = Endpoint("blue/b", "10.1.0.2", "tenant-blue", {"app": "b"}, PORTS)
BLUE_A = Endpoint("blue/a", "10.1.0.1", "tenant-blue", {"app": "a"}, PORTS)
GREEN_A = Endpoint("green/a", "10.2.0.1", "tenant-green", {"app": "a"}, PORTS)
GREEN_B = Endpoint("green/b", "10.2.0.2", "tenant-green", {"app": "b"}, PORTS)


def test_an_ingress_partner_policy_admits_the_peer_apps_pods_on_one_tcp_port() -> None:
    policy = partner_policy("admit-partner", "Ingress", "b", "green", "a", 8080)
    assert policy == {
        "metadata": {"name": "admit-partner"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "b"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {TENANT: "green"}},
                            "podSelector": {"matchLabels": {"app": "a"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        },
    }


def test_an_egress_partner_policy_lets_its_own_pods_reach_the_peer_app() -> None:
    spec = partner_policy("reach-partner", "Egress", "a", "blue", "b", 8080)["spec"]
    assert spec["policyTypes"] == ["Egress"]
    assert "ingress" not in spec
    [rule] = spec["egress"]
    assert rule["to"][0]["namespaceSelector"] == {"matchLabels": {TENANT: "blue"}}
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_both_partner_policies_together_open_exactly_one_flow_and_one_port() -> None:
    policies = [
        *DENY_ALL,
        in_namespace(partner_policy("admit-partner", "Ingress", "b", "green", "a", 8080), "tenant-blue"),
        in_namespace(partner_policy("reach-partner", "Egress", "a", "blue", "b", 8080), "tenant-green"),
    ]

    def opens(source: Endpoint, destination: Endpoint, port: Port) -> bool:
        return allowed(policies, source, destination, port, NAMESPACE_LABELS)

    assert opens(GREEN_A, BLUE_B, Port(8080))
    assert not opens(GREEN_A, BLUE_B, Port(8081)), "another port"
    assert not opens(GREEN_A, BLUE_B, Port(8080, "UDP")), "the same port over UDP"
    assert not opens(GREEN_A, BLUE_A, Port(8080)), "another app of the tenant"
    assert not opens(GREEN_B, BLUE_B, Port(8080)), "another app of the partner"
    assert not opens(BLUE_B, GREEN_A, Port(8080)), "the other direction"


def test_one_partner_policy_alone_opens_nothing_under_deny_all() -> None:
    ingress_only = [*DENY_ALL, in_namespace(partner_policy("p", "Ingress", "b", "green", "a", 8080), "tenant-blue")]
    egress_only = [*DENY_ALL, in_namespace(partner_policy("p", "Egress", "a", "blue", "b", 8080), "tenant-green")]
    assert not allowed(ingress_only, GREEN_A, BLUE_B, Port(8080), NAMESPACE_LABELS)
    assert not allowed(egress_only, GREEN_A, BLUE_B, Port(8080), NAMESPACE_LABELS)


# --- storage ----------------------------------------------------------------------------------------


def test_unique_names_keep_their_base_and_differ() -> None:
    names = {unique("sto-claim") for _ in range(20)}
    assert len(names) == 20
    assert all(re.fullmatch(r"sto-claim-[0-9a-f]{6}", n) for n in names)


def test_a_claim_without_a_class_asks_the_default_class_for_a_small_read_write_once_volume() -> None:
    claim = claim_manifest("sto-claim-1", "blue", "run-1")
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["metadata"] == {
        "name": "sto-claim-1",
        "labels": {**RUN_LABELS, "caas-conformance.io/check": "storage"},
    }
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": SMALL_CLAIM}}}
    assert "storageClassName" not in claim["spec"], "an empty class would ask for no class, not the default"


def test_a_claim_can_name_its_size_volume_and_class() -> None:
    spec = claim_manifest("c", "blue", "run-1", "2Gi", volume_name="pv-owner", storage_class="fast")["spec"]
    assert spec["resources"] == {"requests": {"storage": "2Gi"}}
    assert spec["volumeName"] == "pv-owner"
    assert spec["storageClassName"] == "fast"


def test_a_volume_pod_mounts_its_volume_at_data_and_passes_the_restricted_level() -> None:
    pod = volume_pod_manifest("sto-pod-1", "blue", "run-1", claim_volume("sto-claim-1"))
    assert pod["metadata"]["labels"] == {**RUN_LABELS, "caas-conformance.io/check": "storage"}
    spec = pod["spec"]
    assert spec["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "sto-claim-1"}}]
    [container] = spec["containers"]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": MOUNT}]
    assert MOUNT == "/data"
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["imagePullPolicy"] == "Never", "the lab's images are loaded, never pulled"


@pytest.mark.parametrize("volume", [{"emptyDir": {}}, {"hostPath": {"path": "/etc"}}])
def test_a_volume_pod_takes_the_volume_as_given(volume: dict[str, Any]) -> None:
    assert volume_pod_manifest("p", "blue", "run-1", volume)["spec"]["volumes"] == [{"name": "data", **volume}]


# --- workloads --------------------------------------------------------------------------------------


def test_a_deployment_selects_its_app_and_runs_one_replica_of_the_pod_given() -> None:
    labels = {**RUN_LABELS, "app": "forbidden-abc123"}
    pod = {"metadata": {"name": "ignored"}, "spec": {"hostNetwork": True, "containers": [{"name": "c"}]}}
    deployment = _deployment("forbidden-abc123", labels, pod)
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["metadata"] == {"name": "forbidden-abc123", "labels": labels}
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "forbidden-abc123"}}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == labels
    assert template["spec"] == pod["spec"], "the forbidden setting reaches the pod template"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items(), "the selector matches its own template"
