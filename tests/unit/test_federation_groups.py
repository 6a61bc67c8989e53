"""checks.rbac.federation (check_rbac_012): the crafted group names, the verdicts on the groups the API
server reports, ERROR (never a denial) when the broker does not answer, n/a without a broker; and
checks.rbac.federation_rights (check_rbac_013): a brokered user's rules against the developer identity's;
checks.rbac.federation_clusters (check_rbac_014): tokens on other tenants' clusters;
checks.rbac.federation_membership (check_rbac_015): access following group changes at the IdP."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest

from checks.matrix import Cell
from checks.rbac.credentials import authentication_cell
from checks.rbac.federation import (
    AUTHENTICATED,
    GROUP_NAME_LIMIT,
    collisions,
    crafted_group_names,
    crafted_row,
    membership_differences,
    tenant_prefix,
)
from checks.rbac.federation_clusters import cluster_row
from checks.rbac.federation_membership import GIVEN, TAKEN, membership_cells
from checks.rbac.federation_rights import flat_rules, rights_row
from checks.verdicts import Inconclusive, require_rows
from harness.targets_broker import DEFAULT_GROUPS
from provisioning.lab.keycloak_login import LoginFailed
from provisioning.lab.keycloak_realms import jwt_authenticator


def test_crafted_names_try_other_tenants_the_provider_and_system_in_every_disguise() -> None:
    names = crafted_group_names(["green"], ["caas:operators"])
    assert {"green:admins", "oidc:green:admins", "OIDC:GREEN:ADMINS", "system:masters", "caas:operators"} <= set(names)
    look_alikes = [n for n in names if not n.isascii()]
    folded = {unicodedata.normalize("NFKC", n).casefold() for n in look_alikes}
    assert {"green:admins", "system:masters"} <= folded | {n.replace("\u0455", "s") for n in look_alikes}
    assert max(len(n) for n in names) == GROUP_NAME_LIMIT
    assert not any("/" in n for n in names)
    assert list(names) == sorted(set(names))


def test_groups_inside_the_tenant_prefix_do_not_collide() -> None:
    groups = [tenant_prefix("blue") + n for n in crafted_group_names(["green"])] + [AUTHENTICATED]
    assert collisions("blue", groups) == []


def test_every_group_outside_the_exact_prefix_collides() -> None:
    groups = ["oidc:green:admins", "system:masters", "OIDC:BLUE:admins", "oidc:blue-x:admins", "oidc:blue:ok"]
    assert collisions("blue", [*groups, AUTHENTICATED]) == sorted(groups[:4])


def test_an_unprefixed_mapping_collides_for_every_crafted_name() -> None:
    crafted = crafted_group_names(["green"])
    assert len(collisions("blue", ["oidc:" + n for n in crafted])) == len(crafted)


def test_membership_differences_name_missing_and_extra_groups() -> None:
    observed = ["oidc:blue:developers", "oidc:blue:operators", AUTHENTICATED]
    assert membership_differences("blue", ["developers", "operators"], observed) == []
    assert membership_differences("blue", ["developers", "viewers"], observed) == [
        "extra oidc:blue:operators",
        "missing oidc:blue:viewers",
    ]


def _down() -> str:
    raise LoginFailed("the login of blue-oidc.crafted at https://10.0.0.1:8443 did not answer (ConnectionError)")


def test_a_broker_that_does_not_answer_is_error_never_a_denial() -> None:
    cell, evidence = crafted_row("blue", ["green:admins"], _down, lambda _t: {}, DEFAULT_GROUPS)
    assert cell is Cell.ERROR
    assert "did not answer" in evidence
    with pytest.raises(Inconclusive):
        require_rows({"blue": (cell, evidence)}, evidence)


def test_a_collision_is_a_denial_naming_the_groups() -> None:
    groups = {"groups": ["oidc:green:admins", "oidc:blue:ok", AUTHENTICATED]}
    cell, evidence = crafted_row("blue", ["green:admins", "ok"], lambda: "token", lambda _t: groups, DEFAULT_GROUPS)
    assert cell is Cell.DENIED
    assert "oidc:green:admins" in evidence
    with pytest.raises(AssertionError):
        require_rows({"blue": (cell, evidence)}, evidence)


def test_groups_inside_the_prefix_pass_and_name_what_did_not_arrive() -> None:
    groups = {"groups": ["oidc:blue:green:admins", AUTHENTICATED]}
    cell, evidence = crafted_row("blue", ["green:admins", "x" * 255], lambda: "t", lambda _t: groups, DEFAULT_GROUPS)
    assert cell is Cell.ALLOWED
    assert "missing oidc:blue:xxx" in evidence


OWN = frozenset({"core/pods create", "core/pods get", "/version get"})
DISCOVERY = frozenset({"/version get"})


def _rules(by_namespace: dict[str, frozenset[str]]) -> Callable[[str], frozenset[str]]:
    return lambda namespace: by_namespace[namespace]


def test_the_same_rules_as_the_developer_identity_pass() -> None:
    native = _rules({"tenant-blue": OWN, "tenant-green": DISCOVERY})
    cell, _ = rights_row("tenant-blue", ["tenant-blue", "tenant-green"], native, native)
    assert cell is Cell.ALLOWED


def test_a_right_beyond_the_developer_identitys_is_a_denial_naming_it() -> None:
    native = _rules({"tenant-blue": OWN, "tenant-green": DISCOVERY})
    wider = _rules({"tenant-blue": OWN, "tenant-green": DISCOVERY | {"core/secrets get"}})
    cell, evidence = rights_row("tenant-blue", ["tenant-blue", "tenant-green"], wider, native)
    assert cell is Cell.DENIED
    assert "tenant-green: extra ['core/secrets get']" in evidence


def test_a_developer_identity_without_rights_of_its_own_proves_nothing() -> None:
    nothing = _rules({"tenant-blue": DISCOVERY, "tenant-green": DISCOVERY})
    cell, evidence = rights_row("tenant-blue", ["tenant-blue", "tenant-green"], nothing, nothing)
    assert cell is Cell.ERROR
    assert "nothing to compare" in evidence


def test_rules_flatten_per_group_resource_verb_name_and_url() -> None:
    status = {
        "resourceRules": [{"apiGroups": ["", "apps"], "resources": ["pods"], "verbs": ["get"], "resourceNames": ["a"]}],
        "nonResourceRules": [{"nonResourceURLs": ["/version"], "verbs": ["get"]}],
    }
    assert flat_rules(status) == {"core/pods get a", "apps/pods get a", "/version get"}


def test_a_cluster_that_accepts_another_tenants_token_is_a_denial() -> None:
    accepted = cluster_row("", lambda: (Cell.ALLOWED, "authenticated as oidc:blue.dev"))
    assert accepted == (Cell.DENIED, "accepted by another tenant's cluster: authenticated as oidc:blue.dev")
    # authenticated, then refused by the authorizer (an ABAC cluster's 403): the token was still accepted
    assert cluster_row("", lambda: authentication_cell(403, 'User "oidc:blue.dev" cannot get'))[0] is Cell.DENIED
    refused = cluster_row("", lambda: authentication_cell(401, "Unauthorized"))
    assert refused[0] is Cell.ALLOWED
    assert refused[1].startswith("refused: the credentials are not accepted")


def test_a_refusal_without_the_clusters_own_token_accepted_proves_nothing() -> None:
    refusal = lambda: authentication_cell(401, "Unauthorized")  # noqa: E731
    cell, evidence = cluster_row("no token of h8-pks-red's own tenants was accepted there", refusal)
    assert cell is Cell.ERROR
    assert "proves nothing" in evidence
    assert cluster_row("", lambda: authentication_cell(503, "unavailable"))[0] is Cell.ERROR
    assert cluster_row("", lambda: authentication_cell(0, "connection refused"))[0] is Cell.ERROR


def test_a_cluster_of_some_tenants_refuses_the_brokers_users_of_the_others() -> None:
    rules = jwt_authenticator("https://broker/realms/caas", b"CA", tenants=["red"])["claimValidationRules"]
    assert rules[-1]["expression"] == 'claims.tenant in ["red"]'
    assert len(jwt_authenticator("https://broker/realms/caas", b"CA")["claimValidationRules"]) == len(rules) - 1


def _membership(answers: list[bool]) -> dict[str, tuple[Cell, str]]:
    ticks = iter(range(100))
    return membership_cells(lambda: answers.pop(0), lambda: None, lambda: None, lambda: float(next(ticks)))


def test_access_that_follows_the_idps_changes_passes_with_the_seconds() -> None:
    cells = _membership([False, True, False])
    assert [cell for cell, _ in cells.values()] == [Cell.ALLOWED, Cell.ALLOWED]
    assert "s after" in cells[GIVEN][1]


def test_access_kept_after_the_group_is_taken_is_a_denial() -> None:
    cells = _membership([False, True, True])
    assert cells[TAKEN][0] is Cell.DENIED
    assert cells[GIVEN][0] is Cell.ALLOWED


def test_access_before_any_group_proves_nothing() -> None:
    assert {cell for cell, _ in _membership([True]).values()} == {Cell.ERROR}
