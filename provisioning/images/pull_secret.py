"""The registry login of a product's images: read from the environment or a Docker config file, and
the `kubernetes.io/dockerconfigjson` Secret that carries it into a tenant's namespace.

Format: Docker's config.json `{"auths": {HOST: {"auth": base64(user:password)}}}`, which the kubelet
reads from a dockerconfigjson Secret (kubernetes.io/docs/concepts/containers/images, "Specifying
imagePullSecrets on a Pod"). Every value is registered with the redactor before it is used.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.redaction import register
from provisioning.images.refs import PULL_SECRET, registry_host
from provisioning.images.spec import ImagesSpec

DockerConfig = dict[str, Any]


def docker_config(registry: str, username: str, password: str) -> DockerConfig:
    """A Docker config holding one login for the host of `registry` (HOST[:PORT][/PATH])."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    register(password, auth)
    return {"auths": {registry_host(registry): {"username": username, "password": password, "auth": auth}}}


def login(
    spec: ImagesSpec, environment: Mapping[str, str], base_dir: Path, source: str, where: str
) -> DockerConfig | None:
    """The Docker config for `spec`'s registry, or None if it needs no login. `where` is the field path of
    the product's images section. ConfigError: an environment variable is unset, the file is unreadable,
    or it holds no login for the registry's host."""
    secret = spec.pull_secret
    if secret is None:
        return None
    host = registry_host(spec.registry)
    if secret.file is None:
        assert secret.username_env is not None
        assert secret.password_env is not None
        values = {}
        for field, name in (("username_env", secret.username_env), ("password_env", secret.password_env)):
            value = environment.get(name, "")
            if not value:
                raise ConfigError(
                    source, f"{where}.pull_secret.{field}", f"environment variable {name} is not set (export it)"
                )
            values[field] = value
        return docker_config(spec.registry, values["username_env"], values["password_env"])
    path = (base_dir / Path(secret.file).expanduser()).resolve()
    try:
        data = json.loads(path.read_text())
        entry = data["auths"][host]
        auth = str(entry["auth"]) if entry.get("auth") else ""
        if not auth:
            user, password = str(entry["username"]), str(entry["password"])
            return docker_config(spec.registry, user, password)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"no login for {host} in it" if isinstance(exc, KeyError | TypeError) else f"cannot read it ({exc})"
        raise ConfigError(
            source,
            f"{where}.pull_secret.file",
            f"{path}: {problem} (fix: skopeo login {host} --authfile {path}, or name username_env and password_env)",
        ) from None
    register(auth, base64.b64decode(auth).decode(errors="replace").split(":", 1)[-1])
    return {"auths": {host: {"auth": auth}}}


def secret_manifest(namespace: str, config: DockerConfig, labels: Mapping[str, str]) -> dict[str, Any]:
    """The dockerconfigjson Secret `caas-images` of `namespace`, holding `config`."""
    encoded = base64.b64encode(json.dumps(config, sort_keys=True).encode()).decode()
    register(encoded)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": PULL_SECRET, "namespace": namespace, "labels": dict(labels)},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": encoded},
    }
