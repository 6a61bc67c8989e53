"""The provider's fences -> the tenant's effective plan (provisioning/model/fences.py), pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from provisioning.model.fences import (
    NamespaceFences,
    container_defaults,
    effective_catalog,
    effective_plan,
    identity_role,
    isolation,
    plan_differences,
    pod_security_level,
    quota_hard,
    reaches_api_server,
)
from provisioning.model.mutations import Mutation
from provisioning.model.onboarding import ClusterDestinations, ServiceEndpoints, tenant_manifests
from provisioning.model.tenancy import Plan, PodSecurityLevel, Quota, Role, Tenant

API = ServiceEndpoints(addresses=("10.96.0.1",), ports=(("TCP", 6443),))
DNS = ServiceEndpoints(namespace="kube-system", selector={"k8s-app": "kube-dns"}, ports=(("UDP", 53), ("TCP", 53)))
RICH = Plan(
    name="rich",
    pod_security=PodSecurityLevel.RESTRICTED,
    control_plane_egress=True,
    quota=Quota(
        hard={"pods": "20", "requests.cpu": "2", "requests.memory": "4Gi"},
        default_limits={"cpu": "250m", "memory": "128Mi"},
        default_requests={"cpu": "50m", "memory": "64Mi"},
    ),
)
BARE = Plan(name="bare", pod_security=PodSecurityLevel.BASELINE)


def _fences(manifests: list[dict[str, Any]]) -> NamespaceFences:
    """What the adapter would read back after the suite's own onboarding applied `manifests`."""

    def of(kind: str) -> tuple[dict[str, Any], ...]:
        return tuple(m for m in manifests if m["kind"] == kind)

    namespace = of("Namespace")[0]["metadata"]
    return NamespaceFences(
        namespace=namespace["name"],
        labels=namespace["labels"],
        network_policies=of("NetworkPolicy"),
        resource_quotas=of("ResourceQuota"),
        limit_ranges=of("LimitRange"),
        role_bindings=of("RoleBinding"),
    )


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize("plan", [RICH, BARE], ids=["rich", "bare"])
def test_the_suites_own_onboarding_amounts_to_the_plan_it_was_made_from(plan: Plan) -> None:
    manifests = tenant_manifests(Tenant("blue", plan.name), plan, "r1", destinations=ClusterDestinations(DNS, API))
    found = effective_plan(plan, _fences(manifests), API)
    assert found == plan
    assert plan_differences(plan, found) == []


def test_without_the_network_policies_a_tenant_is_not_isolated_and_reaches_the_api_server() -> None:
    manifests = tenant_manifests(Tenant("blue", "bare"), BARE, "r1", Mutation.NETWORK_POLICIES)
    fences = _fences(manifests)
    assert isolation(fences.network_policies) == isolation([])
    assert not isolation(fences.network_policies).ingress
    assert effective_plan(BARE, fences, API).control_plane_egress is True
    assert plan_differences(BARE, effective_plan(BARE, fences, API)) == [
        "control_plane_egress: declared False, found True"
    ]


def test_without_quota_and_limits_the_plan_promises_none() -> None:
    manifests = tenant_manifests(
        Tenant("blue", "rich"), RICH, "r1", Mutation.QUOTA, destinations=ClusterDestinations(DNS, API)
    )
    found = effective_plan(RICH, _fences(manifests), API)
    assert found.quota == Quota()
    assert "quota.hard: declared" in "\n".join(plan_differences(RICH, found))


@pytest.mark.parametrize(
    ("labels", "level"),
    [
        ({}, PodSecurityLevel.PRIVILEGED),
        ({"pod-security.kubernetes.io/enforce": "baseline"}, PodSecurityLevel.BASELINE),
        ({"pod-security.kubernetes.io/warn": "restricted"}, PodSecurityLevel.PRIVILEGED),
        ({"pod-security.kubernetes.io/enforce": "strict"}, PodSecurityLevel.PRIVILEGED),
    ],
    ids=["none", "baseline", "warn-only", "unknown"],
)
def test_pod_security_is_the_enforce_label_and_privileged_without_one(
    labels: dict[str, str], level: PodSecurityLevel
) -> None:
    assert pod_security_level(labels) is level
    plan = effective_plan(BARE, NamespaceFences("ns", labels=labels), API)
    assert plan.allow_privileged is (level is PodSecurityLevel.PRIVILEGED)


def test_ingress_only_default_deny_isolates_ingress_not_egress() -> None:
    deny_ingress = _policy("deny", {"podSelector": {}})  # no policyTypes, no egress: Ingress only
    some_pods = _policy("some", {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Egress"]})
    assert isolation([deny_ingress, some_pods]).ingress is True
    assert isolation([deny_ingress, some_pods]).egress is False
    assert reaches_api_server([deny_ingress, some_pods], API) is True


@pytest.mark.parametrize(
    ("rule", "reaches"),
    [
        ({"to": [{"ipBlock": {"cidr": "10.96.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 6443}]}, True),
        ({"to": [{"ipBlock": {"cidr": "10.96.0.0/24", "except": ["10.96.0.1/32"]}}]}, False),
        (
            {
                "to": [{"ipBlock": {"cidr": "10.96.0.0/24"}}],
                "ports": [{"protocol": "TCP", "port": 6000, "endPort": 7000}],
            },
            True,
        ),
        ({"to": [{"ipBlock": {"cidr": "10.96.0.0/24"}}], "ports": [{"protocol": "UDP", "port": 6443}]}, False),
        ({"to": [{"namespaceSelector": {}}]}, False),
        ({"ports": [{"protocol": "TCP", "port": 6443}]}, True),
        ({"ports": [{"protocol": "TCP", "port": "https"}]}, False),
    ],
    ids=["block-and-port", "excepted", "port-range", "other-protocol", "pods-only", "anywhere", "named-port"],
)
def test_api_server_egress_needs_a_rule_to_its_address_and_port(rule: dict[str, Any], reaches: bool) -> None:
    policies = [
        _policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy("api", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]}),
    ]
    assert reaches_api_server(policies, API) is reaches


def test_quota_is_the_lowest_hard_limit_of_the_unscoped_quotas() -> None:
    quotas = [
        {"spec": {"hard": {"pods": "10", "requests.cpu": "2"}}},
        {"spec": {"hard": {"pods": "5", "requests.cpu": "2000m", "requests.memory": "1Gi"}}},
        {"spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"]}},
    ]
    assert quota_hard(quotas) == {"pods": "5", "requests.cpu": "2", "requests.memory": "1Gi"}


def test_container_defaults_come_from_the_first_limit_range_that_sets_them() -> None:
    ranges = [
        {"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}}, {"type": "Container", "default": {"cpu": "1"}}]}},
        {
            "spec": {
                "limits": [
                    {"type": "Container", "default": {"cpu": "2", "memory": "1Gi"}, "defaultRequest": {"cpu": "100m"}}
                ]
            }
        },
    ]
    assert container_defaults(ranges) == ({"cpu": "1", "memory": "1Gi"}, {"cpu": "100m"})


def _binding(cluster_role: str, *subjects: tuple[str, str], kind: str = "ClusterRole") -> dict[str, Any]:
    return {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": cluster_role},
        "subjects": [{"kind": k, "name": n} for k, n in subjects],
    }


def test_an_identity_gets_the_strongest_built_in_role_bound_to_its_user_or_groups() -> None:
    bindings = [
        _binding("view", ("Group", "acme:readers")),
        _binding("edit", ("User", "alice")),
        _binding("admin", ("Group", "acme:owners")),
        _binding("admin", ("Group", "acme:readers"), kind="Role"),  # a namespace Role named admin: not the built-in
        _binding("acme-custom", ("User", "bob")),
    ]
    assert identity_role(bindings, "alice", ("acme:readers",)) is Role.DEVELOPER
    assert identity_role(bindings, "carol", ("acme:owners", "acme:readers")) is Role.ADMIN
    assert identity_role(bindings, "dave", ("acme:readers",)) is Role.VIEWER
    assert identity_role(bindings, "bob", ()) is None


def test_a_plan_whose_tenants_fences_agree_keeps_its_name_and_differing_tenants_get_their_own() -> None:
    baseline = replace(BARE, name="x")
    restricted = replace(BARE, name="x", pod_security=PodSecurityLevel.RESTRICTED)
    unused = Plan(name="unused")
    plans, names = effective_catalog(
        (RICH, BARE, unused),
        {"blue": ("rich", replace(RICH, quota=Quota())), "green": ("bare", baseline), "red": ("bare", restricted)},
    )
    assert names == {"blue": "rich", "green": "bare@green", "red": "bare@red"}
    assert plans == (
        replace(RICH, quota=Quota()),
        replace(baseline, name="bare@green"),
        replace(restricted, name="bare@red"),
        unused,
    )
