"""What onboarding a tenant onto a shared cluster creates, the way a provider would (pure).

A namespace labelled with the tenant and its plan's pod-security level; bindings of
the tenant's groups to admin/edit/view inside that namespace only; a default-deny
NetworkPolicy plus allow-same-tenant, allow-dns (to the cluster's DNS endpoints only) and, where the
plan says so, allow-control-plane (to the API server's endpoints only); a ResourceQuota and
LimitRange from the plan. On ABAC clusters the tenant's policy lines take the bindings' place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.model.mutations import Mutation, over_blocking, provider_mistakes
from provisioning.model.tenancy import (
    CERTIFICATE_ONLY,
    SERVICE_TYPES,
    Authenticator,
    AuthorizationMode,
    Plan,
    PodSecurityLevel,
    Role,
    Tenant,
    role_group,
)

LABEL_PREFIX = "caas-conformance.io"
RUN_ID = f"{LABEL_PREFIX}/run-id"
TENANT = f"{LABEL_PREFIX}/tenant"
MANAGED_BY = f"{LABEL_PREFIX}/managed-by"
COMPONENT = f"{LABEL_PREFIX}/component"  # "onboarding" on what the provider's onboarding created
PSA_VERSION = "v1.34"
API_SERVER_PORT = 6443  # where the API server listens behind the kubernetes Service (after DNAT)

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ServiceEndpoints:
    """Where a cluster Service's traffic really goes, as onboarding's egress rules name it: the pods its
    selector picks in its namespace (`selector`), or, for a Service without selector (the API server's
    `kubernetes`, a DNS outside the pod network), its endpoint `addresses`; and the endpoints' ports as
    (protocol, port) after address translation. Empty: unknown, and onboarding opens nothing to it."""

    namespace: str = ""
    selector: Mapping[str, str] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()
    ports: tuple[tuple[str, int], ...] = ()

    def egress_rules(self) -> list[Manifest]:
        """One NetworkPolicy egress rule to these endpoints only, or none when they are unknown: a rule
        without `to` would open its ports towards every address (CVE-2020-8554's captured traffic, another
        tenant's pods on the same port)."""
        if self.selector:
            peers: list[Manifest] = [
                {
                    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: self.namespace}},
                    "podSelector": {"matchLabels": dict(self.selector)},
                }
            ]
        else:
            peers = [{"ipBlock": {"cidr": str(ipaddress.ip_network(a))}} for a in self.addresses]
        if not peers or not self.ports:
            return []
        return [{"to": peers, "ports": [{"protocol": protocol, "port": port} for protocol, port in self.ports]}]


@dataclass(frozen=True)
class ClusterDestinations:
    """What onboarding's egress exceptions lead to on one cluster, read from it before onboarding
    (provisioning/cluster_destinations.py): the cluster DNS and the API server."""

    dns: ServiceEndpoints = field(default_factory=ServiceEndpoints)
    api_server: ServiceEndpoints = field(default_factory=ServiceEndpoints)


NAMESPACE_NAME = "kubernetes.io/metadata.name"  # the label the API server sets on every namespace (1.22+)
DNS_PORTS = (("UDP", 53), ("TCP", 53))  # what the dns-egress-anywhere mutation opens, as onboarding did


def labels(run_id: str, tenant: str) -> dict[str, str]:
    return {RUN_ID: run_id, TENANT: tenant, MANAGED_BY: "caas-conformance"}


def tenant_manifests(
    tenant: Tenant,
    plan: Plan,
    run_id: str,
    mutation: Mutation | None = None,
    authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY,
    destinations: ClusterDestinations | None = None,
) -> list[Manifest]:
    """Every object a tenant's onboarding creates, namespace first (creation order); the role bindings
    name the tenant's groups under each of the cluster's `authenticators`; the egress exceptions lead to
    the cluster's `destinations` only (none known: they open nothing); a `mutation` removes or weakens one
    fence on purpose (see provisioning/model/mutations.py)."""
    manifests = _tenant_manifests(tenant, plan, run_id, authenticators, destinations or ClusterDestinations())
    if mutation is Mutation.DNS_EGRESS_ANYWHERE:  # the ports without destinations, as onboarding once had it
        for manifest in manifests:
            if manifest["metadata"]["name"] == "allow-dns":
                manifest["spec"]["egress"] = [{"ports": [{"protocol": p, "port": n} for p, n in DNS_PORTS]}]
            if manifest["metadata"]["name"] == "allow-control-plane":
                manifest["spec"]["egress"] = [{"ports": [{"protocol": "TCP", "port": API_SERVER_PORT}]}]
    if mutation is Mutation.NETWORK_POLICIES:
        return [m for m in manifests if m["kind"] != "NetworkPolicy"]
    manifests = over_blocking(mutation, manifests)
    if mutation is Mutation.POD_SECURITY:
        ns_labels = manifests[0]["metadata"]["labels"]
        manifests[0]["metadata"]["labels"] = {k: v for k, v in ns_labels.items() if not k.startswith("pod-security")}
    if mutation is Mutation.POD_SECURITY_BASELINE and plan.pod_security is PodSecurityLevel.RESTRICTED:
        manifests[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = PodSecurityLevel.BASELINE.value
    if mutation is Mutation.QUOTA:
        return [m for m in manifests if m["kind"] not in ("ResourceQuota", "LimitRange")]
    if plan.authorization is AuthorizationMode.RBAC:
        manifests += provider_mistakes(mutation, tenant, labels(run_id, tenant.name), authenticators)
    if mutation is Mutation.CLUSTER_ADMIN and plan.authorization is AuthorizationMode.RBAC:
        manifests.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"mutation-{tenant.name}-cluster-admin", "labels": labels(run_id, tenant.name)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": _group_subjects(tenant, Role.ADMIN, authenticators),
            }
        )
    return manifests


def _group_subjects(tenant: Tenant, role: Role, authenticators: tuple[Authenticator, ...]) -> list[dict[str, str]]:
    return [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": role_group(tenant.name, role, a)}
        for a in authenticators
    ]


def _tenant_manifests(
    tenant: Tenant,
    plan: Plan,
    run_id: str,
    authenticators: tuple[Authenticator, ...],
    destinations: ClusterDestinations,
) -> list[Manifest]:
    ns = tenant.namespace
    common = {**labels(run_id, tenant.name), COMPONENT: "onboarding"}

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": ns, "labels": common}

    level = plan.pod_security.value
    manifests: list[Manifest] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {
                    **common,
                    "pod-security.kubernetes.io/enforce": level,
                    "pod-security.kubernetes.io/enforce-version": PSA_VERSION,
                    "pod-security.kubernetes.io/warn": level,
                    "pod-security.kubernetes.io/audit": level,
                },
            },
        }
    ]
    if plan.authorization is AuthorizationMode.RBAC:
        for role in Role:
            manifests.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": meta(f"tenant-{role.value}s"),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": role.cluster_role,
                    },
                    "subjects": _group_subjects(tenant, role, authenticators),
                }
            )
    manifests += [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("allow-same-tenant"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("allow-dns"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": destinations.dns.egress_rules(),
            },
        },
    ]
    if plan.control_plane_egress:
        manifests.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": meta("allow-control-plane"),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": destinations.api_server.egress_rules(),
                },
            }
        )
    if plan.quota.hard:
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": meta("tenant-quota"),
                "spec": {"hard": dict(plan.quota.hard)},
            }
        )
    if plan.quota.default_limits or plan.quota.default_requests:
        limit: dict[str, Any] = {"type": "Container"}
        if plan.quota.default_limits:
            limit["default"] = dict(plan.quota.default_limits)
        if plan.quota.default_requests:
            limit["defaultRequest"] = dict(plan.quota.default_requests)
        manifests.append(
            {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta("tenant-limits"), "spec": {"limits": [limit]}}
        )
    return manifests


def abac_policy_lines(
    tenant: Tenant, authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY
) -> list[dict[str, object]]:
    """The tenant's ABAC lines: ABAC knows no verbs beyond read-only, so developers get what admins get."""
    everything: dict[str, object] = {"namespace": tenant.namespace, "resource": "*", "apiGroup": "*"}
    return [
        line
        for a in authenticators
        for line in (
            {"group": role_group(tenant.name, Role.ADMIN, a), **everything},
            {"group": role_group(tenant.name, Role.DEVELOPER, a), **everything},
            {"group": role_group(tenant.name, Role.VIEWER, a), **everything, "readonly": True},
        )
    ]


_PLURALS = {
    "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
    "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    "Namespace": "namespaces",
    "RoleBinding": "rolebindings",
    "NetworkPolicy": "networkpolicies",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "Pod": "pods",
    "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "ClusterRoleBinding": "clusterrolebindings",
    "ClusterRole": "clusterroles",
}


def collection_path(manifest: Manifest) -> str:
    """The REST path that creates `manifest` (POST)."""
    api_version = manifest["apiVersion"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    plural = _PLURALS[manifest["kind"]]
    namespace = manifest["metadata"].get("namespace")
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def object_path(manifest: Manifest) -> str:
    return f"{collection_path(manifest)}/{manifest['metadata']['name']}"


PROTECTION = "caas-protect-onboarding"  # name prefix of the admission policy that guards onboarding's objects
PROTECTED_GROUP = "caas-conformance.io"  # a virtual resource: only those granted it (cluster admins) pass
PROTECTED_RESOURCE = "onboarding"
_ADMISSION = "admissionregistration.k8s.io/v1"
_IS_ONBOARDING = (
    "has({o}.metadata.labels) && '" + COMPONENT + "' in {o}.metadata.labels"
    " && {o}.metadata.labels['" + COMPONENT + "'] == 'onboarding'"
)


def protection_manifests(run_id: str, mutation: Mutation | None = None) -> list[Manifest]:
    """The cluster-wide admission policy that keeps what onboarding made out of the tenants' reach.

    RBAC cannot do this: a tenant bound to `admin` or `edit` in its namespace may change or delete
    any RoleBinding, NetworkPolicy, ResourceQuota or LimitRange there, including the provider's.
    The policy refuses creating, changing or deleting an object labelled `component=onboarding`
    unless the requester is authorized for the virtual resource `onboarding.caas-conformance.io`,
    which only cluster-wide roles grant (cluster admins; the namespace and garbage collectors,
    which may delete or update anything). Tenants' namespace roles never grant it.
    """
    if mutation is Mutation.ONBOARDING_PROTECTION:
        return []
    name = f"{PROTECTION}-{run_id}"
    meta = {"name": name, "labels": {RUN_ID: run_id, MANAGED_BY: "caas-conformance"}}
    verb = "request.operation == 'DELETE' ? 'delete' : request.operation == 'CREATE' ? 'create' : 'update'"
    return [
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": meta,
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["", "rbac.authorization.k8s.io", "networking.k8s.io"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE", "DELETE"],
                            "resources": [
                                "namespaces",
                                "rolebindings",
                                "networkpolicies",
                                "resourcequotas",
                                "limitranges",
                            ],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "made-by-onboarding",
                        "expression": f"(object != null && {_IS_ONBOARDING.format(o='object')})"
                        f" || (oldObject != null && {_IS_ONBOARDING.format(o='oldObject')})",
                    }
                ],
                "validations": [
                    {
                        "expression": f"authorizer.group('{PROTECTED_GROUP}').resource('{PROTECTED_RESOURCE}')"
                        f".check({verb}).allowed()",
                        "messageExpression": '"the provider\'s onboarding made this object; "'
                        " + request.userInfo.username + ' may not ' + request.operation.lowerAscii() + ' it'",
                        "reason": "Forbidden",
                    }
                ],
            },
        },
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": meta,
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        },
    ]


SERVICE_TYPES_POLICY = "caas-service-types"  # name prefix of the admission policy of a plan's Service types


def service_type_manifests(tenant: Tenant, plan: Plan, run_id: str) -> list[Manifest]:
    """The admission policy that holds a tenant to its plan's Service types (none where the plan allows
    every type): creating or changing a Service of another type in the tenant's namespace is refused.
    Kubernetes has no per-namespace switch for Service types; a ValidatingAdmissionPolicy (GA in 1.30)
    bound to the tenant's namespace by its labels is the provider's means."""
    if set(SERVICE_TYPES) <= set(plan.service_types):
        return []
    name = f"{SERVICE_TYPES_POLICY}-{tenant.name}-{run_id}"
    meta = {"name": name, "labels": labels(run_id, tenant.name)}
    allowed = ", ".join(f"'{t}'" for t in plan.service_types)
    return [
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": meta,
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["services"],
                        }
                    ],
                    "namespaceSelector": {"matchLabels": {TENANT: tenant.name, RUN_ID: run_id}},
                },
                "validations": [
                    {
                        "expression": f"!has(object.spec.type) || object.spec.type in [{allowed}]",
                        "messageExpression": f"'plan {plan.name} allows Services of type "
                        f"{', '.join(plan.service_types)} only, not ' + object.spec.type",
                        "reason": "Forbidden",
                    }
                ],
            },
        },
        {
            "apiVersion": _ADMISSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": meta,
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        },
    ]


def onboarding_objects(
    tenant: Tenant, plan: Plan, authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY
) -> frozenset[tuple[str, str]]:
    """(kind, name) of every object onboarding creates for `tenant` on `plan`, exactly as
    `tenant_manifests` makes them (no mutation): what the plan promises, e.g. a ResourceQuota only
    where the plan sets quotas, a LimitRange only where it sets defaults."""
    return frozenset(
        (m["kind"], m["metadata"]["name"]) for m in tenant_manifests(tenant, plan, "", None, authenticators)
    )
