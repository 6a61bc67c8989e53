"""Escalation attempts and attempts on what the provider made, as probes (real request + review attributes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.rbac.access import ABSENT, Probe
from provisioning.model.fences import NamespaceFences
from provisioning.model.onboarding import RUN_ID
from provisioning.model.tenancy import Identity, Tenant

RBAC = "/apis/rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
DRY = {"dryRun": "All"}


@dataclass(frozen=True)
class Context:
    identity: Identity
    own: Tenant
    other: Tenant


def _binding(kind: str, namespace: str, role: str, group: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "caas-escalation"}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
    }


def _attrs(verb: str, resource: str, namespace: str = "", group: str = "", **more: str) -> dict[str, str]:
    return {"verb": verb, "resource": resource, "namespace": namespace, "group": group, **more}


def _probe(c: Context, column: str, attributes: Mapping[str, str], method: str, path: str, **kw: Any) -> Probe:
    return Probe(c.identity.user, c.identity.user, column, attributes, method, path, **kw)


def _members(c: Context) -> str:
    """The identity's own tenant-members group, as the API server names it (e.g. `oidc:blue:members`)."""
    return c.identity.groups[-1]


def bind_cluster_admin_in_namespace(c: Context, column: str) -> Probe:
    ns = c.own.namespace
    body = _binding("RoleBinding", ns, "cluster-admin", _members(c))
    attrs = _attrs("bind", "clusterroles", ns, RBAC_GROUP, name="cluster-admin")
    return _probe(c, column, attrs, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", body=body, query=DRY)


def bind_cluster_admin_cluster_wide(c: Context, column: str) -> Probe:
    body = _binding("ClusterRoleBinding", "", "cluster-admin", _members(c))
    attrs = _attrs("create", "clusterrolebindings", "", RBAC_GROUP)
    return _probe(c, column, attrs, "POST", f"{RBAC}/clusterrolebindings", body=body, query=DRY)


def escalate_role(c: Context, column: str) -> Probe:
    ns = c.own.namespace
    body = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role",
        "metadata": {"name": "caas-escalation", "namespace": ns},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    attrs = _attrs("escalate", "roles", ns, RBAC_GROUP)
    return _probe(c, column, attrs, "POST", f"{RBAC}/namespaces/{ns}/roles", body=body, query=DRY)


def impersonate_user(c: Context, column: str) -> Probe:
    victim = f"{c.other.name}-admin"
    attrs = _attrs("impersonate", "users", name=victim)
    path = f"/api/v1/namespaces/{c.other.namespace}/pods"
    return _probe(c, column, attrs, "GET", path, query={"limit": "1"}, headers={"Impersonate-User": victim})


def impersonate_group(c: Context, column: str) -> Probe:
    attrs = _attrs("impersonate", "groups", name="system:masters")
    headers = {"Impersonate-User": c.identity.user, "Impersonate-Group": "system:masters"}
    return _probe(c, column, attrs, "GET", "/api/v1/nodes", query={"limit": "1"}, headers=headers)


def impersonate_service_account(c: Context, column: str) -> Probe:
    ns = c.other.namespace
    attrs = _attrs("impersonate", "serviceaccounts", ns, name="default")
    headers = {"Impersonate-User": f"system:serviceaccount:{ns}:default"}
    return _probe(c, column, attrs, "GET", f"/api/v1/namespaces/{ns}/pods", query={"limit": "1"}, headers=headers)


def impersonate_uid(c: Context, column: str) -> Probe:
    victim = f"{c.other.name}-admin"
    uid = f"uid-of-{victim}"
    attrs = _attrs("impersonate", "uids", group="authentication.k8s.io", name=uid)
    path = f"/api/v1/namespaces/{c.other.namespace}/pods"
    headers = {"Impersonate-User": victim, "Impersonate-Uid": uid}
    return _probe(c, column, attrs, "GET", path, query={"limit": "1"}, headers=headers)


def impersonate_extra(c: Context, column: str) -> Probe:
    attrs = _attrs("impersonate", "userextras", group="authentication.k8s.io", subresource="scopes", name="admin")
    headers = {"Impersonate-User": c.identity.user, "Impersonate-Extra-Scopes": "admin"}
    return _probe(c, column, attrs, "GET", "/api/v1/nodes", query={"limit": "1"}, headers=headers)


def mint_token(c: Context, column: str) -> Probe:
    ns = c.other.namespace
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": []}}
    attrs = _attrs("create", "serviceaccounts", ns, subresource="token", name="default")
    path = f"/api/v1/namespaces/{ns}/serviceaccounts/default/token"
    return _probe(c, column, attrs, "POST", path, body=body, query=DRY)


def approve_csr(c: Context, column: str) -> Probe:
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": ABSENT}}
    attrs = _attrs("update", "certificatesigningrequests", "", "certificates.k8s.io", subresource="approval")
    path = f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{ABSENT}/approval"
    return _probe(c, column, attrs, "PUT", path, body=body, query=DRY)


def node_proxy(c: Context, column: str) -> Probe:
    attrs = _attrs("get", "nodes", subresource="proxy", name=ABSENT)
    return _probe(c, column, attrs, "GET", f"/api/v1/nodes/{ABSENT}/proxy/healthz")


def exec_other_tenant(c: Context, column: str) -> Probe:
    ns = c.other.namespace
    attrs = _attrs("create", "pods", ns, subresource="exec", name=ABSENT)
    path = f"/api/v1/namespaces/{ns}/pods/{ABSENT}/exec"
    return _probe(c, column, attrs, "POST", path, query={"command": "true", "stdout": "true"})


ESCALATIONS: dict[str, Callable[[Context, str], Probe]] = {
    "bind cluster-admin in its namespace": bind_cluster_admin_in_namespace,
    "bind cluster-admin cluster-wide": bind_cluster_admin_cluster_wide,
    "escalate a role beyond its own": escalate_role,
    "impersonate another tenant's admin": impersonate_user,
    "impersonate the system:masters group": impersonate_group,
    "act as another tenant's service account": impersonate_service_account,
    "impersonate another tenant admin's uid": impersonate_uid,
    "impersonate a user extra": impersonate_extra,
    "mint a token for another tenant's service account": mint_token,
    "approve certificate signing requests": approve_csr,
    "proxy to a node's kubelet": node_proxy,
    "exec into another tenant's pod": exec_other_tenant,
}

# What the suite's onboarding makes in the tenant's namespace: kind path, object name, API group. Under
# `onboarding: existing` the names are the provider's own, read from its fences (`provider_object_names`).
PROVIDER_OBJECTS = {
    "the provider's role bindings": (f"{RBAC}/namespaces/{{ns}}/rolebindings", "tenant-admins", RBAC_GROUP),
    "the provider's network policies": (
        "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
        "default-deny",
        "networking.k8s.io",
    ),
    "the provider's resource quota": ("/api/v1/namespaces/{ns}/resourcequotas", "tenant-quota", ""),
    "the provider's limit range": ("/api/v1/namespaces/{ns}/limitranges", "tenant-limits", ""),
    "its namespace's pod-security labels": ("/api/v1/namespaces", "{ns}", ""),
    "its namespace": ("/api/v1/namespaces", "{ns}", ""),
}


# the fence kind (NamespaceFences field) of each provider object the attempts name
_FENCE_KINDS = {
    "the provider's role bindings": "role_bindings",
    "the provider's network policies": "network_policies",
    "the provider's resource quota": "resource_quotas",
    "the provider's limit range": "limit_ranges",
}


def provider_object_names(fences: NamespaceFences) -> dict[str, str]:
    """`onboarding: existing`: attempt (a PROVIDER_OBJECTS key) -> the name of the provider's object it
    changes, the first by name of that kind in `fences` that carries no run label (the checks' own
    objects in the namespace are not the provider's); the namespace's own attempts name the namespace. An
    attempt whose kind the provider made none of is absent: there is nothing of the provider's to change
    (pure)."""
    names = {what: "{ns}" for what, (_path, name, _group) in PROVIDER_OBJECTS.items() if name == "{ns}"}
    for what, kind in _FENCE_KINDS.items():
        made = sorted(
            item["metadata"]["name"]
            for item in getattr(fences, kind)
            if RUN_ID not in (item["metadata"].get("labels") or {})
        )
        if made:
            names[what] = made[0]
    return names


def change_provider_object(c: Context, what: str, action: str, name: str = "") -> Probe:
    """Patch (relabel) or delete, dry-run, an object the provider's onboarding made in the tenant's
    namespace: `name` (the column then names it: a provider's names differ per tenant), or the suite's
    onboarding's name of it (PROVIDER_OBJECTS; KeyError for an unknown `what`). With `name`, any
    admission refusal of the attempt counts as the provider's fence (`Probe.admission_fences`)."""
    collection, default, group = PROVIDER_OBJECTS[what]
    ns = c.own.namespace
    column = f"{action} {what}" + (f" ({name.format(ns=ns)})" if name else "")
    fences = bool(name)  # the provider's own object (onboarding: existing): any admission refusal is its fence
    name = (name or default).format(ns=ns)
    path = f"{collection.format(ns=ns)}/{name}"
    resource = collection.rsplit("/", 1)[1]
    verb = "patch" if action == "change" else "delete"
    attrs = _attrs(verb, resource, ns, group, name=name)
    if action == "change":
        patch = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged", "changed-by": "tenant"}}}
        return _probe(
            c,
            column,
            attrs,
            "PATCH",
            path,
            body=patch,
            query=DRY,
            content_type="application/merge-patch+json",
            admission_fences=fences,
        )
    return _probe(c, column, attrs, "DELETE", path, query=DRY, admission_fences=fences)
