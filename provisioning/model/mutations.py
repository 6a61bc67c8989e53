"""Mutations: onboarding with one fence removed or weakened on purpose, or with one provider mistake
added, to show that the checks depending on it then fail (a check that still passes proves nothing
about that fence)."""

from __future__ import annotations

import enum
from typing import Any

from provisioning.model.pss import Control
from provisioning.model.tenancy import Authenticator, PodSecurityLevel, Role, Tenant, role_group

RBAC_GROUP = "rbac.authorization.k8s.io"


class Mutation(enum.StrEnum):
    NETWORK_POLICIES = "network-policies"  # no default-deny, allow-same-tenant, allow-dns, allow-control-plane
    POD_SECURITY = "pod-security"  # namespaces without pod-security labels
    QUOTA = "quota"  # no ResourceQuota, no LimitRange
    CLUSTER_ADMIN = "cluster-admin"  # tenant admins bound to cluster-admin cluster-wide
    ONBOARDING_PROTECTION = "onboarding-protection"  # no admission policy guarding onboarding's objects
    # Provider mistakes (issue 19): a grant onboarding adds that reaches past the tenant's namespace.
    PROVIDER_NAMESPACES = "provider-namespaces"  # tenant viewers may list and watch secrets in every namespace
    EXEC_WITH_GET = "exec-with-get"  # tenant admins hold get on pods/exec, attach, portforward cluster-wide
    SERVICE_ACCOUNTS = "service-accounts"  # an add-on binds view cluster-wide to every service account
    NON_RESOURCE = "non-resource"  # tenant viewers may read the API server's metrics, logs and debug handlers
    # Network mistakes (issue 20): what a tenant reaches, or captures, past its namespace.
    DNS_EGRESS_ANYWHERE = "dns-egress-anywhere"  # allow-dns and allow-control-plane name ports, no destination
    EXTERNAL_IPS_ADMITTED = "external-ips-admitted"  # the API server runs without DenyServiceExternalIPs (lab)
    # Pod security one level too weak (issue 21): restricted plans' namespaces enforce baseline.
    POD_SECURITY_BASELINE = "pod-security-baseline"
    # Over-blocking (issue 25): a fence that takes away what the tenant must keep.
    SAME_TENANT_UDP_SCOPED = "same-tenant-udp-scoped"  # UDP within the tenant among pods app=a only
    # Federation (issue 24): the broker's groups reach the API server without the per-customer prefix.
    BROKER_UNPREFIXED = "broker-unprefixed"  # groups oidc:<group>, the tenant dropped


# The checks each mutation must turn red: deny checks that depend on the removed fence.
MUST_FAIL: dict[Mutation, tuple[str, ...]] = {
    Mutation.NETWORK_POLICIES: ("check_network_001", "check_network_003", "check_network_004", "check_network_007"),
    Mutation.POD_SECURITY: ("check_privileged_001", "check_privileged_003"),
    Mutation.QUOTA: ("check_privileged_005", "check_privileged_007", "check_storage_005"),
    Mutation.CLUSTER_ADMIN: (
        "check_privileged_004",
        "check_storage_003",
        "check_rbac_001",
        "check_rbac_002",
        "check_rbac_003",
    ),
    Mutation.ONBOARDING_PROTECTION: ("check_rbac_004",),
    Mutation.PROVIDER_NAMESPACES: ("check_rbac_007",),
    Mutation.EXEC_WITH_GET: ("check_rbac_008", "check_rbac_009"),
    Mutation.SERVICE_ACCOUNTS: ("check_rbac_010",),
    Mutation.NON_RESOURCE: ("check_rbac_011",),
    Mutation.DNS_EGRESS_ANYWHERE: ("check_network_001", "check_network_008"),
    Mutation.EXTERNAL_IPS_ADMITTED: ("check_network_008",),
    Mutation.POD_SECURITY_BASELINE: ("check_privileged_001",),
    Mutation.SAME_TENANT_UDP_SCOPED: ("check_network_005",),
    Mutation.BROKER_UNPREFIXED: ("check_rbac_012",),
}

# The plan x control table's rows each mutation must turn red, by Pod Security Standards control
# (comparison.json `pod_security_controls`); every other row stays as the plans imply.
RED_CONTROLS: dict[Mutation, frozenset[Control]] = {
    Mutation.POD_SECURITY_BASELINE: frozenset(c for c in Control if c.level is PodSecurityLevel.RESTRICTED),
}

SCOPED_APP = "a"  # the workload label the over-blocking allowance is scoped to (the probe pods a and b)


def over_blocking(mutation: Mutation | None, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Onboarding's `manifests` with the over-block of `mutation` (unchanged for other mutations).

    same-tenant-udp-scoped: allow-same-tenant admits TCP only, and a second policy lets UDP flow only
    among the tenant's pods labelled app=SCOPED_APP (a provider allowance scoped by a workload label),
    both ways: kube-router runs every rule of a policy of both types in the firewall chain of either end
    of a flow (an ingress rule admits what the egress rule refuses), so narrowing one direction alone
    narrows nothing on the lab.
    Pods a still reach their tenant's Service (in front of pods a) over UDP and every pod over TCP, so the
    pods b that cannot reach it over UDP are an over-block the positive controls let through as FAIL
    (check_network_005)."""
    if mutation is not Mutation.SAME_TENANT_UDP_SCOPED:
        return manifests
    result = []
    scoped_pods = {"podSelector": {"matchLabels": {"app": SCOPED_APP}}}
    for manifest in manifests:
        if manifest["kind"] == "NetworkPolicy" and manifest["metadata"]["name"] == "allow-same-tenant":
            tcp = {
                **manifest["spec"],
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}],
                "egress": [{"to": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}],
            }
            udp = {
                **scoped_pods,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [scoped_pods], "ports": [{"protocol": "UDP"}]}],
                "egress": [{"to": [scoped_pods], "ports": [{"protocol": "UDP"}]}],
            }
            scoped = {**manifest["metadata"], "name": "allow-same-tenant-udp-scoped"}
            result += [{**manifest, "spec": tcp}, {**manifest, "metadata": scoped, "spec": udp}]
        else:
            result.append(manifest)
    return result


def _subjects(tenant: Tenant, role: Role, authenticators: tuple[Authenticator, ...]) -> list[dict[str, str]]:
    return [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": role_group(tenant.name, role, a)} for a in authenticators]


def provider_mistakes(
    mutation: Mutation | None, tenant: Tenant, labels: dict[str, str], authenticators: tuple[Authenticator, ...]
) -> list[dict[str, Any]]:
    """The RBAC objects a provider mistake adds to `tenant`'s onboarding (none for other mutations):
    names carry the tenant, so every tenant of a cluster gets its own copy."""
    if mutation is Mutation.PROVIDER_NAMESPACES:  # an add-on's "read secrets to sync them", bound to viewers
        rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}
        return _cluster_wide(
            f"mutation-{tenant.name}-secrets-everywhere", rule, labels, tenant, Role.VIEWER, authenticators
        )
    if mutation is Mutation.EXEC_WITH_GET:  # a "read-only debugging" role for support, bound to admins
        rule = {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"], "verbs": ["get"]}
        return _cluster_wide(f"mutation-{tenant.name}-exec-with-get", rule, labels, tenant, Role.ADMIN, authenticators)
    if mutation is Mutation.SERVICE_ACCOUNTS:  # a monitoring add-on "lets workloads discover each other"
        name = f"mutation-{tenant.name}-service-accounts-view"
        return [
            {
                "apiVersion": f"{RBAC_GROUP}/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": labels},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
                "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:serviceaccounts"}],
            }
        ]
    if mutation is Mutation.NON_RESOURCE:  # "customers may watch the control plane's health in detail"
        rule = {"nonResourceURLs": ["/metrics", "/logs/*", "/debug/*"], "verbs": ["get"]}
        return _cluster_wide(
            f"mutation-{tenant.name}-control-plane-metrics", rule, labels, tenant, Role.VIEWER, authenticators
        )
    return []


def _cluster_wide(
    name: str,
    rule: dict[str, list[str]],
    labels: dict[str, str],
    tenant: Tenant,
    role: Role,
    authenticators: tuple[Authenticator, ...],
) -> list[dict[str, Any]]:
    """A ClusterRole of one `rule` and its ClusterRoleBinding to the tenant's `role` groups."""
    meta = {"name": name, "labels": labels}
    return [
        {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": [rule]},
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": _subjects(tenant, role, authenticators),
        },
    ]
