"""The lab broker's realm representations and JWT authenticator (provisioning.lab.keycloak_realms), and
the broker's command line (provisioning.lab.keycloak): pure, no Keycloak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioning.lab import keycloak
from provisioning.lab.keycloak_realms import (
    API_CLIENT,
    GROUPS_ATTRIBUTE,
    PROVIDER_REALM,
    TENANT_ATTRIBUTE,
    Customer,
    CustomerUser,
    broker_endpoint,
    customer_realm,
    jwt_authenticator,
    provider_realm,
    user_profile,
)

BASE = "https://10.213.0.1:8443"
BLUE = Customer("blue", "oidc", {"alice": CustomerUser("pw-a", ("developers", "viewers"))}, client_secret="s3")
GREEN = Customer("green", "saml", {"bob": CustomerUser("pw-b", ("admins",)), "carol": CustomerUser("pw-c", ())})


def _mappers(realm: dict[str, Any], alias: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in realm["identityProviderMappers"] if m["identityProviderAlias"] == alias}


def test_a_customer_realm_holds_its_users_groups_and_the_broker_client() -> None:
    realm = customer_realm(GREEN, BASE)
    assert realm["realm"] == "customer-green"
    assert realm["groups"] == [{"name": "admins"}]
    bob = next(u for u in realm["users"] if u["username"] == "bob")
    assert bob["groups"] == ["/admins"]
    assert bob["credentials"] == [{"type": "password", "value": "pw-b", "temporary": False}]
    (client,) = realm["clients"]
    assert client["clientId"] == f"{BASE}/realms/{PROVIDER_REALM}"  # the broker's SP entity ID
    assert client["attributes"]["saml_assertion_consumer_url_post"] == broker_endpoint(BASE, "green-saml")
    (oidc_client,) = customer_realm(BLUE, BASE)["clients"]
    assert oidc_client["secret"] == "s3"
    assert oidc_client["redirectUris"] == [f"{BASE}/realms/caas/broker/blue-oidc/endpoint"]


def test_each_customer_idp_stamps_its_own_tenant_whatever_the_customer_says() -> None:
    realm = provider_realm((BLUE, GREEN), BASE, {"green-saml": "MIIC"})
    for customer in (BLUE, GREEN):
        stamp = _mappers(realm, customer.alias)["tenant"]
        assert stamp["identityProviderMapper"] == "hardcoded-attribute-idp-mapper"
        assert stamp["config"] == {
            "syncMode": "FORCE",
            "attribute": TENANT_ATTRIBUTE,
            "attribute.value": customer.tenant,
        }
        assert _mappers(realm, customer.alias)["groups"]["config"]["user.attribute"] == GROUPS_ATTRIBUTE
    saml = next(p for p in realm["identityProviders"] if p["alias"] == "green-saml")
    assert saml["config"]["signingCertificate"] == "MIIC"
    assert saml["config"]["validateSignature"] == "true"
    (client,) = realm["clients"]
    assert client["clientId"] == API_CLIENT
    assert client["publicClient"] is True
    assert client["directAccessGrantsEnabled"] is False


def test_the_user_profile_declares_the_tenant_attributes_admin_only_once() -> None:
    profile = {"attributes": [{"name": "username"}, {"name": TENANT_ATTRIBUTE, "permissions": {"edit": ["user"]}}]}
    declared = user_profile(user_profile(profile))
    names = [a["name"] for a in declared["attributes"]]
    assert names == ["username", TENANT_ATTRIBUTE, GROUPS_ATTRIBUTE]
    for attribute in declared["attributes"][1:]:
        assert attribute["permissions"] == {"view": ["admin"], "edit": ["admin"]}


def test_the_api_server_prefixes_groups_with_the_broker_stamped_tenant() -> None:
    authenticator = jwt_authenticator(f"{BASE}/realms/caas", b"PEM")
    assert authenticator["issuer"] == {
        "url": f"{BASE}/realms/caas",
        "audiences": [API_CLIENT],
        "certificateAuthority": "PEM",
    }
    groups = authenticator["claimMappings"]["groups"]["expression"]
    assert "'oidc:' + string(claims.tenant) + ':' + g" in groups
    assert authenticator["claimMappings"]["username"] == {"claim": "preferred_username", "prefix": "oidc:"}
    rules = [rule["expression"] for rule in authenticator["userValidationRules"]]
    assert "user.groups.all(g, g.startsWith('oidc:'))" in rules


@pytest.mark.parametrize("customer", [BLUE, GREEN], ids=["oidc", "saml"])
def test_a_brokered_user_is_named_after_its_idp_alias(customer: Customer) -> None:
    realm = provider_realm((customer,), BASE, {})
    template = _mappers(realm, customer.alias)["username"]["config"]["template"]
    assert template.startswith("${ALIAS}.")
    assert customer.username("x") == f"{customer.tenant}-{customer.protocol}.x"


def test_the_broker_command_line_holds_no_secret(tmp_path: Path) -> None:
    broker = keycloak.Broker(tmp_path)
    argv = keycloak.start_argv(broker)
    assert argv[1:3] == ["start", "--optimized"]
    assert "--http-enabled=false" in argv
    assert f"--https-certificate-file={broker.directory / 'server.crt'}" in argv
    assert not any("password" in argument.lower() for argument in argv)
