"""check_rbac_014: a token from one customer's IdP opens no other customer's dedicated cluster (issue #24).

Every cluster of the product trusts the one broker, so each must refuse (401) the brokered tokens of the
tenants it does not serve: a customer's dedicated cluster takes its own customer's users only. Each
tenant's user DEVELOPER_LOGIN presents its brokered ID token to every cluster of the product, observed
with a SelfSubjectReview. A cluster's own tenants' tokens being accepted is the positive control (it also
shows the API server reloaded its authentication file): until one is, a refusal there proves nothing (ERROR).
Not applicable to a product of one cluster (@needs_two_clusters)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from checks.evidence import attach_text
from checks.matrix import Cell
from checks.rbac.credentials import authenticated
from checks.rbac.federation_setup import DEVELOPER_LOGIN, Federated, brokered_client, reviewer
from checks.verdicts import Observed, require_rows
from provisioning.tenancy import ProvisionedTenancy

OWN_ONLY = "accepted on its own cluster only"


def cluster_row(control: str, authenticate: Callable[[], tuple[Cell, str]]) -> Observed:
    """One cell of a token on another tenant's cluster: `authenticate()` is the SelfSubjectReview there,
    read as `credentials.authentication` reads it (ALLOWED: the cluster knew who asked, even if a later
    layer refused the review; DENIED: its authenticator refused the token, 401). The requirement holds
    (ALLOWED) when the token is refused, is contradicted (DENIED) when it is accepted; ERROR when
    `control` (why the cluster's own tenants' tokens prove nothing, "" when one was accepted) is set, on
    no answer about the token, or when the request fails."""
    try:
        cell, evidence = authenticate()
    except Exception as exc:  # any failure to observe is ERROR, with its message
        return Cell.ERROR, f"{type(exc).__name__}: {exc}"
    if cell is Cell.ALLOWED:
        return Cell.DENIED, f"accepted by another tenant's cluster: {evidence}"
    if cell is not Cell.DENIED:
        return Cell.ERROR, evidence
    if control:
        return Cell.ERROR, f"refused, but proves nothing: {control}"
    return Cell.ALLOWED, f"refused: {evidence}"


def _authenticate(tenancy: ProvisionedTenancy, tenant: str, token: str) -> tuple[Cell, str]:
    return authenticated(brokered_client(tenancy, tenant, token))


def observe_clusters(tenancy: ProvisionedTenancy, federated: Federated) -> dict[str, Observed]:
    """Each tenant's brokered token on every cluster of the product: "<tenant> on <cluster>" -> its cell.
    Own clusters first (waiting until the API server takes the broker's tokens: the positive control of
    that cluster), then every other cluster."""
    tokens: dict[str, str] = {}
    accepted: set[str] = set()
    rows: dict[str, Observed] = {}
    for tenant in federated.crafted:
        name = tenancy.cluster_of(tenant).handle.name
        try:
            tokens[tenant] = federated.id_token(tenant, DEVELOPER_LOGIN)
            reviewer(tenancy, tenant)(tokens[tenant])
        except Exception as exc:  # a login or a token its own cluster never takes is ERROR, never a denial
            rows[f"{tenant} on {name}"] = (Cell.ERROR, f"{type(exc).__name__}: {exc}")
            continue
        rows[f"{tenant} on {name}"] = (Cell.ALLOWED, "accepted")
        accepted.add(name)
    for tenant, token in tokens.items():
        for provisioned in tenancy.clusters:
            name = provisioned.handle.name
            if provisioned is tenancy.cluster_of(tenant):
                continue
            control = "" if name in accepted else f"no token of {name}'s own tenants was accepted there"
            authenticate = functools.partial(_authenticate, tenancy, provisioned.tenants[0].name, token)
            rows[f"{tenant} on {name}"] = cluster_row(control, authenticate)
    return rows


def judge_clusters(rows: Mapping[str, Observed]) -> None:
    """Attach each cell and end check_rbac_014 by the one verdict rule (require_rows)."""
    text = "\n".join(f"{row}: {cell.value} - {evidence}" for row, (cell, evidence) in rows.items())
    attach_text(text, "brokered tokens per cluster")
    require_rows(rows, text, OWN_ONLY)
