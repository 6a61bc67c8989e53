"""A provisioned tenancy written to a private file and read back, so that one process provisions
and others (pytest-xdist workers) use the same clusters, tenants and credentials.

The file holds credentials: it is created with mode 0600 in a directory only its owner can read,
and removed by the process that wrote it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.model.tenancy import Authenticator, AuthorizationMode, TenancyModel
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _credential(credential: Credential) -> dict[str, Any]:
    return {
        "cert_pem": _b64(credential.cert_pem),
        "key_pem": _b64(credential.key_pem),
        "token": credential.token,
        "kubeconfig": str(credential.kubeconfig) if credential.kubeconfig else None,
        "context": credential.context,
        "impersonate": [credential.impersonate[0], list(credential.impersonate[1])] if credential.impersonate else None,
        "fallback_reason": credential.fallback_reason,
    }


def _read_credential(data: dict[str, Any]) -> Credential:
    impersonate = data.get("impersonate")
    return Credential(
        cert_pem=_unb64(data["cert_pem"]),
        key_pem=_unb64(data["key_pem"]),
        token=data["token"],
        kubeconfig=Path(data["kubeconfig"]) if data["kubeconfig"] else None,
        context=data["context"],
        impersonate=(impersonate[0], tuple(impersonate[1])) if impersonate else None,
        fallback_reason=data.get("fallback_reason", ""),
    )


def dump(tenancy: ProvisionedTenancy) -> dict[str, Any]:
    """Everything a reader needs besides the tenancy model (tenants are named, not copied)."""
    return {
        "product": tenancy.product.name,
        "run_id": tenancy.run_id,
        "timings": tenancy.timings,
        "clusters": [
            {
                "handle": {
                    "name": c.handle.name,
                    "product": c.handle.product,
                    "server": c.handle.server,
                    "ca_pem": _b64(c.handle.ca_pem),
                    "admin_kubeconfig": str(c.handle.admin_kubeconfig),
                    "authorization": c.handle.authorization.value,
                    "backend": c.handle.backend,
                    "context": c.handle.context,
                },
                "tenants": [t.name for t in c.tenants],
                "credentials": {user: _credential(cred) for user, cred in c.credentials.items()},
                "onboarding_seconds": c.onboarding_seconds,
                "authenticators": [a.value for a in c.authenticators],
            }
            for c in tenancy.clusters
        ],
    }


def load(data: dict[str, Any], model: TenancyModel) -> ProvisionedTenancy:
    """The tenancy `dump` described, with tenants taken from the same model."""
    product = model.product(data["product"])
    tenants = {t.name: t for t in model.tenants.get(product.name, ())}
    tenancy = ProvisionedTenancy(product, data["run_id"], timings=dict(data["timings"]))
    for entry in data["clusters"]:
        h = entry["handle"]
        handle = ClusterHandle(
            name=h["name"],
            product=h["product"],
            server=h["server"],
            ca_pem=_unb64(h["ca_pem"]) or b"",
            admin_kubeconfig=Path(h["admin_kubeconfig"]),
            authorization=AuthorizationMode(h["authorization"]),
            backend=h["backend"],
            context=h["context"],
        )
        tenancy.clusters.append(
            ProvisionedCluster(
                handle,
                tuple(tenants[name] for name in entry["tenants"]),
                {user: _read_credential(c) for user, c in entry["credentials"].items()},
                dict(entry["onboarding_seconds"]),
                tuple(Authenticator(a) for a in entry.get("authenticators", [Authenticator.CERTIFICATE.value])),
            )
        )
    return tenancy


def write_private(path: Path, tenancies: list[ProvisionedTenancy]) -> None:
    """Write the tenancies to `path` (mode 0600; its directory should be private too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump([dump(t) for t in tenancies], out)


def read(path: Path, model: TenancyModel) -> dict[str, ProvisionedTenancy]:
    """Product name -> its tenancy, as written by `write_private`."""
    return {entry["product"]: load(entry, model) for entry in json.loads(path.read_text())}
