"""Choose a product's backend from the targets file (never from Gherkin text).

BACKENDS is the one table of backends: name -> the spec of its targets-file section (checked by
harness.targets through provisioning.backends.specs) and the factory that builds the backend from
it. Adding a backend: its module, its section's spec module and field in specs.BackendSections, and
its row here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from harness.errors import ConfigError
from harness.settings import Settings
from harness.targets import ProductSpec, ProxySpec
from provisioning.backends.bosh import BoshBackend
from provisioning.backends.bosh_spec import BoshSpec
from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.kubeconfig_spec import KubeconfigSpec
from provisioning.backends.lab import LabBackend
from provisioning.backends.lab_spec import LabSpec
from provisioning.backends.osb import OsbBackend
from provisioning.backends.osb_spec import OsbSpec
from provisioning.backends.pks import PksBackend
from provisioning.backends.pks_spec import PksSpec
from provisioning.backends.protocol import ClusterBackend
from provisioning.backends.section import SectionSpec
from provisioning.http import Proxy
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import profile_under

S = TypeVar("S", bound=SectionSpec)


def backend_for(settings: Settings, product: str) -> ClusterBackend:
    """The backend of `product` (a name in the targets file), built from its section and secrets.

    Raises ConfigError naming the field when an environment variable the section names is not set.
    """
    spec = settings.targets.product_spec(product)
    index = [p.name for p in settings.targets.spec.products].index(product)
    where = f"products[{index}]"
    source = str(settings.targets.source)
    entry = BACKENDS.get(spec.backend)
    section = spec.section(spec.backend) if entry is not None else None
    if entry is not None and section is None and not entry.section.required:
        section = entry.section()
    if entry is None or section is None:
        raise ConfigError(source, f"{where}.backend", f'backend "{spec.backend}" needs a "{spec.backend}:" section')
    context = BuildContext(
        where=f"{where}.{spec.backend}",
        product_where=where,
        source=source,
        base_dir=settings.targets.source.parent,
        env=_Environment(settings.environment, source),
    )
    return entry.build(settings, spec, section, context)


@dataclass(frozen=True)
class BuildContext:
    """Where a backend is built: its section's place in the targets file, for error lines, and the
    environment its secrets come from."""

    where: str  # the section, e.g. "products[1].pks"
    product_where: str  # the product, e.g. "products[1]"
    source: str  # the targets file as error lines name it
    base_dir: Path  # relative paths in the targets file start here
    env: _Environment

    def proxy(self, product: ProductSpec) -> Proxy | None:
        """The product's HTTP proxy, with its credentials; None: direct connections."""
        return _proxy(product.proxy, self.env, f"{self.product_where}.proxy")


@dataclass(frozen=True)
class BackendEntry(Generic[S]):
    """A row of BACKENDS: the spec of the backend's section and the factory building the backend from
    (settings, product, section, context)."""

    section: type[S]
    build: Callable[[Settings, ProductSpec, S, BuildContext], ClusterBackend]


def _lab(settings: Settings, product: ProductSpec, lab: LabSpec, context: BuildContext) -> ClusterBackend:
    return LabBackend(
        paths=LabPaths(settings.lab_home),
        profile=profile_under(lab.profile, settings.mutation),
        shared_workers=lab.nodes,
        timeouts=settings.timeouts,
    )


def _kubeconfig(
    settings: Settings, product: ProductSpec, kubeconfig: KubeconfigSpec, context: BuildContext
) -> ClusterBackend:
    return KubeconfigBackend(
        spec=kubeconfig,
        base_dir=context.base_dir,
        source=context.source,
        where=context.where,
        environment=settings.environment,
        timeout=settings.timeouts.api_call,
        identities_via_csr=product.identities_via_csr,
    )


def _pks(settings: Settings, product: ProductSpec, pks: PksSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy(product)
    return PksBackend(
        spec=pks,
        username=context.env.named(pks, context.where, "username_env"),
        password=context.env.named(pks, context.where, "password_env"),
        where=context.where,
        proxy=proxy,
        timeout=settings.timeouts.api_call,
        base_dir=context.base_dir,
        identities_via_csr=product.identities_via_csr,
    )


def _bosh(settings: Settings, product: ProductSpec, bosh: BoshSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy(product)
    env, where = context.env, context.where
    return BoshBackend(
        spec=bosh,
        client=env.named(bosh, where, "client_env"),
        client_secret=env.named(bosh, where, "client_secret_env"),
        credhub_client=env.named(bosh, where, "credhub_client_env", optional=True),
        credhub_secret=env.named(bosh, where, "credhub_client_secret_env", optional=True),
        where=where,
        source=context.source,
        proxy=proxy,
        timeout=settings.timeouts.api_call,
        base_dir=context.base_dir,
        identities_via_csr=product.identities_via_csr,
    )


def _osb(settings: Settings, product: ProductSpec, osb: OsbSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy(product)
    return OsbBackend(
        spec=osb,
        username=context.env.named(osb, context.where, "username_env"),
        password=context.env.named(osb, context.where, "password_env"),
        where=context.where,
        proxy=proxy,
        timeout=settings.timeouts.api_call,
    )


BACKENDS: Mapping[str, BackendEntry[Any]] = {
    "lab": BackendEntry(LabSpec, _lab),
    "kubeconfig": BackendEntry(KubeconfigSpec, _kubeconfig),
    "pks": BackendEntry(PksSpec, _pks),
    "bosh": BackendEntry(BoshSpec, _bosh),
    "osb": BackendEntry(OsbSpec, _osb),
}


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
