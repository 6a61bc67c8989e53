"""The lab's identity broker (Keycloak, provisioning.lab.keycloak), federating two customers' own IdPs.

Nightly, on the real broker and a real `pks` lab cluster: customer `blue` brings an OIDC IdP and customer
`green` a SAML 2.0 IdP (each a realm of the same Keycloak standing in for the customer's IdP, with its
users and groups); both are federated into the provider's realm. A user of each logs in through the broker
as a person would (authorization code with PKCE, the flow kubelogin runs: the broker's login sends the
browser to the customer's IdP, whose login form takes the password, and back), and the ID token carries the
tenant the broker stamped and the customer's groups. The API server, trusting the broker through one more
JWT authenticator in its structured authentication file (which it reloads while it runs), names the user
`oidc:<alias>.<login>` in the groups `oidc:<tenant>:<group>`; a group a customer names like another
tenant's or like `system:masters` stays inside its own tenant's prefix.

Direct grants cannot serve here: a brokered user has no password at the broker, and Keycloak's token
exchange of an external token is a preview feature (token-exchange:v1) that has no SAML counterpart; the
scripted browser login works the same for both protocols and needs no preview feature.

The broker is started once for the module (kept running if it already ran) and configured anew;
the figures (start, configuration, each login) are printed with -s.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from provisioning.backends.http import HttpClient
from provisioning.kube import client as kube
from provisioning.lab import build, cluster, keycloak
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.keycloak_realms import (
    API_CLIENT,
    PROVIDER_REALM,
    REDIRECT_URI,
    Customer,
    CustomerUser,
    realm_url,
)
from provisioning.settings import Timeouts, lab_home
from provisioning.wait import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.nightly]

PREFIX = os.environ.get("CAAS_CLUSTER_PREFIX", "")
ISSUER = realm_url(keycloak.URL, PROVIDER_REALM)
BLUE = Customer(
    "blue",
    "oidc",
    {
        "alice": CustomerUser(secrets.token_urlsafe(12), ("developers", "viewers")),
        # groups named like another tenant's and like the cluster's own: they must stay blue's
        "mallory": CustomerUser(secrets.token_urlsafe(12), ("system:masters", "green:admins")),
    },
    client_secret=secrets.token_urlsafe(24),
)
GREEN = Customer("green", "saml", {"bob": CustomerUser(secrets.token_urlsafe(12), ("admins",))})
CUSTOMERS = (BLUE, GREEN)


class LoginFailed(AssertionError):
    """The scripted browser did not get to the broker's redirect with a code."""


@dataclass
class Form:
    action: str
    inputs: dict[str, str] = field(default_factory=dict)
    id: str = ""


class Forms(HTMLParser):
    """The forms of a page (action, id, named inputs with their values) and its title."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attributes.get("action", ""), id=attributes.get("id", "")))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1].inputs[attributes["name"]] = attributes.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_login(customer: Customer, login: str, timeout: float = 30.0) -> dict[str, Any]:
    """The broker's tokens for `login` of `customer`, got as a browser would: the authorization request
    (PKCE S256) with kc_idp_hint, every redirect, the customer's login form, SAML's auto-posted forms, up
    to the redirect to REDIRECT_URI, whose code is then redeemed. LoginFailed naming the page it stopped
    at (a refused password shows the login form a second time)."""
    password = customer.users[login].password
    verifier = secrets.token_urlsafe(48)
    query = {
        "client_id": API_CLIENT,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": REDIRECT_URI,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
        "kc_idp_hint": customer.alias,
    }
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over the broker's CA, and a proxy be used
    session.verify = str(keycloak.Broker(lab_home(dict(os.environ))).ca_file)
    response = session.get(
        f"{ISSUER}/protocol/openid-connect/auth?{urlencode(query)}", allow_redirects=False, timeout=timeout
    )
    logins = 0
    for _step in range(20):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                answer = parse_qs(urlsplit(location).query)
                if "code" not in answer:
                    raise LoginFailed(f"the broker redirected without a code: {answer.get('error')}")
                return _redeem(session, answer["code"][0], verifier, timeout)
            response = session.get(location, allow_redirects=False, timeout=timeout)
            continue
        page = Forms()
        page.feed(response.text)
        if response.status_code != 200 or not page.forms:
            raise LoginFailed(
                f"{response.status_code} '{page.title}' at {response.url.split('?')[0]}: no form to go on"
            )
        form = page.forms[0]
        data = dict(form.inputs)
        if "username" in form.inputs or form.id == "kc-form-login":
            logins += 1
            if logins > 1:
                raise LoginFailed(f"the login form of '{page.title}' came back: {login}'s password was refused")
            data |= {"username": login, "password": password}
        elif not {"SAMLRequest", "SAMLResponse"} & set(form.inputs):
            raise LoginFailed(f"'{page.title}' at {response.url.split('?')[0]} asks for form {form.id or form.action}")
        response = session.post(urljoin(response.url, form.action), data=data, allow_redirects=False, timeout=timeout)
    raise LoginFailed(f"no code after 20 steps, last at {response.url.split('?')[0]}")


def _redeem(session: requests.Session, code: str, verifier: str, timeout: float) -> dict[str, Any]:
    response = session.post(
        f"{ISSUER}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": API_CLIENT,
            "code_verifier": verifier,
        },
        timeout=timeout,
    )
    if response.status_code != 200:
        raise LoginFailed(f"the token endpoint answered {response.status_code}: {response.text[:200]}")
    tokens: dict[str, Any] = response.json()
    return tokens


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.fixture(scope="module")
def broker() -> Iterator[keycloak.Broker]:
    """The lab's broker, installed and started if needed (stopped at the end only if this module started
    it), with the provider's and both customers' realms made anew."""
    home = lab_home(dict(os.environ))
    started = time.monotonic()
    keycloak.install(home)
    installed = time.monotonic()
    was_running = bool(keycloak.Broker(home).pid())
    running = keycloak.up(home)
    ready = time.monotonic()
    try:
        keycloak.configure(running, CUSTOMERS)
        configured = time.monotonic()
        print(
            f"\nbroker: install {installed - started:.1f}s, ready {ready - installed:.1f}s"
            f"{' (already running)' if was_running else ''}, realms {configured - ready:.1f}s, "
            f"RSS {keycloak.resident_kib(running) / 1024:.0f} MiB"
        )
        yield running
    finally:
        if not was_running:
            keycloak.down(home)


@pytest.fixture(scope="module")
def tokens(broker: keycloak.Broker) -> dict[str, dict[str, Any]]:
    """Each customer user's tokens from one browser login, by login."""
    got: dict[str, dict[str, Any]] = {}
    for customer in CUSTOMERS:
        for login in customer.users:
            started = time.monotonic()
            got[login] = browser_login(customer, login)
            print(f"login {customer.alias}.{login}: {time.monotonic() - started:.2f}s")
    return got


def test_discovery_names_the_provider_realm_and_its_keys(broker: keycloak.Broker) -> None:
    client = HttpClient(ISSUER, service="the identity broker", timeout=10, ca_file=str(broker.ca_file))
    try:
        document = client.request("GET", "/.well-known/openid-configuration").json()
        keys = client.request("GET", "/protocol/openid-connect/certs").json()["keys"]
    finally:
        client.close()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/protocol/openid-connect/certs"
    assert "authorization_code" in document["grant_types_supported"]
    assert any(key["alg"] == "RS256" and key["use"] == "sig" for key in keys)


@pytest.mark.parametrize(("customer", "login"), [(BLUE, "alice"), (GREEN, "bob")], ids=["oidc", "saml"])
def test_a_brokered_token_names_the_tenant_and_the_customer_groups(
    tokens: dict[str, dict[str, Any]], customer: Customer, login: str
) -> None:
    claims = _claims(tokens[login]["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["aud"] == API_CLIENT
    assert claims["preferred_username"] == customer.username(login)
    assert claims["tenant"] == customer.tenant
    assert sorted(claims["tenant_groups"]) == sorted(customer.users[login].groups)


def test_a_wrong_password_at_the_customer_gets_no_token(broker: keycloak.Broker) -> None:
    wrong = Customer(BLUE.tenant, BLUE.protocol, {"alice": CustomerUser("not-" + BLUE.users["alice"].password)})
    with pytest.raises(LoginFailed, match="password was refused"):
        browser_login(wrong, "alice")


@pytest.fixture(scope="module")
def lab(broker: keycloak.Broker) -> Iterator[LabCluster]:
    """A pks cluster whose API server trusts the broker besides its own issuer."""
    paths = LabPaths(lab_home(dict(os.environ)))
    build.build_all(paths.home, dict(os.environ))
    name = f"{PREFIX}broker"
    if paths.cluster_dir(name).exists():
        cluster.down(paths, name)
    lab = cluster.up(paths, name, "pks", 1, Timeouts().lab_ready, run_id="broker-test")
    try:
        keycloak.trust(lab.layout, broker)
        yield lab
    finally:
        cluster.down(paths, name)


def _who(lab: LabCluster, token: str) -> dict[str, Any]:
    ca = (lab.layout.pki / "ca.crt").read_bytes()
    api = kube.api_client(kube.Cluster(lab.layout.api_server_url, ca), token=token, timeout=10)
    try:
        return kube.who_am_i(api)
    finally:
        api.close()


@pytest.mark.parametrize(
    ("customer", "login", "groups"),
    [
        (BLUE, "alice", ["oidc:blue:developers", "oidc:blue:viewers"]),
        (BLUE, "mallory", ["oidc:blue:green:admins", "oidc:blue:system:masters"]),
        (GREEN, "bob", ["oidc:green:admins"]),
    ],
    ids=["oidc", "oidc-crafted-groups", "saml"],
)
def test_the_api_server_sees_the_brokered_user_in_its_tenant_groups(
    lab: LabCluster, tokens: dict[str, dict[str, Any]], customer: Customer, login: str, groups: list[str]
) -> None:
    token = tokens[login]["id_token"]
    started = time.monotonic()
    # The API server reloads its authentication file by itself: until then the token is unknown (401).
    user = wait_until(
        lambda: _who(lab, token),
        bool,
        timeout=120,
        what=f"the API server of {lab.layout.name} to accept the broker's token of {login}",
        retry_on=(kube.ApiFailure,),
    )
    print(f"accepted {customer.alias}.{login} after {time.monotonic() - started:.1f}s")
    assert user["username"] == f"oidc:{customer.username(login)}"
    assert sorted(user["groups"]) == sorted([*groups, "system:authenticated"])
