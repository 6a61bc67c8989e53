"""The backend registry: one row per backend section a product may have, with that section's spec, and
harness.backends choosing a product's row and handing it the run's values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.backends import backend_for
from harness.errors import ConfigError, ConfigErrors
from harness.settings import Settings, build_settings
from harness.targets import BACKENDS, ProductSpec, Targets, parse_targets
from harness.wait import Timeouts
from provisioning.backends import registry, specs
from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.lab import LabBackend
from provisioning.backends.proxy_spec import ProxySpec
from provisioning.backends.registry import BuildContext
from provisioning.http import Proxy
from provisioning.lab.profiles import profile_under
from provisioning.model.mutations import Mutation
from tests.support import offline_kubeconfig


def test_every_section_of_a_product_has_a_backend_of_its_name_built_from_its_spec() -> None:
    assert tuple(registry.BACKENDS) == specs.BACKENDS == BACKENDS
    for name, entry in registry.BACKENDS.items():
        assert entry.section is specs.SECTION_SPECS[name], name
        assert name in ProductSpec.model_fields, name


def test_only_the_lab_runs_without_its_section() -> None:
    optional = [name for name, entry in registry.BACKENDS.items() if not entry.section.required]
    assert optional == ["lab"]


def _settings(tmp_path: Path, product: str, environment: dict[str, str] | None = None) -> Settings:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\nproducts:\n"
        + textwrap.indent(textwrap.dedent(product), "  ")
        + "tenancy:\n  - product: p\n    tenants: [{name: blue, plan: b}]\n"
    )
    return build_settings(targets_path=targets, environment={"CAAS_LAB_HOME": str(tmp_path), **(environment or {})})


def test_a_lab_backend_gets_the_runs_lab_home_deadlines_and_mutation(tmp_path: Path) -> None:
    mutation = Mutation.EXTERNAL_IPS_ADMITTED
    settings = _settings(
        tmp_path,
        """\
        - name: p
          backend: lab
          lab: {profile: pks, nodes: 2}
          plans: [{name: a}, {name: b}]
        """,
        {"CAAS_MUTATION": mutation.value},
    )
    backend = backend_for(settings, "p")
    assert isinstance(backend, LabBackend)
    assert backend.paths.home == tmp_path
    assert backend.timeouts is settings.timeouts
    assert backend.shared_workers == 2
    assert backend.profile == profile_under("pks", mutation) != "pks", "the mutation's profile"


def test_a_kubeconfig_backend_gets_its_section_and_the_products_fields(tmp_path: Path) -> None:
    kubeconfig = offline_kubeconfig(tmp_path / "existing.kubeconfig", server="https://127.0.0.1:9")
    settings = _settings(
        tmp_path,
        f"""\
        - name: p
          backend: kubeconfig
          kubeconfig: {{path: {kubeconfig.name}, impersonate_missing_identities: true}}
          identities_via_csr: false
          plans: [{{name: a}}, {{name: b}}]
        """,
        {"TOKEN": "t"},
    )
    backend = backend_for(settings, "p")
    assert isinstance(backend, KubeconfigBackend)
    assert backend.spec == settings.targets.product_spec("p").kubeconfig
    assert (backend.base_dir, backend.where) == (tmp_path, "products[0].kubeconfig")
    assert backend.identities_via_csr is False
    assert backend.plan_indices == {"a": 0, "b": 1}
    assert backend.timeout == settings.timeouts.api_call
    assert backend.environment["TOKEN"] == "t"


def _context(proxy: ProxySpec | None, environment: dict[str, str]) -> BuildContext:
    return BuildContext(
        where="products[1].pks",
        product_where="products[1]",
        source="targets.yaml",
        base_dir=Path("."),
        environment=environment,
        timeouts=Timeouts(),
        lab_home=Path("/nonexistent"),
        proxy_spec=proxy,
    )


def test_a_backends_proxy_reads_its_login_from_the_variables_its_section_names() -> None:
    spec = ProxySpec(url="http://proxy.example.com:3128", username_env="PU", password_env="PP")
    assert _context(None, {}).proxy() is None
    assert _context(ProxySpec(url="http://proxy.example.com:3128"), {}).proxy() == Proxy(
        "http://proxy.example.com:3128"
    )
    proxy = _context(spec, {"PU": "user", "PP": "secret"}).proxy()
    assert proxy is not None
    assert (proxy.username, proxy.password) == ("user", "secret")
    with pytest.raises(ConfigError) as raised:
        _context(spec, {"PP": "secret"}).proxy()
    assert str(raised.value) == (
        "targets.yaml: products[1].proxy.username_env: environment variable PU is not set (export it)"
    )


def test_a_product_without_its_backends_section_is_one_line() -> None:
    settings = Settings(
        targets=parse_targets(
            "version: 1\nproducts: [{name: p, backend: lab, plans: [{name: b}]}]\n"
            "tenancy: [{product: p, tenants: [{name: blue, plan: b}]}]\n",
            "t.yaml",
            Path("."),
        ),
        run_id="r1",
        output_dir=Path("out"),
        lab_home=Path("/nonexistent"),
    )
    assert isinstance(backend_for(settings, "p"), LabBackend), "the lab's section is optional"
    pks = settings.targets.spec.products[0].model_copy(update={"backend": "pks"})
    spec = settings.targets.spec.model_copy(update={"products": [pks]})
    broken = Settings(
        targets=Targets(settings.targets.source, spec, settings.targets.model),
        run_id="r1",
        output_dir=Path("out"),
        lab_home=Path("/nonexistent"),
    )
    with pytest.raises(ConfigError, match=r'products\[0\]\.backend: backend "pks" needs a "pks:" section'):
        backend_for(broken, "p")


@pytest.mark.parametrize(("nodes", "workers"), [(12, 12), (13, 1), (1, 13)])
def test_a_lab_product_may_have_as_many_workers_as_the_lab_holds(tmp_path: Path, nodes: int, workers: int) -> None:
    """The targets file allows up to provisioning.lab.layout.MAX_WORKERS worker nodes per shared cluster
    (`lab.nodes`) and per dedicated cluster (`plans[].workers`): the figure `caas lab up --nodes` takes."""
    from provisioning.lab.layout import MAX_WORKERS

    product = f"""\
        - name: p
          backend: lab
          lab: {{profile: pks, nodes: {nodes}}}
          plans: [{{name: a}}, {{name: b, workers: {workers}}}]
        """
    if max(nodes, workers) <= MAX_WORKERS:
        assert backend_for(_settings(tmp_path, product), "p").shared_workers == nodes
    else:
        with pytest.raises(ConfigErrors, match=f"less than or equal to {MAX_WORKERS}"):
            _settings(tmp_path, product)
