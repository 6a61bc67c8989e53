"""The `broker:` field of a product in the targets file (harness/targets_broker.py): the lab's
variant parses, and each misfit is one line naming the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigErrors
from harness.targets import load_targets, parse_targets
from tests.support import ROOT

VARIANT = ROOT / "tests" / "lab" / "data" / "targets_broker.yaml"


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as raised:
        parse_targets(text, "t.yaml", Path("."), check_files=False)
    return [str(error) for error in raised.value.errors]


def test_the_lab_variant_names_the_broker_and_each_tenants_idp() -> None:
    broker = load_targets(VARIANT).product_spec("pks").broker
    assert broker is not None
    assert broker.issuer == "lab"
    assert [(idp.tenant, idp.protocol) for idp in broker.idps] == [("blue", "oidc"), ("green", "saml"), ("red", "oidc")]
    assert broker.group_name("blue", "system:masters") == "oidc:blue:system:masters"


def test_the_example_names_no_broker() -> None:
    example = load_targets(ROOT / "targets.example.yaml")
    assert all(product.broker is None for product in example.spec.products)


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        ("issuer: lab", "issuer: https://sso.example.com/realms/caas", "broker.issuer", "cannot make users"),
        ("profile: pks, nodes", "profile: cfcr, nodes", "broker.issuer", "lab's pks clusters only"),
        ("tenant: green, protocol", "tenant: pink, protocol", "broker.idps[1].tenant", '"pink" is no tenant'),
        ("tenant: green, protocol", "tenant: blue, protocol", "broker.idps[1].tenant", "one IdP"),
        ('"oidc:{tenant}:{group}"', '"oidc:{group}"', "broker.groups", "{tenant} and {group} once each"),
        ("protocol: saml", "protocol: ldap", "broker.idps[1].protocol", 'unknown IdP protocol "ldap"'),
        ("issuer: lab", "issuer: lab\n      client_secret: x", "broker.client_secret", "never written inline"),
    ],
)
def test_a_broker_the_run_cannot_drive_is_one_clear_line(old: str, new: str, where: str, says: str) -> None:
    text = VARIANT.read_text()
    assert old in text
    errors = _errors(text.replace(old, new))
    assert len(errors) == 1, errors
    assert f"products[0].{where}" in errors[0]
    assert says in errors[0]
