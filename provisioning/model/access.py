"""What each tenant identity should be able to do, from the tenancy model (pure).

The requirement is the RBAC onboarding of `provisioning.model.onboarding` on top of
the default cluster roles: each tenant's groups bound to admin, edit or view in its
own namespace and nowhere else. Products that authorize otherwise (ABAC) are held
to the same requirement; where they cannot meet it, the targets file says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from provisioning.model.default_roles import DEFAULT_CLUSTER_ROLES
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.rbac import AUTHENTICATED, RbacPolicy, Request
from provisioning.model.tenancy import CERTIFICATE_ONLY, Authenticator, AuthorizationMode, Identity, Product, Tenant


def required_policy(
    product: Product, tenants: Iterable[Tenant], authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY
) -> RbacPolicy:
    """The default cluster roles and the RoleBindings that RBAC onboarding creates for `tenants`,
    binding their groups under each of the cluster's `authenticators`."""
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
    return RbacPolicy.build(cluster_roles=DEFAULT_CLUSTER_ROLES, role_bindings=bindings)


def request_of(identity: Identity, verb: str, group: str, resource: str, namespace: str, name: str = "") -> Request:
    """The request an identity's credentials make (its groups plus system:authenticated)."""
    return Request(identity.user, (*identity.groups, AUTHENTICATED), verb, resource, namespace, group, name=name)
