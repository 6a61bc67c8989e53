"""OIDC on the lab's `pks` profile: each cluster's own issuer, trusted by its API server only.

On a real `pks` lab cluster: an ID token from a real password grant authenticates as `oidc:<login>`
in the prefixed groups and works through the RoleBindings of those groups; a wrong password, an
unknown user or client gets the RFC 6749 error and no token; a token signed by another key, for
another audience, expired, or from another cluster's issuer is unauthenticated (401), which the
suite's observation classifies as ERROR, never as a denial, while a well-formed token signed with
the issuer's key is accepted (the positive control that makes those 401s mean something); after
`caas lab down` the issuer's process and files are gone.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from checks.matrix import Cell
from checks.rbac.access import Probe, real_request
from harness.settings import Timeouts, lab_home
from provisioning.backends.oidc import GrantRefused, password_grant
from provisioning.http import HttpFailure, basic_auth
from provisioning.kube import client as kube
from provisioning.lab import build, cluster, host, oidc
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.model.onboarding import collection_path, tenant_manifests
from provisioning.model.tenancy import Authenticator, Plan, Tenant
from tests.lab.inventory import suite_run_id

pytestmark = pytest.mark.lab

PREFIX = os.environ.get("CAAS_CLUSTER_PREFIX", "")
RUN_ID = suite_run_id("oidc-test")
BLUE = Tenant("blue", "small")
ADMIN = BLUE.identities_for((Authenticator.OIDC,))[0]  # oidc:blue-admin
LIST_PODS = Probe(ADMIN.user, ADMIN.user, "list pods", {}, "GET", "/api/v1/namespaces/tenant-blue/pods")
LIST_SYSTEM_PODS = Probe(ADMIN.user, ADMIN.user, "list pods", {}, "GET", "/api/v1/namespaces/kube-system/pods")


@pytest.fixture(scope="module")
def paths() -> LabPaths:
    paths = LabPaths(lab_home(dict(os.environ)))
    build.build_all(paths.home, dict(os.environ))
    return paths


def _fresh(paths: LabPaths, name: str) -> LabCluster:
    if paths.cluster_dir(name).exists():
        cluster.down(paths, name)
    return cluster.up(paths, name, "pks", 1, Timeouts().lab_ready, run_id=RUN_ID)


def _down(paths: LabPaths, name: str) -> None:
    if paths.cluster_dir(name).exists():  # the last test takes them down itself
        cluster.down(paths, name)


@pytest.fixture(scope="module")
def labs(paths: LabPaths) -> Iterator[tuple[LabCluster, LabCluster]]:
    """Two pks clusters started side by side, each with an issuer of its own (same client id, same
    logins); the first has tenant blue onboarded for both authenticators."""
    names = (f"{PREFIX}oidc", f"{PREFIX}oidc-other")
    try:
        with ThreadPoolExecutor(len(names)) as pool:
            first, other = pool.map(lambda name: _fresh(paths, name), names)
        api = first.admin_api()
        try:
            for manifest in tenant_manifests(BLUE, Plan("small"), RUN_ID, authenticators=tuple(Authenticator)):
                kube.request(api, "POST", collection_path(manifest), body=manifest)
        finally:
            api.close()
        yield first, other
    finally:
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda name: _down(paths, name), names))


@pytest.fixture(scope="module")
def lab(labs: tuple[LabCluster, LabCluster]) -> LabCluster:
    return labs[0]


@pytest.fixture(scope="module")
def other_lab(labs: tuple[LabCluster, LabCluster]) -> LabCluster:
    return labs[1]


def _add_user(lab: LabCluster, login: str, groups: tuple[str, ...]) -> str:
    password = oidc.new_secret()
    oidc.add_users(oidc.IssuerFiles.of(lab.layout), [oidc.user_entry(login, password, groups)])
    return password


def _grant(lab: LabCluster, login: str, password: str, client_secret: str | None = None) -> str:
    issuer = lab.issuer_client()
    try:
        secret = oidc.client_secret(oidc.IssuerFiles.of(lab.layout)) if client_secret is None else client_secret
        return password_grant(issuer, oidc.CLIENT_ID, secret, login, password)
    finally:
        issuer.close()


def _api(lab: LabCluster, token: str) -> Any:
    ca = (lab.layout.pki / "ca.crt").read_bytes()
    return kube.api_client(kube.Cluster(lab.layout.api_server_url, ca), token=token, timeout=10)


def _who(lab: LabCluster, token: str) -> dict[str, Any]:
    """The user the API server makes of `token` (SelfSubjectReview); raises ApiFailure (401) if none."""
    api = _api(lab, token)
    try:
        return kube.who_am_i(api)
    finally:
        api.close()


def _observe(lab: LabCluster, token: str, probe: Probe = LIST_PODS) -> tuple[Cell, str]:
    api = _api(lab, token)
    try:
        return real_request(api, probe)
    finally:
        api.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _sign(key_pem: bytes, kid: str, claims: dict[str, Any]) -> str:
    """A compact RS256 JWT, as an attacker holding (or not holding) the issuer's key would make it."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _kid(lab: LabCluster) -> str:
    issuer = lab.issuer_client()
    try:
        (key,) = issuer.request("GET", "/keys").json()["keys"]
    finally:
        issuer.close()
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    return str(key["kid"])


def test_discovery_names_the_issuer_its_keys_and_its_token_endpoint(lab: LabCluster) -> None:
    url = oidc.issuer_url(lab.layout)
    issuer = lab.issuer_client()
    try:
        document = issuer.request("GET", "/.well-known/openid-configuration").json()
    finally:
        issuer.close()
    assert document["issuer"] == url
    assert document["jwks_uri"] == f"{url}/keys"
    assert document["token_endpoint"] == f"{url}/token"
    assert document["grant_types_supported"] == ["password"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert _kid(lab)


def test_a_password_grant_token_is_the_prefixed_user_in_the_prefixed_groups(lab: LabCluster) -> None:
    password = _add_user(lab, ADMIN.login, ADMIN.claimed_groups)  # added while the issuer runs
    started = time.monotonic()
    token = _grant(lab, ADMIN.login, password)
    granted = time.monotonic() - started
    claims = _claims(token)
    assert claims["iss"] == oidc.issuer_url(lab.layout)
    assert claims["aud"] == oidc.CLIENT_ID
    assert claims["sub"] == "blue-admin"
    assert claims["groups"] == ["blue:admins", "blue:members"]
    assert claims["exp"] - claims["iat"] == 12 * 3600
    user = _who(lab, token)
    assert user["username"] == "oidc:blue-admin"
    assert sorted(user["groups"]) == ["oidc:blue:admins", "oidc:blue:members", "system:authenticated"]
    # The RoleBinding of the prefixed group gives the admin its namespace, and nothing else.
    assert _observe(lab, token)[0] is Cell.ALLOWED
    assert _observe(lab, token, LIST_SYSTEM_PODS)[0] is Cell.DENIED
    assert granted < 2.0, f"a password grant took {granted:.2f}s"


def test_a_wrong_password_an_unknown_user_or_client_get_no_token(lab: LabCluster) -> None:
    password = _add_user(lab, "blue-viewer", ("blue:viewers", "blue:members"))
    assert _grant(lab, "blue-viewer", password)  # positive control: the right password works
    for login, attempt, secret, status, error in (
        ("blue-viewer", password + "x", None, 400, "invalid_grant"),
        ("nobody", password, None, 400, "invalid_grant"),
        ("blue-viewer", password, "not-the-client-secret", 401, "invalid_client"),
    ):
        with pytest.raises(GrantRefused) as refused:
            _grant(lab, login, attempt, secret)
        assert (refused.value.status, refused.value.error) == (status, error)
        assert attempt not in str(refused.value)
    files = oidc.IssuerFiles.of(lab.layout)
    basic = {"Authorization": basic_auth(oidc.CLIENT_ID, oidc.client_secret(files))}
    issuer = lab.issuer_client()
    try:
        for form, error in (
            ({"grant_type": "client_credentials", "scope": "openid"}, "unsupported_grant_type"),
            (
                {"grant_type": "password", "scope": "profile", "username": "blue-viewer", "password": password},
                "invalid_scope",
            ),
        ):
            with pytest.raises(HttpFailure) as refused_form:
                issuer.request("POST", "/token", form=form, headers=basic)
            assert (refused_form.value.status, refused_form.value.error_code) == (400, error)
    finally:
        issuer.close()
    # A user removed from the file is refused at once: the issuer reads the file again when it changes.
    users = oidc.read_users(oidc.IssuerFiles.of(lab.layout))
    del users["blue-viewer"]
    oidc.write_users(oidc.IssuerFiles.of(lab.layout), users)
    with pytest.raises(GrantRefused, match="invalid_grant"):
        _grant(lab, "blue-viewer", password)


def test_tokens_the_cluster_did_not_issue_are_unauthenticated_never_denied(
    lab: LabCluster, other_lab: LabCluster
) -> None:
    key_pem = oidc.IssuerFiles.of(lab.layout).signing_key.read_bytes()
    now = int(time.time())
    good = {
        "iss": oidc.issuer_url(lab.layout),
        "sub": "blue-admin",
        "aud": oidc.CLIENT_ID,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "groups": ["blue:admins", "blue:members"],
    }
    kid = _kid(lab)
    # Positive control: well-formed claims signed with the issuer's own key are accepted, so each 401
    # below is owed to the one thing that differs.
    assert _who(lab, _sign(key_pem, kid, good))["username"] == "oidc:blue-admin"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    password = _add_user(other_lab, "blue-admin", ("blue:admins", "blue:members"))
    foreign = _grant(other_lab, "blue-admin", password)
    assert _who(other_lab, foreign)["username"] == "oidc:blue-admin"  # good where it was issued
    forged = {
        "signed by another key": _sign(other_key, kid, good),
        "for another audience": _sign(key_pem, kid, {**good, "aud": "another-client"}),
        "expired": _sign(key_pem, kid, {**good, "iat": now - 1200, "nbf": now - 1200, "exp": now - 600}),
        "from another cluster's issuer": foreign,
    }
    for why, token in forged.items():
        with pytest.raises(kube.ApiFailure) as failure:
            _who(lab, token)
        assert failure.value.status == 401, f"a token {why}: {failure.value}"
        cell, evidence = _observe(lab, token)
        assert cell is Cell.ERROR, f"a token {why} was observed as {cell.value} ({evidence})"


def test_lab_down_removes_the_issuers_and_their_files(labs: tuple[LabCluster, LabCluster], paths: LabPaths) -> None:
    issuers = [d.pid for lab in labs for d in lab.state.daemons if d.component == "oidc-issuer"]
    assert len(issuers) == len(labs)
    assert all(host.is_running(pid) for pid in issuers)
    with ThreadPoolExecutor(len(labs)) as pool:  # side by side, as they came up
        list(pool.map(lambda lab: cluster.down(paths, lab.layout.name), labs))
    assert not [pid for pid in issuers if host.is_running(pid)], "an issuer outlived its cluster"
    for lab in labs:
        directory = lab.layout.directory
        assert not directory.exists(), f"{directory} (with the issuer's key and users) is left"
        assert not host.processes_of(directory, lambda _top: False), "a process still names the cluster's files"
