"""The lab's identity broker for a run (targets `broker: {issuer: lab}`, harness/targets_broker.py):
each tenant's IdP made as a realm of the lab's Keycloak with the users a check asks for, federated into the
provider's realm, and trusted by the product's pks lab clusters.

The broker is started once and left running, as the lab registry is (under a lock of the lab home, so
xdist workers of one run that both find it stopped start it once); `federate` makes the realms anew
(keycloak.configure) and rewrites each cluster's authentication file (keycloak.trust). Users' passwords
and the broker's client secrets are made for the call and registered for redaction; nothing is written
to the targets file or the run's logs.

Measured on this machine: a start to ready 32 to 140 s, realms anew 11 to 29 s, resident memory 430 to
590 MB, the API server accepting the broker's tokens 10 s after the file changed, a login 0.5 to 2 s.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from harness.errors import InfrastructureError
from harness.redaction import register
from provisioning.lab import keycloak
from provisioning.lab.keycloak_login import browser_login
from provisioning.lab.keycloak_realms import Customer, CustomerUser, Protocol
from provisioning.lab.layout import ClusterLayout

PROTOCOLS: Mapping[str, Protocol] = {"oidc": "oidc", "saml": "saml"}
BROKER_UP = 300.0  # seconds a start may take to ready (measured 32 to 140 s on 2 busy cores)


@dataclass(frozen=True)
class Federation:
    """The broker and each tenant's IdP (by tenant), configured and trusted."""

    broker: keycloak.Broker
    customers: Mapping[str, Customer]

    def id_token(self, tenant: str, login: str) -> str:
        """An ID token of the broker for `login` at `tenant`'s IdP, from a scripted browser login
        (keycloak_login.browser_login; LoginFailed when it does not get one)."""
        token: str = browser_login(self.broker, self.customers[tenant], login)["id_token"]
        return token

    def membership(self, tenant: str, login: str, groups: Iterable[str], *, add: bool) -> None:
        """Put `login` at `tenant`'s IdP into `groups` (add) or take it out, through Keycloak's admin API
        on the IdP's realm, as the customer's administrator would. InfrastructureError naming a group the
        IdP does not have; KeycloakError on a refused call."""
        admin = self.broker.admin(self.customers[tenant].realm)
        user = admin.get_user_id(login)
        if user is None:
            raise InfrastructureError(f"{tenant}'s IdP has no user {login}")
        known = {group["name"]: group["id"] for group in admin.get_groups()}
        for group in groups:
            if group not in known:
                raise InfrastructureError(f"{tenant}'s IdP has no group {group} (it has {sorted(known)})")
            if add:
                admin.group_user_add(user, known[group])
            else:
                admin.group_user_remove(user, known[group])


def customers(
    idps: Iterable[tuple[str, str]], users: Mapping[str, Mapping[str, Sequence[str]]]
) -> tuple[Customer, ...]:
    """One Customer per (tenant, protocol) of `idps`, with `users[tenant]` (login -> its groups at the
    IdP), each with a password made here. KeyError for a protocol other than oidc and saml."""
    made = []
    for tenant, protocol in idps:
        accounts = {
            login: CustomerUser(secrets.token_urlsafe(16), tuple(groups))
            for login, groups in users.get(tenant, {}).items()
        }
        secret = secrets.token_urlsafe(24) if protocol == "oidc" else ""
        register(secret, *(account.password for account in accounts.values()))
        made.append(Customer(tenant, PROTOCOLS[protocol], accounts, client_secret=secret))
    return tuple(made)


def federate(
    home: Path,
    made: tuple[Customer, ...],
    clusters: Iterable[tuple[ClusterLayout, Sequence[str]]],
    tenant_prefix: bool = True,
) -> Federation:
    """Start the lab's broker unless it serves, make the realms of `made` anew and make the API servers of
    `clusters` (each a layout and the tenants it serves) trust it for their tenants' users only (groups
    without the tenant with `tenant_prefix=False`, the mutation broker-unprefixed).
    InfrastructureError (with the log's tail) when the broker does not start, WaitTimeout when it is not
    ready in BROKER_UP seconds, filelock.Timeout when another process holds the lock longer, KeycloakError
    on a refused admin call."""
    with FileLock(str(home / "broker.lock"), timeout=BROKER_UP + 60):
        broker = keycloak.up(home, timeout=BROKER_UP)
        keycloak.configure(broker, made)
    for layout, tenants in clusters:
        keycloak.trust(layout, broker, tenants=tenants, tenant_prefix=tenant_prefix)
    return Federation(broker, {customer.tenant: customer for customer in made})
