"""The OIDC issuer of a lab cluster (`caas-oidc`, the subset of Dex the suite needs), as PKS used UAA.

Each cluster of a profile with `oidc` runs its own issuer on the control-plane host, with a serving
certificate from the cluster CA, its own RSA signing key and one client (the API server's audience).
The API server's structured authentication file trusts it through a JWT authenticator that prefixes
every user and group it vouches for with `oidc:`, so the issuer can never name a `system:` user or
group. Users (login, salted PBKDF2 hash, groups) are written to the issuer's users file at
onboarding; the issuer reads that file again whenever it changes. Secrets live in files of mode 0600
under a directory of mode 0700, never on a command line (command lines are recorded in state.json).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.redaction import register
from provisioning.lab.layout import ClusterLayout
from provisioning.model.tenancy import Authenticator

PROGRAM = "caas-oidc"
PORT = 5556
CLIENT_ID = "kubernetes"  # the one client; the ID tokens' audience
# An ID token outlives a whole run (the suite fetches each identity's token once, at onboarding).
TOKEN_LIFETIME = "12h"  # noqa: S105 (a duration, not a secret)
PBKDF2_ITERATIONS = 100_000  # the issuer refuses fewer than 10,000
USERNAME_CLAIM = "sub"
GROUPS_CLAIM = "groups"


@dataclass(frozen=True)
class IssuerFiles:
    """Where a cluster's issuer keeps its key, client secret and users."""

    directory: Path

    @classmethod
    def of(cls, layout: ClusterLayout) -> IssuerFiles:
        return cls(layout.directory / "oidc")

    @property
    def signing_key(self) -> Path:
        return self.directory / "signing.key"

    @property
    def client_secret(self) -> Path:
        return self.directory / "client-secret"

    @property
    def users(self) -> Path:
        return self.directory / "users.json"


def issuer_url(layout: ClusterLayout) -> str:
    return f"https://{layout.control_plane.ip}:{PORT}"


def jwt_authenticator(url: str, ca_pem: bytes, client_id: str = CLIENT_ID) -> dict[str, Any]:
    """The API server's JWT authenticator for one issuer: names prefixed, never a `system:` user or group."""
    prefix = Authenticator.OIDC.prefix
    return {
        "issuer": {"url": url, "audiences": [client_id], "certificateAuthority": ca_pem.decode()},
        "claimMappings": {
            "username": {"claim": USERNAME_CLAIM, "prefix": prefix},
            "groups": {"claim": GROUPS_CLAIM, "prefix": prefix},
        },
        "userValidationRules": [
            {
                "expression": f"user.username.startsWith('{prefix}')",
                "message": f"users of this issuer are named {prefix}<login>",
            },
            {
                "expression": f"user.groups.all(g, g.startsWith('{prefix}'))",
                "message": f"groups of this issuer are named {prefix}<group>",
            },
        ],
    }


def issuer_argv(program: Path, layout: ClusterLayout) -> list[str]:
    files = IssuerFiles.of(layout)
    return [
        str(program),
        f"--issuer={issuer_url(layout)}",
        f"--listen={layout.control_plane.ip}:{PORT}",
        f"--tls-cert={layout.pki / 'oidc.crt'}",
        f"--tls-key={layout.pki / 'oidc.key'}",
        f"--signing-key={files.signing_key}",
        f"--users={files.users}",
        f"--client-id={CLIENT_ID}",
        f"--client-secret-file={files.client_secret}",
        f"--token-lifetime={TOKEN_LIFETIME}",
    ]


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600, atomically (the issuer may read it at any moment)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def create_files(files: IssuerFiles) -> None:
    """A new signing key and client secret, and no users yet."""
    files.directory.mkdir(mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    register(key_pem)
    _write_private(files.signing_key, key_pem)
    _write_private(files.client_secret, new_secret().encode())
    write_users(files, {})


def new_secret() -> str:
    secret = secrets.token_urlsafe(24)
    register(secret)
    return secret


def client_secret(files: IssuerFiles) -> str:
    secret = files.client_secret.read_text().strip()
    register(secret)
    return secret


def user_entry(
    login: str, password: str, groups: Iterable[str], *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> dict[str, Any]:
    """A users-file entry: the password only as PBKDF2-HMAC-SHA256 of a random salt."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=32)
    return {
        "login": login,
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
        "hash": base64.b64encode(digest).decode(),
        "groups": list(groups),
    }


def read_users(files: IssuerFiles) -> dict[str, dict[str, Any]]:
    users: list[dict[str, Any]] = json.loads(files.users.read_text())["users"]
    return {u["login"]: u for u in users}


def write_users(files: IssuerFiles, entries: Mapping[str, dict[str, Any]]) -> None:
    """Replace the users of the file by `entries` (login -> entry)."""
    document = {"users": [entries[login] for login in sorted(entries)]}
    _write_private(files.users, json.dumps(document, indent=1).encode())


def add_users(files: IssuerFiles, entries: Iterable[dict[str, Any]]) -> None:
    """Add (or replace, by login) users in the file, keeping the others."""
    users = read_users(files)
    users.update({e["login"]: e for e in entries})
    write_users(files, users)
