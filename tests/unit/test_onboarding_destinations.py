"""Onboarding's egress exceptions name their destinations (issue 20): the cluster DNS and the API server
only, never a port towards every address, judged by the pure evaluator on the model's own manifests."""

from __future__ import annotations

from typing import Any

from checks.network.claims import admit_anyone_policy
from checks.network.onboarding_ports import onboarding_egress_ports
from checks.network.policy import Endpoint, Port, allowed
from provisioning.lab.profiles import PKS, PROFILES, profile_under
from provisioning.model.mutations import Mutation
from provisioning.model.onboarding import (
    NAMESPACE_NAME,
    TENANT,
    ClusterDestinations,
    ServiceEndpoints,
    tenant_manifests,
)
from provisioning.model.tenancy import Plan, Tenant

LAB_DNS = ServiceEndpoints("kube-system", {}, ("10.20.0.1",), (("TCP", 53), ("UDP", 53)))  # outside the pod network
POD_DNS = ServiceEndpoints("kube-system", {"k8s-app": "kube-dns"}, ("10.1.9.9",), (("UDP", 53), ("TCP", 53)))
API_SERVER = ServiceEndpoints("default", {}, ("10.20.0.1",), (("TCP", 6443),))
PLAN = Plan("medium", control_plane_egress=True)
BLUE, GREEN = Tenant("blue", "medium"), Tenant("green", "medium")
NS_LABELS = {
    "tenant-blue": {TENANT: "blue", NAMESPACE_NAME: "tenant-blue"},
    "tenant-green": {TENANT: "green", NAMESPACE_NAME: "tenant-green"},
    "kube-system": {NAMESPACE_NAME: "kube-system"},
}
BLUE_POD = Endpoint("blue/a", "10.1.0.1", "tenant-blue", {"app": "a", "probe": "caas"})
GREEN_POD = Endpoint("green/a", "10.1.0.2", "tenant-green", {"app": "a", "probe": "caas"})
DNS_SERVER = Endpoint("dns", "10.20.0.1")
DNS_POD = Endpoint("coredns", "10.1.9.9", "kube-system", {"k8s-app": "kube-dns"})


def _policies(destinations: ClusterDestinations, mutation: Mutation | None = None) -> list[dict[str, Any]]:
    manifests = [
        {**m, "metadata": {**m["metadata"]}}
        for tenant in (BLUE, GREEN)
        for m in tenant_manifests(tenant, PLAN, "run-1", mutation, destinations=destinations)
        if m["kind"] == "NetworkPolicy"
    ]
    blue_admits_anyone = admit_anyone_policy("run-1", "blue", "admit", {"probe": "caas"}, [("UDP", 53), ("TCP", 6443)])
    blue_admits_anyone["metadata"]["namespace"] = "tenant-blue"
    return [*manifests, blue_admits_anyone]


def test_another_tenants_pod_is_out_of_reach_on_the_dns_and_api_server_ports() -> None:
    """The issue's first failing input: blue admits anyone on 53 and 6443; green may send there only to
    the cluster DNS and the API server, so never to blue's pod (nor to an externalIP leading to it)."""
    policies = _policies(ClusterDestinations(LAB_DNS, API_SERVER))
    for port in (Port(53, "UDP"), Port(6443)):
        assert not allowed(policies, GREEN_POD, BLUE_POD, port, NS_LABELS), port
        assert allowed(policies, GREEN_POD, DNS_SERVER, port, NS_LABELS), f"positive control: {port}"


def test_the_mutation_reopens_the_ports_towards_every_address() -> None:
    policies = _policies(ClusterDestinations(LAB_DNS, API_SERVER), Mutation.DNS_EGRESS_ANYWHERE)
    assert allowed(policies, GREEN_POD, BLUE_POD, Port(53, "UDP"), NS_LABELS)
    assert allowed(policies, GREEN_POD, BLUE_POD, Port(6443), NS_LABELS)


def test_dns_served_by_pods_is_named_by_their_namespace_and_selector_not_their_address() -> None:
    manifests = tenant_manifests(GREEN, PLAN, "run-1", destinations=ClusterDestinations(POD_DNS, API_SERVER))
    dns = next(m for m in manifests if m["metadata"]["name"] == "allow-dns")
    assert dns["spec"]["egress"][0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    policies = _policies(ClusterDestinations(POD_DNS, API_SERVER))
    assert allowed(policies, GREEN_POD, DNS_POD, Port(53, "UDP"), NS_LABELS)
    assert not allowed(policies, GREEN_POD, BLUE_POD, Port(53, "UDP"), NS_LABELS)


def test_unknown_destinations_open_nothing() -> None:
    manifests = tenant_manifests(GREEN, PLAN, "run-1")
    for name in ("allow-dns", "allow-control-plane"):
        policy = next(m for m in manifests if m["metadata"]["name"] == name)
        assert policy["spec"]["egress"] == [], "a rule without `to` would open its ports towards every address"


def test_the_ports_onboarding_opens_are_read_from_its_policies_in_force() -> None:
    policies = _policies(ClusterDestinations(LAB_DNS, API_SERVER))
    for p in policies:
        p["metadata"].setdefault("namespace", f"tenant-{p['metadata']['labels'][TENANT]}")
    ports = onboarding_egress_ports(policies, ["tenant-blue", "tenant-green"])
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 6443)}, "the tenant's own admit policy is not onboarding's"


def test_the_external_ips_mutation_starts_pks_without_deny_service_external_ips() -> None:
    assert "DenyServiceExternalIPs" in PKS.admission_plugins
    mutated = PROFILES[profile_under("pks", Mutation.EXTERNAL_IPS_ADMITTED)]
    assert "DenyServiceExternalIPs" not in mutated.admission_plugins
    assert profile_under("cfcr", Mutation.EXTERNAL_IPS_ADMITTED) == "cfcr"
    assert profile_under("pks", None) == "pks"
