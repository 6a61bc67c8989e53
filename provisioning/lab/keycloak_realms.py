"""What the lab's identity broker holds (pure): Keycloak realm representations and the API server's JWT
authenticator for the broker.

Three kinds of realm in one Keycloak (Keycloak admin REST API, RealmRepresentation):
- the provider's realm (PROVIDER_REALM): the broker. Its client API_CLIENT is the API server's audience;
  each customer's IdP is federated into it (an OIDC IdP, or a SAML 2.0 IdP), and every user it knows
  comes from a customer's IdP (first broker login creates it);
- one realm a customer, standing in for that customer's own IdP: its users, passwords and groups, and one
  client for the broker (OIDC: a confidential client; SAML: a service provider whose entity ID is the
  broker realm's URL).

The per-customer prefix: each customer IdP of the broker stamps its users with the attribute `tenant`
(a hardcoded-attribute mapper: the provider's word, never the customer's) and imports the customer's
groups claim or SAML attribute into `idp_groups`, both declared admin-only in the user profile so a user
can edit neither. The API server client's tokens carry them as `tenant` and `tenant_groups`, and the JWT
authenticator (`jwt_authenticator`) names each group `oidc:<tenant>:<group>` with a CEL expression, so
no customer can name a group of another customer, of the provider or `system:` (Kubernetes
AuthenticationConfiguration, claimMappings.groups.expression, v1 since 1.34). Keycloak has no built-in
protocol mapper that rewrites claim values; a script mapper would need a provider JAR deployed into the
distribution.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioning.model.tenancy import Authenticator

PROVIDER_REALM = "caas"
API_CLIENT = "kubernetes"  # the API server's audience (ID tokens' aud)
BROKER_CLIENT = "caas-broker"  # the broker's client at an OIDC customer's IdP
REDIRECT_URI = "http://localhost:8000/callback"  # kubelogin's default; never served: a login stops at it
TENANT_ATTRIBUTE = "tenant"
GROUPS_ATTRIBUTE = "idp_groups"
TENANT_CLAIM = "tenant"
GROUPS_CLAIM = "tenant_groups"
USERNAME_CLAIM = "preferred_username"
TENANT_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # a DNS label, as tenant names are
TOKEN_LIFETIME = 12 * 3600  # seconds
Protocol = Literal["oidc", "saml"]


@dataclass(frozen=True)
class CustomerUser:
    """A user at a customer's IdP: password and the customer's own group names."""

    password: str = field(repr=False)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Customer:
    """A tenant that brings its own IdP (`protocol`), federated into the broker under alias `alias`."""

    tenant: str
    protocol: Protocol
    users: Mapping[str, CustomerUser]
    client_secret: str = field(default="", repr=False)  # the broker's client at an OIDC IdP

    @property
    def realm(self) -> str:
        return f"customer-{self.tenant}"

    @property
    def alias(self) -> str:
        return f"{self.tenant}-{self.protocol}"

    def username(self, login: str) -> str:
        """The user's name at the broker (the username importer's template): `<alias>.<login>`."""
        return f"{self.alias}.{login}"


def realm_url(base_url: str, realm: str) -> str:
    return f"{base_url}/realms/{realm}"


def broker_endpoint(base_url: str, alias: str) -> str:
    """Where a customer's IdP sends its answer (OIDC redirect URI, SAML assertion consumer service)."""
    return f"{realm_url(base_url, PROVIDER_REALM)}/broker/{alias}/endpoint"


def _groups(customer: Customer) -> list[str]:
    return sorted({group for user in customer.users.values() for group in user.groups})


def customer_realm(customer: Customer, base_url: str) -> dict[str, Any]:
    """The customer's IdP: its groups, its users (email, names, password, groups) and the broker's client."""
    users = [
        {
            "username": login,
            "enabled": True,
            "email": f"{login}@{customer.tenant}.example",
            "emailVerified": True,
            "firstName": login,
            "lastName": customer.tenant,
            "credentials": [{"type": "password", "value": user.password, "temporary": False}],
            "groups": [f"/{group}" for group in user.groups],
        }
        for login, user in sorted(customer.users.items())
    ]
    client = _oidc_client(customer, base_url) if customer.protocol == "oidc" else _saml_client(customer, base_url)
    return {
        "realm": customer.realm,
        "enabled": True,
        "groups": [{"name": group} for group in _groups(customer)],
        "users": users,
        "clients": [client],
    }


def _oidc_client(customer: Customer, base_url: str) -> dict[str, Any]:
    return {
        "clientId": BROKER_CLIENT,
        "protocol": "openid-connect",
        "enabled": True,
        "publicClient": False,
        "secret": customer.client_secret,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": False,
        "redirectUris": [broker_endpoint(base_url, customer.alias)],
        "protocolMappers": [
            {
                "name": "groups",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {
                    "claim.name": "groups",
                    "full.path": "false",
                    "id.token.claim": "true",
                    "access.token.claim": "true",
                    "userinfo.token.claim": "true",
                },
            }
        ],
    }


def _saml_attribute(name: str, attribute: str) -> dict[str, Any]:
    return {
        "name": name,
        "protocol": "saml",
        "protocolMapper": "saml-user-property-mapper",
        "config": {"user.attribute": attribute, "attribute.name": attribute, "attribute.nameformat": "Basic"},
    }


def _saml_client(customer: Customer, base_url: str) -> dict[str, Any]:
    endpoint = broker_endpoint(base_url, customer.alias)
    return {
        "clientId": realm_url(base_url, PROVIDER_REALM),  # the broker's SP entity ID
        "protocol": "saml",
        "enabled": True,
        "redirectUris": [endpoint],
        "attributes": {
            "saml_assertion_consumer_url_post": endpoint,
            "saml.client.signature": "false",  # the broker does not sign its AuthnRequests
            "saml.server.signature": "true",  # the IdP signs its responses
            "saml.authnstatement": "true",
            "saml_name_id_format": "username",
            "saml.force.name.id.format": "true",
        },
        "protocolMappers": [
            {
                "name": "groups",
                "protocol": "saml",
                "protocolMapper": "saml-group-membership-mapper",
                "config": {
                    "attribute.name": "groups",
                    "attribute.nameformat": "Basic",
                    "single": "false",
                    "full.path": "false",
                },
            },
            _saml_attribute("email", "email"),
            _saml_attribute("firstName", "firstName"),
            _saml_attribute("lastName", "lastName"),
        ],
    }


def _identity_provider(customer: Customer, base_url: str, signing_certificate: str) -> dict[str, Any]:
    issuer = realm_url(base_url, customer.realm)
    common = {"alias": customer.alias, "enabled": True, "trustEmail": True, "storeToken": False}
    if customer.protocol == "oidc":
        endpoints = f"{issuer}/protocol/openid-connect"
        return {
            **common,
            "providerId": "oidc",
            "config": {
                "issuer": issuer,
                "authorizationUrl": f"{endpoints}/auth",
                "tokenUrl": f"{endpoints}/token",
                "jwksUrl": f"{endpoints}/certs",
                "userInfoUrl": f"{endpoints}/userinfo",
                "clientId": BROKER_CLIENT,
                "clientSecret": customer.client_secret,
                "clientAuthMethod": "client_secret_post",
                "validateSignature": "true",
                "useJwksUrl": "true",
                "defaultScope": "openid profile email",
                "syncMode": "FORCE",
            },
        }
    return {
        **common,
        "providerId": "saml",
        "config": {
            "entityId": realm_url(base_url, PROVIDER_REALM),
            "idpEntityId": issuer,
            "singleSignOnServiceUrl": f"{issuer}/protocol/saml",
            "nameIDPolicyFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            "principalType": "SUBJECT",
            "postBindingResponse": "true",
            "postBindingAuthnRequest": "true",
            "validateSignature": "true",
            "signingCertificate": signing_certificate,
            "wantAssertionsSigned": "false",
            "syncMode": "FORCE",
        },
    }


def _idp_mapper(customer: Customer, name: str, mapper: str, config: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "identityProviderAlias": customer.alias,
        "identityProviderMapper": mapper,
        "config": {"syncMode": "FORCE", **config},
    }


def _idp_mappers(customer: Customer) -> list[dict[str, Any]]:
    tenant = _idp_mapper(
        customer,
        "tenant",
        "hardcoded-attribute-idp-mapper",
        {"attribute": TENANT_ATTRIBUTE, "attribute.value": customer.tenant},
    )
    if customer.protocol == "oidc":
        return [
            tenant,
            _idp_mapper(
                customer,
                "groups",
                "oidc-user-attribute-idp-mapper",
                {"claim": "groups", "user.attribute": GROUPS_ATTRIBUTE},
            ),
            _idp_mapper(
                customer,
                "username",
                "oidc-username-idp-mapper",
                {"template": "${ALIAS}.${CLAIM.preferred_username}"},
            ),
        ]
    attributes = [
        ("groups", GROUPS_ATTRIBUTE),
        ("email", "email"),
        ("firstName", "firstName"),
        ("lastName", "lastName"),
    ]
    return [
        tenant,
        *(
            _idp_mapper(
                customer, name, "saml-user-attribute-idp-mapper", {"attribute.name": name, "user.attribute": attribute}
            )
            for name, attribute in attributes
        ),
        _idp_mapper(customer, "username", "saml-username-idp-mapper", {"template": "${ALIAS}.${NAMEID}"}),
    ]


def _attribute_mapper(claim: str, attribute: str, *, multivalued: bool) -> dict[str, Any]:
    return {
        "name": claim,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "config": {
            "user.attribute": attribute,
            "claim.name": claim,
            "jsonType.label": "String",
            "multivalued": str(multivalued).lower(),
            "id.token.claim": "true",
            "access.token.claim": "true",
            "userinfo.token.claim": "true",
        },
    }


def provider_realm(
    customers: tuple[Customer, ...], base_url: str, signing_certificates: Mapping[str, str]
) -> dict[str, Any]:
    """The broker's realm: the API server's public client (authorization code with PKCE, the flow
    kubelogin runs) with the tenant claims, and every customer's IdP with its mappers.
    `signing_certificates` maps a SAML customer's alias to its realm's signing certificate (base64 DER)."""
    return {
        "realm": PROVIDER_REALM,
        "enabled": True,
        # An ID token outlives a whole run, as the lab issuer's do (the suite logs each identity in once).
        "accessTokenLifespan": TOKEN_LIFETIME,
        "ssoSessionIdleTimeout": TOKEN_LIFETIME,
        "ssoSessionMaxLifespan": TOKEN_LIFETIME,
        "clients": [
            {
                "clientId": API_CLIENT,
                "protocol": "openid-connect",
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "redirectUris": [REDIRECT_URI],
                "attributes": {"pkce.code.challenge.method": "S256"},
                "protocolMappers": [
                    _attribute_mapper(TENANT_CLAIM, TENANT_ATTRIBUTE, multivalued=False),
                    _attribute_mapper(GROUPS_CLAIM, GROUPS_ATTRIBUTE, multivalued=True),
                ],
            }
        ],
        "identityProviders": [
            _identity_provider(customer, base_url, signing_certificates.get(customer.alias, ""))
            for customer in customers
        ],
        "identityProviderMappers": [mapper for customer in customers for mapper in _idp_mappers(customer)],
    }


def user_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The realm's user profile (`profile`, as Keycloak returns it) with the tenant attributes declared:
    admins (and so the broker's mappers) write them, users can neither see nor edit them."""
    admin_only = {"view": ["admin"], "edit": ["admin"]}
    declared = [
        {"name": TENANT_ATTRIBUTE, "displayName": "tenant", "permissions": admin_only, "multivalued": False},
        {"name": GROUPS_ATTRIBUTE, "displayName": "groups at the IdP", "permissions": admin_only, "multivalued": True},
    ]
    names = {attribute["name"] for attribute in declared}
    kept = [attribute for attribute in profile.get("attributes", []) if attribute.get("name") not in names]
    return {**profile, "attributes": [*kept, *declared]}


def jwt_authenticator(
    issuer_url: str,
    ca_pem: bytes,
    client_id: str = API_CLIENT,
    tenants: Sequence[str] = (),
    tenant_prefix: bool = True,
) -> dict[str, Any]:
    """The API server's JWT authenticator for the broker's realm: users `oidc:<alias>.<login>`, groups
    `oidc:<tenant>:<group>` (the tenant from the broker's own mapper, never from the customer), and a
    token without a well-formed tenant refused; with `tenants` (the tenants the cluster serves, e.g. the
    one of a dedicated cluster) a token of any other tenant is refused too (401). `tenant_prefix=False` is
    the mutation broker-unprefixed: groups `oidc:<group>`, so customers' groups can collide."""
    prefix = Authenticator.OIDC.prefix
    tenant = f"string(claims.{TENANT_CLAIM})"
    named = f"'{prefix}' + {tenant} + ':' + g" if tenant_prefix else f"'{prefix}' + g"
    groups = f"has(claims.{GROUPS_CLAIM}) ? dyn(claims.{GROUPS_CLAIM}).map(g, {named}) : []"
    return {
        "issuer": {"url": issuer_url, "audiences": [client_id], "certificateAuthority": ca_pem.decode()},
        "claimValidationRules": [
            {
                "expression": f"has(claims.{TENANT_CLAIM}) && claims.{TENANT_CLAIM}.matches('{TENANT_PATTERN}')",
                "message": "the broker names the tenant of every user it vouches for",
            },
            *(
                [
                    {
                        "expression": f"claims.{TENANT_CLAIM} in {json.dumps(sorted(tenants))}",
                        "message": "the broker's user is of a tenant this cluster does not serve",
                    }
                ]
                if tenants
                else []
            ),
        ],
        "claimMappings": {
            "username": {"claim": USERNAME_CLAIM, "prefix": prefix},
            "groups": {"expression": groups},
        },
        "userValidationRules": [
            {
                "expression": f"user.username.startsWith('{prefix}')",
                "message": f"users of the broker are named {prefix}<alias>.<login>",
            },
            {
                "expression": f"user.groups.all(g, g.startsWith('{prefix}'))",
                "message": f"groups of the broker are named {prefix}<tenant>:<group>",
            },
        ],
    }
