"""One product's targets and the files they name, as the data of one Secret (pure, reads files only).

A Job runs the suite on one product of a kubeconfig target. It reads its targets file and every file
that file names from a Secret mounted at MOUNT: the run's own copy of the targets
(harness/run_targets.py: paths absolute) reduced to the product, each path rewritten to its Secret
key under MOUNT, and each kubeconfig flattened (its certificate and key files inlined as `*-data`, as
`kubectl config view --flatten` does): the pod has none of this machine's files.

Only the `kubeconfig` backend runs in a Job: the `lab` backend builds its clusters on this machine,
and the others name environment variables (passwords, tokens) that a pod does not have.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

MOUNT = "/etc/caas"
TARGETS_KEY = "targets.yaml"
ON_CLUSTER_BACKENDS = ("kubeconfig",)
_KEY_CHARACTERS = re.compile(r"[^-._a-zA-Z0-9]")
# kubeconfig fields naming a file -> the field holding the same content inline (base64)
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}
_USER_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}


def secret_key(index: int, path: str) -> str:
    """The Secret key of the `index`th file, e.g. `file1-admin.kubeconfig` (Secret keys allow only
    `-._a-zA-Z0-9`, at most 253 characters)."""
    return f"file{index}-" + _KEY_CHARACTERS.sub("_", Path(path).name)[:200]


def flattened_kubeconfig(text: str, base_dir: Path, where: str) -> str:
    """The kubeconfig `text` with every certificate and key file it names inlined (paths relative to
    `base_dir`, as kubectl reads them). Raises ConfigError (at `where`) for a user that runs a program
    (`exec`, `auth-provider`) or reads a token file: the Job's pod has neither."""
    config = yaml.safe_load(text)
    if not isinstance(config, dict):
        raise ConfigError(where, "", "the kubeconfig is not a YAML mapping (fix: give a kubeconfig file)")
    for entry in config.get("clusters") or []:
        _inline(entry.get("cluster") or {}, _CLUSTER_FILES, base_dir, where)
    for entry in config.get("users") or []:
        user = entry.get("user") or {}
        for field in ("exec", "auth-provider", "tokenFile"):
            if field in user:
                raise ConfigError(
                    where,
                    "",
                    f'user "{entry.get("name", "")}" has `{field}`, which a Job\'s pod cannot run or read '
                    "(fix: a kubeconfig whose users hold a client certificate or a token, or run locally)",
                )
        _inline(user, _USER_FILES, base_dir, where)
    return yaml.safe_dump(config, sort_keys=False)


def _inline(section: dict[str, Any], fields: dict[str, str], base_dir: Path, where: str) -> None:
    for field, data_field in fields.items():
        if field not in section:
            continue
        path = base_dir / Path(str(section.pop(field))).expanduser()
        try:
            section[data_field] = base64.b64encode(path.read_bytes()).decode()
        except OSError as exc:
            raise ConfigError(
                where, "", f"cannot read {field} {path}: {exc.strerror} (fix: name a readable file)"
            ) from None


def product_bundle(run_targets: dict[str, Any], product: str, where: str) -> dict[str, bytes]:
    """Secret data for `product`: TARGETS_KEY (the targets reduced to it, paths under MOUNT) and a key per
    file it names. `run_targets` is a run's copy of its targets (paths absolute); `where` names the
    targets file in errors. Raises ConfigError for a product whose backend is not one of
    ON_CLUSTER_BACKENDS, or a file that cannot be read."""
    listed = [p.get("name") for p in run_targets.get("products", [])]
    if product not in listed:
        raise ConfigError(where, "", f'no product "{product}" (fix: name a product of the targets file)')
    index = listed.index(product)
    entry = run_targets["products"][index]
    backend = entry.get("backend", "lab")
    if backend not in ON_CLUSTER_BACKENDS:
        raise ConfigError(
            where,
            f"products[{index}].backend",
            f"--on-cluster runs only products on the {', '.join(ON_CLUSTER_BACKENDS)} backend, not {backend} "
            "(fix: run this product locally, or reach its clusters through a kubeconfig)",
        )
    entry = yaml.safe_load(yaml.safe_dump(entry))  # a deep copy
    files: dict[str, bytes] = {}

    def moved(path: str, kubeconfig: bool = False) -> str:
        key = secret_key(len(files), path)
        source = Path(path)
        try:
            content = source.read_bytes()
        except OSError as exc:
            raise ConfigError(where, "", f"cannot read {path}: {exc.strerror} (fix: name a readable file)") from None
        if kubeconfig:
            content = flattened_kubeconfig(content.decode(), source.parent, f"{where}: {path}").encode()
        files[key] = content
        return f"{MOUNT}/{key}"

    section = entry.get("kubeconfig") or {}
    if section.get("path"):
        section["path"] = moved(section["path"], kubeconfig=True)
    images = entry.get("images") or {}
    if isinstance(images.get("pull_secret"), dict) and images["pull_secret"].get("file"):
        images["pull_secret"]["file"] = moved(images["pull_secret"]["file"])
    if images.get("ca_file"):
        images["ca_file"] = moved(images["ca_file"])
    document = {
        "version": run_targets.get("version", 1),
        "products": [entry],
        "tenancy": [t for t in run_targets.get("tenancy", []) if t.get("product") == product],
        "expectations": [e for e in run_targets.get("expectations", []) if e.get("product") == product],
    }
    return {TARGETS_KEY: yaml.safe_dump(document, sort_keys=False).encode(), **files}
