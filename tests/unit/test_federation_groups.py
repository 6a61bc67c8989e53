"""fixtures.rbac.federation: the crafted group names and the verdicts on the groups the API server reports."""

from __future__ import annotations

import unicodedata

from fixtures.rbac.federation import (
    AUTHENTICATED,
    GROUP_NAME_LIMIT,
    collisions,
    crafted_group_names,
    membership_differences,
    tenant_prefix,
)


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
