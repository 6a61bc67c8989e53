"""The product's broker set up once for its federation checks (check_rbac_012, check_rbac_013): each
tenant's IdP with the users the checks log in, and the API server's view of a brokered token.

`federate_product` makes, at each tenant's IdP, CRAFTED_LOGIN in every crafted group
(checks.rbac.federation.crafted_per_tenant) and DEVELOPER_LOGIN in the IdP's groups named like the
tenant's developer identity's own (`developers`, `members`: the API server names them
`oidc:<tenant>:developers`, as provisioning.model.tenancy.role_group does), and makes the product's clusters
trust the broker, each for the users of the tenants it serves only. It does so through the IdentityBroker
(provisioning.backends.services) that the product's `broker.issuer` names
(provisioning.backends.product_services.identity_broker: the lab's Keycloak for `issuer: lab`); the engine
never names the lab. A setup that fails is kept as its message: every check's cells are then ERROR, never a
denial."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InfrastructureError
from harness.settings import Settings
from harness.targets_broker import BrokerSpec
from harness.wait import wait_until
from provisioning.backends import product_services
from provisioning.backends.services import BrokeredIdps
from provisioning.kube import client as kube
from provisioning.model.mutations import Mutation
from provisioning.model.tenancy import CERTIFICATE_ONLY, Identity, Role
from provisioning.tenancy import ProvisionedTenancy

CRAFTED_LOGIN = "crafted"  # the user at each tenant's IdP named in every crafted group
DEVELOPER_LOGIN = "developer"  # the user at each tenant's IdP in the developer identity's groups
JOINER_LOGIN = "joiner"  # the user at each tenant's IdP in no group until check_rbac_015 gives it one
ACCEPTED = 120.0  # seconds until the API server takes the broker's tokens (it reloads its file: 10 s measured)


@dataclass(frozen=True)
class Federated:
    """The product's broker (`spec`), each tenant's crafted group names, and the federation, or why none."""

    spec: BrokerSpec
    crafted: Mapping[str, tuple[str, ...]]
    federation: BrokeredIdps | None = field(default=None, repr=False)
    error: str = ""

    def id_token(self, tenant: str, login: str) -> str:
        """A brokered ID token of `login` at `tenant`'s IdP; InfrastructureError when there is no
        federation (its setup's message) or the login fails."""
        if self.federation is None:
            raise InfrastructureError(f"the broker was not set up: {self.error}")
        return self.federation.id_token(tenant, login)

    def membership(self, tenant: str, login: str, groups: Iterable[str], *, add: bool) -> None:
        """Give (add) or take `groups` to `login` at `tenant`'s IdP (BrokeredIdps.membership);
        InfrastructureError when there is no federation."""
        if self.federation is None:
            raise InfrastructureError(f"the broker was not set up: {self.error}")
        self.federation.membership(tenant, login, groups, add=add)


def federate_product(
    tenancy: ProvisionedTenancy, settings: Settings, crafted: Mapping[str, tuple[str, ...]]
) -> Federated:
    """Set up the product's broker for it (see the module); `crafted`: tenant -> its crafted names."""
    spec = settings.targets.product_spec(tenancy.product.name).broker
    assert spec is not None, "federate_product needs a product with a broker (@needs_identity_broker)"
    users = {
        tenant: {CRAFTED_LOGIN: names, DEVELOPER_LOGIN: developer_groups(tenancy, tenant), JOINER_LOGIN: ()}
        for tenant, names in crafted.items()
    }
    broker = product_services.identity_broker(spec.issuer, settings.lab_home)
    clusters = [(c.handle.name, [t.name for t in c.tenants]) for c in tenancy.clusters]
    unprefixed = settings.mutation is Mutation.BROKER_UNPREFIXED
    try:
        federation = broker.federate(
            ((idp.tenant, idp.protocol) for idp in spec.idps), users, clusters, tenant_prefix=not unprefixed
        )
        return Federated(spec, crafted, federation)
    except Exception as exc:  # any failure to set it up is ERROR for every cell, with its message
        return Federated(spec, crafted, error=f"{type(exc).__name__}: {exc}")


def developer(tenancy: ProvisionedTenancy, tenant: str) -> Identity:
    """The tenant's developer identity with its own credentials (a certificate)."""
    model = next(t for t in tenancy.cluster_of(tenant).tenants if t.name == tenant)
    return next(i for i in model.identities_for(CERTIFICATE_ONLY) if i.role is Role.DEVELOPER)


def developer_groups(tenancy: ProvisionedTenancy, tenant: str) -> tuple[str, ...]:
    """The developer identity's groups as the tenant's IdP names them: without `<tenant>:`."""
    return tuple(group.removeprefix(f"{tenant}:") for group in developer(tenancy, tenant).claimed_groups)


def brokered_client(tenancy: ProvisionedTenancy, tenant: str, token: str) -> Any:
    """A fresh ApiClient with `token` on `tenant`'s cluster."""
    provisioned = tenancy.cluster_of(tenant)
    return kube.api_client(kube.Cluster(provisioned.handle.server, provisioned.handle.ca_pem), token=token, timeout=10)


def reviewer(tenancy: ProvisionedTenancy, tenant: str) -> Callable[[str], Mapping[str, Any]]:
    """token -> the SelfSubjectReview's user on `tenant`'s cluster, once the API server accepts the token
    (it reloads its authentication file by itself); WaitTimeout after ACCEPTED seconds of 401."""

    def who(token: str) -> Mapping[str, Any]:
        api = brokered_client(tenancy, tenant, token)
        try:
            return kube.who_am_i(api)
        finally:
            api.close()

    name = tenancy.cluster_of(tenant).handle.name

    def accepted(token: str) -> Mapping[str, Any]:
        return wait_until(
            lambda: who(token),
            bool,
            timeout=ACCEPTED,
            what=f"the API server of {name} to accept the broker's token for {tenant}",
            retry_on=(kube.ApiFailure,),
        )

    return accepted
