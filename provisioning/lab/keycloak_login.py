"""A customer user's login through the lab's identity broker, scripted as a browser does it.

Authorization code with PKCE (RFC 7636, S256), the flow kubelogin runs: the broker's authorization
endpoint with `kc_idp_hint` sends the browser to the customer's IdP, whose login form takes the password;
SAML's auto-posted forms (SAMLRequest, SAMLResponse) are posted on, up to the redirect to REDIRECT_URI,
whose code is then redeemed at the broker's token endpoint. Direct grants cannot serve here: a brokered
user has no password at the broker, and Keycloak's token exchange of an external token is a preview
feature without a SAML counterpart.

The login keeps cookies across the IdPs' pages (Keycloak's login needs AUTH_SESSION_ID and KC_RESTART),
so it runs on a requests.Session (the library python-keycloak runs on) rather than the suite's
cookie-less HttpClient. Passwords and tokens are registered for redaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from harness.errors import InfrastructureError
from harness.redaction import register
from provisioning.lab.keycloak import URL, Broker
from provisioning.lab.keycloak_realms import API_CLIENT, PROVIDER_REALM, REDIRECT_URI, Customer, realm_url

ISSUER = realm_url(URL, PROVIDER_REALM)
MAX_STEPS = 20  # redirects and forms of one login; a Keycloak login through a SAML IdP takes 9


class LoginFailed(InfrastructureError):
    """The scripted browser did not get to the broker's redirect with a code (`page`: where it stopped)."""


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


def browser_login(broker: Broker, customer: Customer, login: str, timeout: float = 30.0) -> dict[str, Any]:
    """The broker's token response (id_token, access_token, ...) for `login` of `customer`; `timeout`
    seconds a request. LoginFailed naming the page it stopped at (a refused password shows the login form
    a second time: "...password was refused"), or naming the error when a server does not answer (a
    broker that is down: "... did not answer (ConnectionError)")."""
    try:
        return _login(broker, customer, login, timeout)
    except requests.RequestException as exc:
        raise LoginFailed(
            f"the login of {customer.username(login)} at {URL} did not answer ({type(exc).__name__})"
        ) from None


def _login(broker: Broker, customer: Customer, login: str, timeout: float) -> dict[str, Any]:
    password = customer.users[login].password
    register(password)
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
    with requests.Session() as session:
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over the broker's CA, and a proxy be used
        session.verify = str(broker.ca_file)
        response = session.get(
            f"{ISSUER}/protocol/openid-connect/auth?{urlencode(query)}", allow_redirects=False, timeout=timeout
        )
        logins = 0
        for _step in range(MAX_STEPS):
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
            where = response.url.split("?")[0]
            if response.status_code != 200 or not page.forms:
                raise LoginFailed(f"{response.status_code} '{page.title}' at {where}: no form to go on")
            form = page.forms[0]
            data = dict(form.inputs)
            if "username" in form.inputs or form.id == "kc-form-login":
                logins += 1
                if logins > 1:
                    raise LoginFailed(f"the login form of '{page.title}' came back: {login}'s password was refused")
                data |= {"username": login, "password": password}
            elif not {"SAMLRequest", "SAMLResponse"} & set(form.inputs):
                raise LoginFailed(f"'{page.title}' at {where} asks for form {form.id or form.action}")
            response = session.post(
                urljoin(response.url, form.action), data=data, allow_redirects=False, timeout=timeout
            )
        raise LoginFailed(f"no code after {MAX_STEPS} steps, last at {response.url.split('?')[0]}")


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
    register(*(value for key, value in tokens.items() if key.endswith("token") and isinstance(value, str)))
    return tokens


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the API server verifies; this only reads what it was given)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded
