"""Identity federation through a broker (issue #24): what the API server must make of the groups a
customer's own IdP names (pure).

A broker vouches for the users of several customers' IdPs; the API server names each customer group
`oidc:<tenant>:<group>` (the tenant stamped by the broker, never by the customer). A customer controls
only `<group>`, so whatever it names, every group of its users must start with its own prefix: a name like
another tenant's group, a provider's group, a `system:` group, in other case or in Unicode look-alikes, or
very long, stays inside `oidc:<tenant>:` (Kubernetes AuthenticationConfiguration, claimMappings; the
`system:` names are the API server's own, kubernetes.io/docs/reference/access-authn-authz/authentication).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from checks.evidence import attach_text
from checks.matrix import Cell
from checks.rbac.federation_setup import CRAFTED_LOGIN, Federated, federate_product, reviewer
from checks.verdicts import Observed, require_rows
from harness.settings import Settings
from harness.targets_broker import DEFAULT_GROUPS, BrokerSpec
from provisioning.model.tenancy import Authenticator
from provisioning.tenancy import ProvisionedTenancy

AUTHENTICATED = "system:authenticated"  # every authenticated user's group, added by the API server
GROUP_NAME_LIMIT = 255  # the longest group name Keycloak stores (KEYCLOAK_GROUP.NAME is VARCHAR(255))
_CYRILLIC_S = "\u0455"  # CYRILLIC SMALL LETTER DZE, drawn as a Latin "s"


INSIDE = "inside its own groups"


def tenant_prefix(tenant: str, template: str = DEFAULT_GROUPS) -> str:
    """The start of every group of `tenant`'s brokered users: `template` (the targets file's `groups`)
    up to `{group}`, e.g. `oidc:<tenant>:`."""
    return template.split("{group}", maxsplit=1)[0].replace("{tenant}", tenant)


def _fullwidth(text: str) -> str:
    """`text` in fullwidth forms (U+FF01..FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def crafted_group_names(other_tenants: Iterable[str], known_groups: Iterable[str] = ()) -> tuple[str, ...]:
    """Group names a customer's IdP may give its users to try to land in somebody else's groups: another
    tenant's group with and without the broker's prefix, in upper case and in fullwidth letters,
    `system:` groups in other case and with a Cyrillic look-alike, `known_groups` (groups others hold
    rights for, e.g. other tenants' identities' groups, as the API server names them) verbatim, and a
    name of GROUP_NAME_LIMIT characters that starts like another tenant's group. None holds `/`
    (Keycloak's group path separator). Sorted, without duplicates."""
    prefix = Authenticator.OIDC.prefix
    names: set[str] = {"system:masters", "System:Nodes", f"{_CYRILLIC_S}ystem:masters", *known_groups}
    for other in other_tenants:
        names |= {
            f"{other}:admins",
            f"{prefix}{other}:admins",
            f"{prefix}{other}:admins".upper(),
            f"{_fullwidth(other)}:admins",
        }
        start = f"{other}:admins:"
        names.add(start + "x" * (GROUP_NAME_LIMIT - len(start)))
    return tuple(sorted(names))


def collisions(tenant: str, groups: Iterable[str], template: str = DEFAULT_GROUPS) -> list[str]:
    """The groups of a brokered user of `tenant` (as the API server reports them, e.g. in a
    SelfSubjectReview) outside `tenant_prefix(tenant)`, other than AUTHENTICATED: each one lands the user
    in a group another customer, the provider or the cluster may hold rights for. Compared exactly (the
    API server and RBAC compare names byte for byte, so a name in other case or in look-alike letters is
    another group, and only an exact prefix keeps a group inside the tenant)."""
    prefix = tenant_prefix(tenant, template)
    return sorted(group for group in groups if group != AUTHENTICATED and not group.startswith(prefix))


def membership_differences(
    tenant: str, customer_groups: Collection[str], groups: Iterable[str], template: str = DEFAULT_GROUPS
) -> list[str]:
    """How the groups the API server reports for a brokered user of `tenant` differ from exactly its
    customer groups, each named after `template`, plus AUTHENTICATED: "missing <group>" and
    "extra <group>" lines, sorted; [] when they agree."""
    expected = {template.replace("{tenant}", tenant).replace("{group}", group) for group in customer_groups}
    expected.add(AUTHENTICATED)
    observed = set(groups)
    return sorted(
        [f"missing {group}" for group in expected - observed] + [f"extra {group}" for group in observed - expected]
    )


def crafted_per_tenant(tenancy: ProvisionedTenancy, broker: BrokerSpec) -> dict[str, tuple[str, ...]]:
    """For each tenant with an IdP at the broker: crafted_group_names against the product's other
    tenants, with their identities' groups under every authenticator (`<tenant>:admins`,
    `oidc:<tenant>:admins`, ...) as known groups."""
    every = [t for c in tenancy.clusters for t in c.tenants]
    crafted = {}
    for idp in broker.idps:
        others = [t for t in every if t.name != idp.tenant]
        known = {
            group
            for t in others
            for identity in t.identities_for(tuple(Authenticator))
            for group in (*identity.claimed_groups, *identity.groups)
        }
        crafted[idp.tenant] = crafted_group_names([t.name for t in others], known)
    return crafted


def crafted_row(
    tenant: str,
    names: Collection[str],
    token: Callable[[], str],
    review: Callable[[str], Mapping[str, Any]],
    template: str,
) -> Observed:
    """One tenant's cell: DENIED naming every group outside its prefix (a collision), else ALLOWED
    (naming any crafted group that did not arrive, which lands nowhere); ERROR when the login or the
    review fails (a broker that is down is never a denial)."""
    try:
        groups = list(review(token()).get("groups", []))
    except Exception as exc:
        return Cell.ERROR, f"{type(exc).__name__}: {exc}"
    prefix = tenant_prefix(tenant, template)
    found = collisions(tenant, groups, template)
    if found:
        return Cell.DENIED, f"{len(found)} of {len(names)} crafted groups outside {prefix}: {found}"
    missing = [d for d in membership_differences(tenant, names, groups, template) if d.startswith("missing")]
    return Cell.ALLOWED, f"{len(groups) - 1} groups, all inside {prefix}" + (f"; {missing}" if missing else "")


def federate(tenancy: ProvisionedTenancy, settings: Settings) -> Federated:
    """The lab's broker set up once for the product's federation checks (federation_setup), its IdPs'
    crafted users named in crafted_per_tenant's groups."""
    spec = settings.targets.product_spec(tenancy.product.name).broker
    assert spec is not None, "federate needs a product with a broker (@needs_identity_broker)"
    return federate_product(tenancy, settings, crafted_per_tenant(tenancy, spec))


def observe_crafted_groups(tenancy: ProvisionedTenancy, federated: Federated) -> dict[str, Observed]:
    """Each tenant's user CRAFTED_LOGIN (in every crafted group at its IdP) logs in through the broker and
    a SelfSubjectReview on the tenant's cluster shows its groups: tenant -> its cell (crafted_row)."""
    rows = {}
    for tenant, names in federated.crafted.items():
        token = functools.partial(federated.id_token, tenant, CRAFTED_LOGIN)
        rows[tenant] = crafted_row(tenant, names, token, reviewer(tenancy, tenant), federated.spec.groups)
    return rows


def judge_crafted_groups(rows: Mapping[str, Observed]) -> None:
    """Attach each tenant's cell and end check_rbac_012 by the one verdict rule (require_rows)."""
    text = "\n".join(f"{tenant}: {cell.value} - {evidence}" for tenant, (cell, evidence) in rows.items())
    attach_text(text, "crafted group names")
    require_rows(rows, text, INSIDE)
