"""A product's identity broker, as the targets file names it (`broker:` per product; issue #24).

A broker vouches for the users of each tenant's own IdP; the product's API server names each group a
tenant's IdP gives its users after `groups`, a template with `{tenant}` (the broker's word for the
tenant, never the IdP's) and `{group}` (the IdP's group name):

    broker:
      issuer: lab                         # the lab's Keycloak (provisioning/lab/keycloak.py)
      groups: "oidc:{tenant}:{group}"     # the default
      idps:
        - {tenant: blue, protocol: oidc}  # the tenant's IdP speaks OpenID Connect ...
        - {tenant: green, protocol: saml} # ... or SAML 2.0

The federation checks log in users of the tenants' IdPs, so the suite makes those users: only the lab's
broker (`issuer: lab`, on a `pks` lab product, whose API server trusts it) can be driven so far. No
secret is written here: the lab's IdPs' users get passwords made for the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from harness.errors import ConfigError
from provisioning.fields import DnsName, Spec, one_of

if TYPE_CHECKING:
    from harness.targets import TargetsSpec

LAB_ISSUER = "lab"
PROTOCOLS = ("oidc", "saml")
DEFAULT_GROUPS = "oidc:{tenant}:{group}"  # provisioning.lab.keycloak_realms.jwt_authenticator's mapping


def _groups_template(value: str) -> str:
    rest = value.replace("{tenant}", "", 1).replace("{group}", "", 1)
    if "{tenant}" not in value or "{group}" not in value or "{" in rest or "}" in rest:
        raise ValueError(
            f'"{value}" is not a group template with {{tenant}} and {{group}} once each '
            '(write e.g. "oidc:{tenant}:{group}")'
        )
    return value


class BrokerIdpSpec(Spec):
    """One tenant's own IdP, federated into the broker."""

    tenant: DnsName
    protocol: Annotated[str, AfterValidator(one_of("IdP protocol", PROTOCOLS))] = "oidc"


class BrokerSpec(Spec):
    """The product's identity broker: where it is, how the API server names brokered groups, and the
    tenants' IdPs."""

    issuer: str = Field(min_length=1)  # "lab"; other brokers cannot be driven yet (broker_problems)
    groups: Annotated[str, AfterValidator(_groups_template)] = DEFAULT_GROUPS
    idps: list[BrokerIdpSpec] = Field(min_length=1)

    def group_name(self, tenant: str, group: str) -> str:
        """What the API server calls `group` of `tenant`'s IdP, after `groups`."""
        return self.groups.replace("{tenant}", tenant).replace("{group}", group)


def broker_problems(spec: TargetsSpec, label: str) -> Iterator[ConfigError]:
    """One ConfigError per broker the run could not drive: an issuer other than the lab's, the lab's
    broker on a product other than a `pks` lab product, an IdP for a tenant the product's tenancy does
    not name, a tenant with two IdPs."""
    tenants = {t.product: {tenant.name for tenant in t.tenants} for t in spec.tenancy}
    for i, product in enumerate(spec.products):
        broker = product.broker
        if broker is None:
            continue
        where = f"products[{i}].broker"
        if broker.issuer != LAB_ISSUER:
            yield ConfigError(
                label,
                f"{where}.issuer",
                f'the suite cannot make users at the IdPs of broker "{broker.issuer}" yet '
                "(fix: issuer: lab on a lab product, or remove broker:)",
            )
        elif product.backend != "lab" or (product.lab is not None and product.lab.profile != "pks"):
            yield ConfigError(
                label,
                f"{where}.issuer",
                "the lab's broker is trusted by the lab's pks clusters only "
                "(fix: backend: lab with lab: {profile: pks}, or remove broker:)",
            )
        seen: set[str] = set()
        for j, idp in enumerate(broker.idps):
            if idp.tenant not in tenants.get(product.name, set()):
                yield ConfigError(
                    label,
                    f"{where}.idps[{j}].tenant",
                    f'"{idp.tenant}" is no tenant of product {product.name} (fix: name a tenant of its tenancy)',
                )
            if idp.tenant in seen:
                yield ConfigError(
                    label, f"{where}.idps[{j}].tenant", f'tenant "{idp.tenant}" has one IdP (fix: remove the second)'
                )
            seen.add(idp.tenant)
