"""The one table of backends: name -> the spec of its targets-file section and the factory that builds
the backend from that section.

harness.targets checks the sections (through provisioning.backends.specs); harness.backends chooses a
product's row from the targets file (never from Gherkin text) and hands the factory the section and a
BuildContext holding the few run values a backend needs. Adding a backend: its module, its section's spec
module and field in specs.BackendSections, and its row here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from harness.errors import ConfigError
from harness.wait import Timeouts
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
from provisioning.backends.proxy_spec import ProxySpec
from provisioning.backends.section import SectionSpec
from provisioning.http import Proxy
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import profile_under
from provisioning.model.mutations import Mutation

S = TypeVar("S", bound=SectionSpec)


@dataclass(frozen=True)
class BuildContext:
    """What a backend is built with besides its section: the section's place in the targets file, for
    error lines, the environment its secrets come from, and the run's values a backend reads."""

    where: str  # the section, e.g. "products[1].pks"
    product_where: str  # the product, e.g. "products[1]"
    source: str  # the targets file as error lines name it
    base_dir: Path  # relative paths in the targets file start here
    environment: Mapping[str, str] = field(repr=False)  # where the variables the section names are read
    timeouts: Timeouts  # the run's deadlines (api_call for every request, lab_ready for the lab)
    lab_home: Path  # the lab's home (the lab backend)
    mutation: Mutation | None = None  # onboarding with one fence removed (the lab backend's profile)
    proxy_spec: ProxySpec | None = None  # the product's `proxy` section
    identities_via_csr: bool = True  # the product's field of that name
    plan_indices: Mapping[str, int] = field(default_factory=dict)  # plan name -> its index in the product's plans

    @property
    def env(self) -> _Environment:
        """The secrets the targets file names; a missing one is a ConfigError naming the field."""
        return _Environment(self.environment, self.source)

    def proxy(self) -> Proxy | None:
        """The product's HTTP proxy, with its credentials; None: direct connections."""
        return _proxy(self.proxy_spec, self.env, f"{self.product_where}.proxy")


@dataclass(frozen=True)
class BackendEntry(Generic[S]):
    """A row of BACKENDS: the spec of the backend's section and the factory building the backend from
    (section, context)."""

    section: type[S]
    build: Callable[[S, BuildContext], ClusterBackend]


def _lab(lab: LabSpec, context: BuildContext) -> ClusterBackend:
    return LabBackend(
        paths=LabPaths(context.lab_home),
        profile=profile_under(lab.profile, context.mutation),
        shared_workers=lab.nodes,
        timeouts=context.timeouts,
    )


def _kubeconfig(kubeconfig: KubeconfigSpec, context: BuildContext) -> ClusterBackend:
    return KubeconfigBackend(
        spec=kubeconfig,
        base_dir=context.base_dir,
        source=context.source,
        where=context.where,
        environment=context.environment,
        timeout=context.timeouts.api_call,
        identities_via_csr=context.identities_via_csr,
        plan_indices=context.plan_indices,
    )


def _pks(pks: PksSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy()
    return PksBackend(
        spec=pks,
        username=context.env.named(pks, context.where, "username_env"),
        password=context.env.named(pks, context.where, "password_env"),
        where=context.where,
        proxy=proxy,
        timeout=context.timeouts.api_call,
        base_dir=context.base_dir,
        identities_via_csr=context.identities_via_csr,
    )


def _bosh(bosh: BoshSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy()
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
        timeout=context.timeouts.api_call,
        base_dir=context.base_dir,
        identities_via_csr=context.identities_via_csr,
    )


def _osb(osb: OsbSpec, context: BuildContext) -> ClusterBackend:
    proxy = context.proxy()
    return OsbBackend(
        spec=osb,
        username=context.env.named(osb, context.where, "username_env"),
        password=context.env.named(osb, context.where, "password_env"),
        where=context.where,
        proxy=proxy,
        timeout=context.timeouts.api_call,
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
