"""The over-blocking mutation (issue 25): onboarding that lets UDP flow within the tenant only among
the pods labelled app=a, so check_network_005 has an over-blocked cell whose row and column controls hold."""

from __future__ import annotations

from typing import Any

from provisioning.model.mutations import MUST_FAIL, SCOPED_APP, Mutation
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.tenancy import Plan, Tenant

PLAN = Plan("small")


def _policies(mutation: Mutation | None) -> dict[str, dict[str, Any]]:
    manifests = tenant_manifests(Tenant("blue", "small"), PLAN, "run-1", mutation)
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == "NetworkPolicy"}


def test_same_tenant_udp_scoped_lets_udp_flow_among_the_scoped_pods_only() -> None:
    honest, mutated = _policies(None), _policies(Mutation.SAME_TENANT_UDP_SCOPED)
    assert set(mutated) == {*honest, "allow-same-tenant-udp-scoped"}
    same_tenant = mutated["allow-same-tenant"]["spec"]
    assert same_tenant["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}]
    assert same_tenant["egress"] == [{"to": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}]
    scoped = mutated["allow-same-tenant-udp-scoped"]
    assert scoped["metadata"]["namespace"] == "tenant-blue"
    pods_a = {"podSelector": {"matchLabels": {"app": SCOPED_APP}}}
    assert scoped["spec"] == {
        **pods_a,
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [pods_a], "ports": [{"protocol": "UDP"}]}],
        "egress": [{"to": [pods_a], "ports": [{"protocol": "UDP"}]}],
    }
    assert {k: v for k, v in mutated.items() if not k.startswith("allow-same-tenant")} == {
        k: v for k, v in honest.items() if k != "allow-same-tenant"
    }
    assert MUST_FAIL[Mutation.SAME_TENANT_UDP_SCOPED] == ("check_network_005",)


def test_other_mutations_leave_allow_same_tenant_alone() -> None:
    assert _policies(Mutation.QUOTA)["allow-same-tenant"] == _policies(None)["allow-same-tenant"]
