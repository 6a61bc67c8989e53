"""The files a targets file names: each must exist, be readable and hold what the run will read from it.

`file_problems(spec, label, base_dir)` yields one `ConfigError` per problem, with the field path of the
targets file that names the file. Paths are relative to the targets file's folder, `~` expands to the
home folder (as the kubeconfig backend resolves them).

What a kubeconfig must hold follows what the Kubernetes Python client's loader (`load_kube_config`,
used by the kubeconfig backend) refuses: a mapping whose `contexts` name the context to use (or whose
`current-context` does), a `clusters` entry of that context's cluster with a `server`, and readable
files wherever the cluster or user names one (`certificate-authority`, `client-certificate`,
`client-key`, `tokenFile`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.targets import Targets, TargetsSpec
    from provisioning.backends.kubeconfig_spec import KubeconfigSpec

_FILE_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def resolve(base_dir: Path, path: str) -> Path:
    """Where a path of the targets file points: `~` expanded, relative paths under `base_dir`."""
    return base_dir / Path(path).expanduser()


def kubeconfig_contexts(targets: Targets) -> Iterator[tuple[str, Path, str | None]]:
    """(product, kubeconfig path made absolute, context; None: the file's current context) of every
    existing cluster the targets file names (the `kubeconfig` sections), for `caas clean`."""
    for spec in targets.spec.products:
        if spec.backend != "kubeconfig" or spec.kubeconfig is None:
            continue
        path = resolve(targets.source.parent, spec.kubeconfig.path).resolve()
        for context in dict.fromkeys([spec.kubeconfig.context, *spec.kubeconfig.tenant_contexts.values()]):
            yield spec.name, path, context


def file_problems(spec: TargetsSpec, label: str, base_dir: Path) -> Iterator[ConfigError]:
    """Every named file that is missing, unreadable or not what the run reads from it."""
    for i, product in enumerate(spec.products):
        where = f"products[{i}]"
        if product.kubeconfig is not None:
            yield from kubeconfig_problems(product.kubeconfig, label, f"{where}.kubeconfig", base_dir)
        if product.bosh is not None:
            yield from _yaml_problems(label, f"{where}.bosh.manifest", resolve(base_dir, product.bosh.manifest))
            for k, ops_file in enumerate(product.bosh.ops_files):
                yield from _yaml_problems(label, f"{where}.bosh.ops_files[{k}]", resolve(base_dir, ops_file), list)
        for section in (product.pks, product.bosh):
            ca_file = getattr(section, "ca_file", None)
            if ca_file:
                yield from readable(label, f"{where}.{product.backend}.ca_file", resolve(base_dir, ca_file))


def readable(label: str, where: str, path: Path) -> Iterator[ConfigError]:
    """One error if `path` cannot be opened and read."""
    if _read(path) is None:
        yield _unreadable(label, where, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _unreadable(label: str, where: str, path: Path) -> ConfigError:
    try:
        path.open("rb").close()
    except OSError as exc:
        reason = (exc.strerror or exc.__class__.__name__).lower()
        return ConfigError(label, where, f'cannot read "{path}" ({reason}) (fix: the path or its permissions)')
    return ConfigError(label, where, f'"{path}" is not UTF-8 text (name the text file it should be)')


def _yaml_problems(label: str, where: str, path: Path, kind: type | None = None) -> Iterator[ConfigError]:
    text = _read(path)
    if text is None:
        yield _unreadable(label, where, path)
        return
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        yield ConfigError(label, where, f'"{path}" is not valid YAML{at} (fix: correct its syntax)')
        return
    if kind is list and data is not None and not isinstance(data, list):
        yield ConfigError(
            label,
            where,
            f'"{path}" is not a list of operations (fix: write it as a YAML list, as `bosh deploy -o` reads)',
        )


def kubeconfig_problems(spec: KubeconfigSpec, label: str, where: str, base_dir: Path) -> Iterator[ConfigError]:
    """The kubeconfig file is readable, parses, and holds every context the section names."""
    path = resolve(base_dir, spec.path)
    text = _read(path)
    if text is None:
        yield _unreadable(label, f"{where}.path", path)
        return
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        config = None
    if not isinstance(config, dict) or not isinstance(config.get("contexts"), list):
        yield ConfigError(
            label,
            f"{where}.path",
            f'"{path}" is not a kubeconfig: it has no list of contexts '
            "(fix: name a kubeconfig file, e.g. ~/.kube/config)",
        )
        return
    kubeconfig = _Kubeconfig(config, path)
    if spec.context is None:
        current = config.get("current-context")
        if not current:
            yield ConfigError(
                label, f"{where}.context", f'"{path}" has no current-context (fix: name the context to use here)'
            )
        else:
            yield from kubeconfig.context_problems(str(current), label, f"{where}.path")
    else:
        yield from kubeconfig.context_problems(spec.context, label, f"{where}.context")
    for tenant, context in spec.tenant_contexts.items():
        yield from kubeconfig.context_problems(context, label, f"{where}.tenant_contexts.{tenant}")
    for user, identity in spec.identities.items():
        if identity.context:
            yield from kubeconfig.context_problems(identity.context, label, f"{where}.identities.{user}.context")


class _Kubeconfig:
    """The parts of a parsed kubeconfig that a context needs."""

    def __init__(self, config: Mapping[str, Any], path: Path) -> None:
        self.path = path
        self.contexts = _named(config.get("contexts"), "context")
        self.clusters = _named(config.get("clusters"), "cluster")
        self.users = _named(config.get("users"), "user")

    def context_problems(self, name: str, label: str, where: str) -> Iterator[ConfigError]:
        context = self.contexts.get(name)
        if context is None:
            known = ", ".join(sorted(self.contexts)) or "none"
            yield ConfigError(
                label,
                where,
                f'"{self.path}" has no context "{name}" (fix: one of: {known}; see kubectl config get-contexts)',
            )
            return
        cluster_name = str(context.get("cluster", ""))
        cluster = self.clusters.get(cluster_name)
        if cluster is None or not cluster.get("server"):
            yield ConfigError(
                label,
                where,
                f'context "{name}" of "{self.path}" names cluster "{cluster_name}", which the file does not '
                "define with a server (fix: add it under clusters, or pick another context)",
            )
            return
        parts = [("cluster", cluster_name, cluster)]
        user_name = str(context.get("user", ""))
        if user_name in self.users:
            parts.append(("user", user_name, self.users[user_name]))
        for kind, entry_name, entry in parts:
            for key in _FILE_FIELDS[kind]:
                if entry.get(key) and not entry.get(f"{key}-data"):
                    file = self.path.parent / Path(str(entry[key])).expanduser()
                    if _read_bytes(file) is None:
                        yield ConfigError(
                            label,
                            where,
                            f'{kind} "{entry_name}" of context "{name}" names {key} "{file}", which cannot be '
                            f"read (fix: the path in {self.path} or the file's permissions)",
                        )


def _named(entries: Any, key: str) -> dict[str, Mapping[str, Any]]:
    """A kubeconfig list (`- name: x` + `key: {...}`) as name -> the inner mapping; malformed items are left out."""
    found: dict[str, Mapping[str, Any]] = {}
    for entry in entries if isinstance(entries, Iterable) and not isinstance(entries, (str, dict)) else ():
        if isinstance(entry, dict) and "name" in entry:
            inner = entry.get(key)
            found[str(entry["name"])] = inner if isinstance(inner, dict) else {}
    return found


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
