"""check_rbac_015: a group given or taken at the customer's IdP counts from the user's next token (issue #24).

Each tenant's user JOINER_LOGIN is in no group at its IdP. Its token lists nothing in its tenant's
namespace (403: the baseline, the positive control); the customer's IdP then puts it in the tenant
developer identity's groups (Keycloak's admin API on the IdP's realm), and its next token must list the
namespace's pods (200); taken out again, its next token must be refused (403). The seconds from each
change at the IdP to the API server's answer (the login through the broker included) are the evidence.
A failed login or admin call is ERROR, never a denial."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from checks import decided
from checks.answered import classified
from checks.evidence import attach_text
from checks.matrix import Cell
from checks.rbac.federation_setup import JOINER_LOGIN, Federated, brokered_client, developer_groups, reviewer
from checks.verdicts import Observed, require_rows
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.tenancy import ProvisionedTenancy

GIVEN = "access from the next token after the group is given"
TAKEN = "no access from the next token after the group is taken"


def lists_pods(api: Any, namespace: str) -> bool:
    """Whether `api`'s user may list the pods of `namespace`: True when the list is answered, False when
    it is refused (`answers.classify` says DENIED: the authorizer's 403); ApiFailure on any other answer."""
    try:
        kube.request(api, "GET", f"/api/v1/namespaces/{namespace}/pods", query={"limit": "1"})
    except kube.ApiFailure as failure:
        if classified(failure).kind is answers.Kind.DENIED:
            return False
        raise
    return True


def membership_cells(
    can: Callable[[], bool], give: Callable[[], None], take: Callable[[], None], clock: Callable[[], float]
) -> dict[str, Observed]:
    """The two cells of one tenant: `can()` logs in anew and says whether the token gives access; `give`
    and `take` change the membership at the IdP. ERROR for both when the baseline already has access or
    anything fails; otherwise each ALLOWED when access followed the change, DENIED when it did not."""
    try:
        if can():
            reason = "the user has access before it is in any group: the changes would prove nothing"
            return {GIVEN: (Cell.ERROR, reason), TAKEN: (Cell.ERROR, reason)}
        started = clock()
        give()
        given = can()
        given_after = clock() - started
        started = clock()
        take()
        kept = can()
        taken_after = clock() - started
    except Exception as exc:  # any failure to observe is ERROR, with its message
        return {
            GIVEN: (Cell.ERROR, f"{type(exc).__name__}: {exc}"),
            TAKEN: (Cell.ERROR, f"{type(exc).__name__}: {exc}"),
        }
    return {
        GIVEN: (
            Cell.ALLOWED if given else Cell.DENIED,
            f"{'access' if given else 'no access'} {given_after:.1f}s after",
        ),
        TAKEN: (
            Cell.DENIED if kept else Cell.ALLOWED,
            f"{'access kept' if kept else 'no access'} {taken_after:.1f}s after",
        ),
    }


def observe_membership(tenancy: ProvisionedTenancy, federated: Federated) -> dict[str, Observed]:
    """Each tenant's joiner given and taken the developer identity's groups at its IdP: "<tenant>: <what>"
    -> its cell (membership_cells)."""
    rows: dict[str, Observed] = {}
    decided.judged(federated.crafted)  # the scenario judges these tenants' plans
    for tenant in federated.crafted:
        namespace = next(t for t in tenancy.cluster_of(tenant).tenants if t.name == tenant).namespace

        def can(tenant: str = tenant, namespace: str = namespace) -> bool:
            token = federated.id_token(tenant, JOINER_LOGIN)
            reviewer(tenancy, tenant)(token)  # the API server takes the broker's tokens
            api = brokered_client(tenancy, tenant, token)
            try:
                return lists_pods(api, namespace)
            finally:
                api.close()

        def change(add: bool, tenant: str = tenant) -> None:
            federated.membership(tenant, JOINER_LOGIN, developer_groups(tenancy, tenant), add=add)

        cells = membership_cells(can, lambda: change(True), lambda: change(False), time.monotonic)
        rows |= {f"{tenant}: {what}": cell for what, cell in cells.items()}
    return rows


def judge_membership(rows: Mapping[str, Observed]) -> None:
    """Attach each cell and end check_rbac_015 by the one verdict rule (require_rows)."""
    text = "\n".join(f"{row}: {cell.value} - {evidence}" for row, (cell, evidence) in rows.items())
    attach_text(text, "group changes at the IdP")
    require_rows(rows, text, "as the IdP says")
