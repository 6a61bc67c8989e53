"""OIDC identities in the pure model and in what the lab writes for its issuer (no cluster).

An OIDC identity is the certificate identity's person under the names the API server gives ID
tokens (`oidc:` before user and groups); onboarding binds the groups of every authenticator the
cluster offers, and the required policy agrees; the issuer's users file holds salted hashes only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.lab import configs, oidc
from provisioning.lab.layout import ClusterLayout
from provisioning.model.access import request_of, required_policy
from provisioning.model.mutations import Mutation
from provisioning.model.onboarding import abac_policy_lines, tenant_manifests
from provisioning.model.tenancy import (
    CERTIFICATE_ONLY,
    Authenticator,
    AuthorizationMode,
    Plan,
    Product,
    Role,
    Tenant,
)
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from provisioning.tenancy_state import read, write_private

BOTH = (Authenticator.CERTIFICATE, Authenticator.OIDC)
BLUE, GREEN = Tenant("blue", "small"), Tenant("green", "small")
PRODUCT = Product("pks", "lab", (Plan("small"),))


def test_oidc_identities_are_the_same_people_under_prefixed_names() -> None:
    certificate, token = BLUE.identities_for(BOTH)[0], BLUE.identities_for(BOTH)[3]
    assert (certificate.user, certificate.groups) == ("blue-admin", ("blue:admins", "blue:members"))
    assert (token.user, token.groups) == ("oidc:blue-admin", ("oidc:blue:admins", "oidc:blue:members"))
    assert (token.tenant, token.role, token.authenticator) == ("blue", Role.ADMIN, Authenticator.OIDC)
    # The ID token carries the unprefixed names; the API server adds the prefix.
    assert (token.login, token.claimed_groups) == ("blue-admin", ("blue:admins", "blue:members"))
    assert BLUE.identities == BLUE.identities_for(CERTIFICATE_ONLY)
    assert [i.user for i in BLUE.identities_for(BOTH)] == [
        "blue-admin",
        "blue-developer",
        "blue-viewer",
        "oidc:blue-admin",
        "oidc:blue-developer",
        "oidc:blue-viewer",
    ]


def test_no_oidc_name_can_be_a_system_name() -> None:
    for identity in (i for t in (BLUE, GREEN) for i in t.identities_for(BOTH) if i.authenticator is Authenticator.OIDC):
        assert not identity.user.startswith("system:")
        assert not any(g.startswith("system:") for g in identity.groups)


def test_role_bindings_name_the_groups_of_every_authenticator_the_cluster_offers() -> None:
    bindings = [
        m for m in tenant_manifests(BLUE, Plan("small"), "run-1", authenticators=BOTH) if m["kind"] == "RoleBinding"
    ]
    assert {b["metadata"]["name"]: [s["name"] for s in b["subjects"]] for b in bindings} == {
        "tenant-admins": ["blue:admins", "oidc:blue:admins"],
        "tenant-developers": ["blue:developers", "oidc:blue:developers"],
        "tenant-viewers": ["blue:viewers", "oidc:blue:viewers"],
    }
    # Certificate-only clusters get exactly what they got before.
    only = [m for m in tenant_manifests(BLUE, Plan("small"), "run-1") if m["kind"] == "RoleBinding"]
    assert [[s["name"] for s in b["subjects"]] for b in only] == [
        ["blue:admins"],
        ["blue:developers"],
        ["blue:viewers"],
    ]


def test_the_cluster_admin_mutation_and_abac_lines_cover_every_authenticator() -> None:
    mutated = tenant_manifests(BLUE, Plan("small"), "run-1", Mutation.CLUSTER_ADMIN, BOTH)[-1]
    assert [s["name"] for s in mutated["subjects"]] == ["blue:admins", "oidc:blue:admins"]
    groups = [line["group"] for line in abac_policy_lines(BLUE, BOTH)]
    assert groups == [
        "blue:admins",
        "blue:developers",
        "blue:viewers",
        "oidc:blue:admins",
        "oidc:blue:developers",
        "oidc:blue:viewers",
    ]
    assert abac_policy_lines(BLUE) == abac_policy_lines(BLUE, CERTIFICATE_ONLY)[:3]


@pytest.mark.parametrize("authenticator", list(Authenticator))
def test_the_required_policy_gives_each_authenticator_its_role_in_its_own_namespace_only(
    authenticator: Authenticator,
) -> None:
    policy = required_policy(PRODUCT, (BLUE, GREEN), BOTH)
    admin, _developer, viewer = BLUE.identities_for((authenticator,))
    assert policy.allows(request_of(admin, "delete", "", "secrets", "tenant-blue"))
    assert not policy.allows(request_of(admin, "get", "", "secrets", "tenant-green"))
    assert not policy.allows(request_of(viewer, "get", "", "secrets", "tenant-blue"))
    assert policy.allows(request_of(viewer, "list", "", "pods", "tenant-blue"))


def test_a_certificate_only_policy_grants_oidc_identities_nothing() -> None:
    policy = required_policy(PRODUCT, (BLUE,))
    token_admin = BLUE.identities_for((Authenticator.OIDC,))[0]
    assert not policy.allows(request_of(token_admin, "list", "", "pods", "tenant-blue"))


def _handle() -> ClusterHandle:
    return ClusterHandle("pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab")


def test_the_provisioned_tenancy_knows_every_identity_and_keeps_them_across_processes(tmp_path: Path) -> None:
    model = load_targets(DEFAULT_TARGETS).model
    tenants = model.tenants["pks"][:2]
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    credentials = {"oidc:blue-admin": Credential(token="header.claims.signature")}
    tenancy.clusters.append(ProvisionedCluster(_handle(), tenants, credentials, {}, BOTH))
    assert tenancy.identity("oidc:blue-admin").authenticator is Authenticator.OIDC
    assert tenancy.identity("blue-admin").authenticator is Authenticator.CERTIFICATE
    assert len(tenancy.clusters[0].identities) == 12
    with pytest.raises(KeyError, match="oidc:<tenant>-<role>"):
        tenancy.identity("oidc:purple-admin")
    path = tmp_path / "state.json"
    write_private(path, [tenancy])
    assert read(path, model)["pks"] == tenancy


def test_the_api_server_trusts_the_issuer_with_prefixed_claims_only() -> None:
    layout = ClusterLayout("oi-x", 7, 1, Path("/lab/oi-x"))
    url = oidc.issuer_url(layout)
    assert url == "https://10.213.7.10:5556"
    document = json.loads(configs.authentication_config([oidc.jwt_authenticator(url, b"CA PEM")]))
    (jwt,) = document["jwt"]
    assert jwt["issuer"] == {"url": url, "audiences": ["kubernetes"], "certificateAuthority": "CA PEM"}
    assert jwt["claimMappings"] == {
        "username": {"claim": "sub", "prefix": "oidc:"},
        "groups": {"claim": "groups", "prefix": "oidc:"},
    }
    assert all("oidc:" in rule["expression"] for rule in jwt["userValidationRules"])


def test_the_issuer_command_line_names_files_never_secrets() -> None:
    layout = ClusterLayout("oi-x", 7, 1, Path("/lab/oi-x"))
    argv = oidc.issuer_argv(Path("/bin/caas-oidc"), layout)
    assert "--client-secret-file=/lab/oi-x/oidc/client-secret" in argv
    assert "--signing-key=/lab/oi-x/oidc/signing.key" in argv
    assert all(str(layout.directory) in a for a in argv if a.startswith(("--users", "--tls-", "--signing")))


def test_the_users_file_holds_salted_hashes_that_verify_and_is_private(tmp_path: Path) -> None:
    files = oidc.IssuerFiles(tmp_path / "oidc")
    oidc.create_files(files)
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for path in (files.signing_key, files.client_secret, files.users):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert oidc.read_users(files) == {}
    oidc.add_users(files, [oidc.user_entry("blue-admin", "pa55-word", ["blue:admins"])])
    oidc.add_users(files, [oidc.user_entry("green-admin", "other", ["green:admins"])])
    oidc.add_users(files, [oidc.user_entry("blue-admin", "new-word", ["blue:admins", "blue:members"])])
    users = oidc.read_users(files)
    assert sorted(users) == ["blue-admin", "green-admin"]
    entry = users["blue-admin"]
    assert "new-word" not in files.users.read_text()
    salt = base64.b64decode(entry["salt"])
    assert len(salt) == 16
    assert entry["iterations"] >= 100_000
    derived = hashlib.pbkdf2_hmac("sha256", b"new-word", salt, entry["iterations"], dklen=32)
    assert base64.b64decode(entry["hash"]) == derived
    assert entry["groups"] == ["blue:admins", "blue:members"]
    assert oidc.user_entry("x", "same", [])["salt"] != oidc.user_entry("x", "same", [])["salt"]
