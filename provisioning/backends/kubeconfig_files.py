"""Kubeconfigs that product APIs hand out (PKS binds, CredHub, OSB bindings): kept in private files."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InfrastructureError
from provisioning.backends.protocol import ClusterHandle, ClusterRequest


def private_directory(prefix: str) -> Path:
    """A new directory only the current user can read (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def write_private(directory: Path, name: str, text: str) -> Path:
    """Write `text` to `directory/name` with mode 0600 (created so, never world-readable in between)."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def parse(text: str | dict[str, Any], source: str) -> dict[str, Any]:
    """A kubeconfig given as YAML/JSON text or as a mapping; `source` names it in errors."""
    config = yaml.safe_load(text) if isinstance(text, str) else text
    if not isinstance(config, dict) or not config.get("clusters"):
        raise InfrastructureError(f"{source} did not return a kubeconfig (no clusters in it)")
    return config


def server_and_ca(config: dict[str, Any], source: str) -> tuple[str, bytes]:
    """The first cluster's API server URL and CA certificate (PEM)."""
    try:
        cluster = config["clusters"][0]["cluster"]
        server = str(cluster["server"])
    except (KeyError, IndexError, TypeError):
        raise InfrastructureError(f"{source} returned a kubeconfig without a cluster server") from None
    data = cluster.get("certificate-authority-data")
    ca = base64.b64decode(data) if data else b""
    return server, ca


def dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)


def admin_handle(
    request: ClusterRequest, backend: str, config: dict[str, Any], source: str, directory: Path, text: str = ""
) -> ClusterHandle:
    """Write a product's admin kubeconfig (0600) into `directory` and describe the cluster it opens."""
    path = write_private(directory, f"{request.placement.name}.kubeconfig", text or dump(config))
    return cluster_handle(request, backend, config, source, path)


def cluster_handle(
    request: ClusterRequest, backend: str, config: dict[str, Any], source: str, path: Path
) -> ClusterHandle:
    """The cluster an admin kubeconfig (`config`, kept at `path`) opens."""
    server, ca = server_and_ca(config, source)
    return ClusterHandle(
        name=request.placement.name,
        product=request.placement.product,
        server=server,
        ca_pem=ca,
        admin_kubeconfig=path,
        authorization=request.plan.authorization,
        backend=backend,
    )
