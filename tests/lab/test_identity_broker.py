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

The login is provisioning.lab.keycloak_login's scripted browser, the verdicts checks.rbac.federation's
(what the suite's federation checks will use). Besides the mapping itself: a user at the customer's IdP
named in every crafted group of checks.rbac.federation.crafted_group_names (another tenant's, `system:`,
in other case, in look-alike letters, 255 characters) stays inside its tenant's prefix, and the same user
collides as soon as the authenticator's CEL mapping drops the per-customer part (the mutation), and
check_rbac_012's cell for it (checks.rbac.federation.crafted_row) is then DENIED, a failure; a group
added at the customer's IdP shows at the next login, and is gone at the next login after its removal.

The broker is started once for the module (kept running if it already ran) and configured anew;
the figures (start, configuration, each login) are printed with -s.
"""

from __future__ import annotations

import copy
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from checks.matrix import Cell
from checks.rbac.federation import collisions, crafted_group_names, crafted_row, membership_differences
from harness.settings import Timeouts, lab_home
from harness.targets_broker import DEFAULT_GROUPS
from harness.wait import wait_until
from provisioning.http import HttpClient
from provisioning.kube import client as kube
from provisioning.lab import build, cluster, keycloak
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.keycloak_login import ISSUER, LoginFailed, browser_login, claims
from provisioning.lab.keycloak_realms import (
    API_CLIENT,
    GROUPS_CLAIM,
    PROVIDER_REALM,
    Customer,
    CustomerUser,
    jwt_authenticator,
    realm_url,
)
from tests.lab.inventory import suite_run_id

pytestmark = [pytest.mark.lab, pytest.mark.nightly]

PREFIX = os.environ.get("CAAS_CLUSTER_PREFIX", "")
CRAFTED = crafted_group_names(["green"])
BLUE = Customer(
    "blue",
    "oidc",
    {
        "alice": CustomerUser(secrets.token_urlsafe(12), ("developers", "viewers")),
        # groups named like another tenant's and like the cluster's own: they must stay blue's
        "mallory": CustomerUser(secrets.token_urlsafe(12), ("system:masters", "green:admins")),
        "eve": CustomerUser(secrets.token_urlsafe(12), CRAFTED),
    },
    client_secret=secrets.token_urlsafe(24),
)
GREEN = Customer("green", "saml", {"bob": CustomerUser(secrets.token_urlsafe(12), ("admins",))})
CUSTOMERS = (BLUE, GREEN)


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
            got[login] = browser_login(broker, customer, login)
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
    token = claims(tokens[login]["id_token"])
    assert token["iss"] == ISSUER
    assert token["aud"] == API_CLIENT
    assert token["preferred_username"] == customer.username(login)
    assert token["tenant"] == customer.tenant
    assert sorted(token["tenant_groups"]) == sorted(customer.users[login].groups)


def test_a_wrong_password_at_the_customer_gets_no_token(broker: keycloak.Broker) -> None:
    wrong = Customer(BLUE.tenant, BLUE.protocol, {"alice": CustomerUser("not-" + BLUE.users["alice"].password)})
    with pytest.raises(LoginFailed, match="password was refused"):
        browser_login(broker, wrong, "alice")


@pytest.fixture(scope="module")
def lab(broker: keycloak.Broker) -> Iterator[LabCluster]:
    """A pks cluster whose API server trusts the broker besides its own issuer."""
    paths = LabPaths(lab_home(dict(os.environ)))
    build.build_all(paths.home, dict(os.environ))
    name = f"{PREFIX}broker"
    if paths.cluster_dir(name).exists():
        cluster.down(paths, name)
    lab = cluster.up(paths, name, "pks", 1, Timeouts().lab_ready, run_id=suite_run_id("broker-test"))
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
    user = _accepted(lab, tokens[login]["id_token"], customer.username(login))
    assert user["username"] == f"oidc:{customer.username(login)}"
    assert sorted(user["groups"]) == sorted([*groups, "system:authenticated"])


def _accepted(lab: LabCluster, token: str, username: str) -> dict[str, Any]:
    """The SelfSubjectReview's user for `token`; the API server reloads its authentication file by
    itself, and until then the broker's tokens are unknown (401)."""
    started = time.monotonic()
    user = wait_until(
        lambda: _who(lab, token),
        bool,
        timeout=120,
        what=f"the API server of {lab.layout.name} to accept the broker's token of {username}",
        retry_on=(kube.ApiFailure,),
    )
    print(f"accepted {username} after {time.monotonic() - started:.1f}s")
    return user


def test_crafted_group_names_stay_inside_the_tenant_prefix(lab: LabCluster, tokens: dict[str, dict[str, Any]]) -> None:
    groups = _accepted(lab, tokens["eve"]["id_token"], BLUE.username("eve"))["groups"]
    assert collisions(BLUE.tenant, groups) == []
    assert membership_differences(BLUE.tenant, CRAFTED, groups) == []


def test_a_group_given_at_the_customer_counts_from_the_next_login_until_it_is_taken(
    lab: LabCluster, broker: keycloak.Broker
) -> None:
    admin = broker.admin(BLUE.realm)
    group = admin.create_group({"name": "operators"})
    user = admin.get_user_id("alice")
    assert group
    assert user
    before = BLUE.users["alice"].groups
    started = time.monotonic()
    admin.group_user_add(user, group)
    given = _accepted(lab, browser_login(broker, BLUE, "alice")["id_token"], BLUE.username("alice"))["groups"]
    granted = time.monotonic()
    admin.group_user_remove(user, group)
    taken = _accepted(lab, browser_login(broker, BLUE, "alice")["id_token"], BLUE.username("alice"))["groups"]
    print(f"group given: {granted - started:.1f}s to a token with it, taken: {time.monotonic() - granted:.1f}s")
    assert membership_differences(BLUE.tenant, [*before, "operators"], given) == []
    assert membership_differences(BLUE.tenant, before, taken) == []


def test_without_the_per_customer_prefix_crafted_groups_collide(
    lab: LabCluster, broker: keycloak.Broker, tokens: dict[str, dict[str, Any]]
) -> None:
    """The mutation: the authenticator's CEL mapping names groups `oidc:<group>` (the tenant dropped),
    so a customer's group named like another tenant's lands in it; run last, as it rewrites the file."""
    token = tokens["eve"]["id_token"]
    kept = _accepted(lab, token, BLUE.username("eve"))["groups"]
    mutated = copy.deepcopy(jwt_authenticator(realm_url(keycloak.URL, PROVIDER_REALM), broker.ca_file.read_bytes()))
    mutated["claimMappings"]["groups"]["expression"] = f"dyn(claims.{GROUPS_CLAIM}).map(g, 'oidc:' + g)"
    keycloak.trust(lab.layout, broker, mutated)
    try:
        mapped = wait_until(
            lambda: _who(lab, token)["groups"],
            lambda groups: sorted(groups) != sorted(kept),
            timeout=120,
            what=f"the API server of {lab.layout.name} to reload the mutated authenticator",
            retry_on=(kube.ApiFailure,),
        )
        found = collisions(BLUE.tenant, mapped)
        assert "oidc:green:admins" in found
        assert len(found) == len(CRAFTED)
        cell, evidence = crafted_row(BLUE.tenant, CRAFTED, lambda: token, lambda t: _who(lab, t), DEFAULT_GROUPS)
        assert cell is Cell.DENIED, f"check_rbac_012 would not fail: {evidence}"
    finally:
        keycloak.trust(lab.layout, broker)
        wait_until(
            lambda: _who(lab, token)["groups"],
            lambda groups: sorted(groups) == sorted(kept),
            timeout=120,
            what=f"the API server of {lab.layout.name} to reload the broker's own authenticator",
            retry_on=(kube.ApiFailure,),
        )


def test_a_broker_that_is_down_gives_error_never_a_denial(lab: LabCluster, broker: keycloak.Broker) -> None:
    """(e) of #24: with the broker stopped, check_rbac_012's cell is ERROR naming the login that got no
    answer; run last, as it restarts the broker (the start-up time and memory are printed)."""
    keycloak.down(broker.home)
    try:
        cell, evidence = crafted_row(
            BLUE.tenant,
            CRAFTED,
            lambda: browser_login(broker, BLUE, "eve", timeout=10)["id_token"],
            lambda token: _who(lab, token),
            DEFAULT_GROUPS,
        )
    finally:
        started = time.monotonic()
        keycloak.up(broker.home)
        memory = keycloak.resident_kib(broker) // 1024
        print(f"broker restart to ready: {time.monotonic() - started:.1f}s, RSS {memory} MiB")
    assert cell is Cell.ERROR, evidence
    assert "did not answer" in evidence
