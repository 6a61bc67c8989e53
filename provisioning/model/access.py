"""What each tenant identity should be able to do, from the tenancy model (pure).

The requirement is the RBAC onboarding of `provisioning.model.onboarding` on top of
the default cluster roles: each tenant's groups bound to admin, edit or view in its
own namespace and nowhere else. Products that authorize otherwise (ABAC) are held
to the same requirement; where they cannot meet it, the targets file says why.

Namespaces that belong to no tenant (`PROVIDER_NAMESPACES` and the product's own, named in the
targets file) are the provider's: tenants may do nothing there, except the public reads a product
documents (`PublicRead`, e.g. kubeadm's `cluster-info` ConfigMap in kube-public).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from provisioning.model.default_roles import DEFAULT_CLUSTER_ROLE_BINDINGS, DEFAULT_CLUSTER_ROLES
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.rbac import AUTHENTICATED, RbacPolicy, Request
from provisioning.model.tenancy import CERTIFICATE_ONLY, Authenticator, AuthorizationMode, Identity, Product, Tenant

# The namespaces every Kubernetes cluster has and no tenant owns (kubernetes.io: "Initial namespaces").
PROVIDER_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
ANONYMOUS = "system:anonymous"  # the user, and group, the API server makes of a request without credentials
UNAUTHENTICATED = "system:unauthenticated"
ALL_NAMESPACES = ""  # the namespace of an all-namespaces list or watch (and of cluster-scoped requests)
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class PublicRead:
    """A read a product documents as open to every authenticated user: `verbs` (get, list, watch) on
    `group`/`resource` in `namespace`, only on `names` if given (e.g. kube-public, configmaps, get,
    cluster-info)."""

    namespace: str
    resource: str
    verbs: tuple[str, ...]
    group: str = ""
    names: tuple[str, ...] = ()

    def manifests(self, index: int) -> list[dict[str, Any]]:
        """The Role and RoleBinding (to system:authenticated) that grant exactly this read."""
        name = f"caas-public-read-{index}"
        meta = {"name": name, "namespace": self.namespace}
        rule: dict[str, Any] = {"apiGroups": [self.group], "resources": [self.resource], "verbs": list(self.verbs)}
        if self.names:
            rule["resourceNames"] = list(self.names)
        role = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": meta, "rules": [rule]}
        binding = {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": AUTHENTICATED}],
        }
        return [role, binding]


def provider_namespaces(named: Iterable[str], existing: Iterable[str], tenant_namespaces: Iterable[str]) -> list[str]:
    """Every namespace that belongs to no tenant, sorted: the initial ones, the product's own (`named`
    in the targets file) and any other `existing` namespace of the cluster that no tenant owns."""
    tenants = set(tenant_namespaces)
    return sorted({*PROVIDER_NAMESPACES, *named, *existing} - tenants)


def required_policy(
    product: Product,
    tenants: Iterable[Tenant],
    authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY,
    public_reads: Sequence[PublicRead] = (),
    tenant_bindings: Sequence[Mapping[str, Any]] = (),
) -> RbacPolicy:
    """The default cluster roles and the RoleBindings that RBAC onboarding creates for `tenants`,
    binding their groups under each of the cluster's `authenticators`, plus the product's documented
    `public_reads` and the RoleBindings the tenants made themselves (`tenant_bindings`, e.g. a service
    account of theirs bound to view)."""
    bindings = [
        manifest
        for tenant in tenants
        for manifest in tenant_manifests(
            tenant,
            replace(product.plan(tenant.plan), authorization=AuthorizationMode.RBAC),
            run_id="model",
            authenticators=authenticators,
        )
        if manifest["kind"] == "RoleBinding"
    ]
    public = [m for index, read in enumerate(public_reads) for m in read.manifests(index)]
    return RbacPolicy.build(
        roles=[m for m in public if m["kind"] == "Role"],
        cluster_roles=DEFAULT_CLUSTER_ROLES,
        cluster_role_bindings=DEFAULT_CLUSTER_ROLE_BINDINGS,
        role_bindings=[*bindings, *(m for m in public if m["kind"] == "RoleBinding"), *tenant_bindings],
    )


def request_of(
    identity: Identity,
    verb: str,
    group: str,
    resource: str,
    namespace: str,
    name: str = "",
    subresource: str = "",
) -> Request:
    """The request an identity's credentials make (its groups plus system:authenticated)."""
    return Request(
        identity.user, (*identity.groups, AUTHENTICATED), verb, resource, namespace, group, subresource, name
    )


def service_account_request(
    user: str,
    groups: Sequence[str],
    verb: str,
    group: str,
    resource: str,
    namespace: str,
    name: str = "",
    subresource: str = "",
) -> Request:
    """The request a service account's token makes: `groups` as the caller gives them (the token's groups:
    system:serviceaccounts and system:serviceaccounts:<namespace>, which this function does not add) plus
    system:authenticated."""
    return Request(user, (*groups, AUTHENTICATED), verb, resource, namespace, group, subresource, name)


def non_resource_request(user: str, groups: Sequence[str], path: str, verb: str = "get") -> Request:
    """A non-resource request (e.g. get /metrics): an authenticated user's groups plus
    system:authenticated; the anonymous user's are system:unauthenticated only."""
    every = (UNAUTHENTICATED,) if user == ANONYMOUS else (*groups, AUTHENTICATED)
    return Request(user, every, verb, path=path)
