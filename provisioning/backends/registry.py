"""Choose a product's backend from the targets file (never from Gherkin text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, overload

from provisioning.backends.bosh import BoshBackend
from provisioning.backends.http import Proxy
from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.lab import LabBackend
from provisioning.backends.osb import OsbBackend
from provisioning.backends.pks import PksBackend
from provisioning.backends.protocol import ClusterBackend
from provisioning.errors import ConfigError
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import profile_under
from provisioning.settings import Settings
from provisioning.targets import ProxySpec


def backend_for(settings: Settings, product: str) -> ClusterBackend:
    spec = settings.targets.product_spec(product)
    index = [p.name for p in settings.targets.spec.products].index(product)
    where = f"products[{index}]"
    source = str(settings.targets.source)
    base_dir = settings.targets.source.parent
    env = _Environment(settings.environment, source)
    if spec.backend == "lab":
        lab = spec.lab
        return LabBackend(
            paths=LabPaths(settings.lab_home),
            profile=profile_under(lab.profile if lab else "pks", settings.mutation),
            shared_workers=lab.nodes if lab else 1,
            timeouts=settings.timeouts,
        )
    if spec.backend == "kubeconfig" and spec.kubeconfig is not None:
        return KubeconfigBackend(
            spec=spec.kubeconfig,
            base_dir=base_dir,
            source=source,
            where=f"{where}.kubeconfig",
            environment=settings.environment,
            timeout=settings.timeouts.api_call,
            identities_via_csr=spec.identities_via_csr,
        )
    proxy = _proxy(spec.proxy, env, f"{where}.proxy")
    timeout = settings.timeouts.api_call
    if spec.backend == "pks" and spec.pks is not None:
        section = f"{where}.pks"
        return PksBackend(
            spec=spec.pks,
            username=env.named(spec.pks, section, "username_env"),
            password=env.named(spec.pks, section, "password_env"),
            where=section,
            proxy=proxy,
            timeout=timeout,
            base_dir=base_dir,
            identities_via_csr=spec.identities_via_csr,
        )
    if spec.backend == "bosh" and spec.bosh is not None:
        section = f"{where}.bosh"
        bosh = spec.bosh
        return BoshBackend(
            spec=bosh,
            client=env.named(bosh, section, "client_env"),
            client_secret=env.named(bosh, section, "client_secret_env"),
            credhub_client=env.named(bosh, section, "credhub_client_env", optional=True),
            credhub_secret=env.named(bosh, section, "credhub_client_secret_env", optional=True),
            where=section,
            source=source,
            proxy=proxy,
            timeout=timeout,
            base_dir=base_dir,
            identities_via_csr=spec.identities_via_csr,
        )
    if spec.backend == "osb" and spec.osb is not None:
        section = f"{where}.osb"
        return OsbBackend(
            spec=spec.osb,
            username=env.named(spec.osb, section, "username_env"),
            password=env.named(spec.osb, section, "password_env"),
            where=section,
            proxy=proxy,
            timeout=timeout,
        )
    raise ConfigError(source, f"{where}.backend", f'backend "{spec.backend}" needs a "{spec.backend}:" section')


class _Environment:
    """Secrets named by the targets file; a missing one is one line naming the field."""

    def __init__(self, environment: Mapping[str, str], source: str) -> None:
        self._environment = environment
        self._source = source

    def get(self, name: str, field: str) -> str:
        value = self._environment.get(name)
        if not value:
            raise ConfigError(self._source, field, f"environment variable {name} is not set (export it)")
        return value

    @overload
    def named(self, section: object, where: str, field: str, optional: Literal[False] = False) -> str: ...
    @overload
    def named(self, section: object, where: str, field: str, optional: Literal[True]) -> str | None: ...
    def named(self, section: object, where: str, field: str, optional: bool = False) -> str | None:
        """The secret in the variable that `section.field` names (`where.field` in errors); an optional
        field left empty gives None."""
        name = getattr(section, field)
        if optional and not name:
            return None
        return self.get(name, f"{where}.{field}")


def _proxy(spec: ProxySpec | None, env: _Environment, where: str) -> Proxy | None:
    if spec is None:
        return None
    if spec.username_env and spec.password_env:
        return Proxy(
            spec.url,
            username=env.named(spec, where, "username_env"),
            password=env.named(spec, where, "password_env"),
        )
    return Proxy(spec.url)
