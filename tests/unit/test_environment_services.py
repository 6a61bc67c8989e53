"""The seams between the check engines and the environment (provisioning.backends.services): which
private registry, identity broker and admission plugins a product's backend offers
(provisioning.backends.product_services), and how an engine keeps a broker it cannot set up as ERROR."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from checks.privileged.private_images import forced_pulls
from checks.rbac.federation_setup import federate_product
from harness.errors import ConfigError, InfrastructureError
from provisioning.backends import product_services
from provisioning.backends.lab_services import LabBroker, LabRegistrySource
from provisioning.backends.lab_spec import LabSpec
from provisioning.backends.services import NoBroker, ProductRegistry
from provisioning.images.spec import ImagesSpec
from provisioning.model.mutations import Mutation
from provisioning.model.tenancy import Product
from provisioning.tenancy import ProvisionedTenancy

LOGIN = {"auths": {"r.example": {"auth": "dTpw"}}}
IMAGES = ImagesSpec(registry="r.example/caas", ca_file="certs/ca.pem")


def test_a_product_with_its_own_registry_and_login_gets_it_whatever_its_backend(tmp_path: Path) -> None:
    for backend in ("lab", "kubeconfig", "pks"):
        source = product_services.registry_source(backend, IMAGES, LOGIN, tmp_path / "targets", tmp_path / "home")
        assert source == ProductRegistry("r.example/caas", LOGIN, tmp_path / "targets" / "certs" / "ca.pem")
    served = ProductRegistry("r.example/caas", LOGIN).serve()
    assert (served.location, served.ca_file, served.what) == (
        "r.example/caas",
        None,
        "the product's registry r.example/caas",
    )
    assert served.repository("RUN-1", "pks-blue") == "r.example/caas/run-1/pks-blue-private"


def test_the_embedded_lab_without_an_images_section_offers_the_lab_registry(tmp_path: Path) -> None:
    source = product_services.registry_source("lab", None, None, tmp_path, tmp_path / "home")
    assert source == LabRegistrySource(tmp_path / "home")  # not started: serve() starts it


def test_no_private_registry_without_a_login_or_off_the_lab(tmp_path: Path) -> None:
    assert product_services.registry_source("lab", IMAGES, None, tmp_path, tmp_path) is None
    assert product_services.registry_source("kubeconfig", None, None, tmp_path, tmp_path) is None
    assert product_services.registry_source("kubeconfig", IMAGES, None, tmp_path, tmp_path) is None


def test_admission_plugins_are_known_from_the_lab_profile_only() -> None:
    # pks-always-pull is a lab profile the lab tests start (test_private_images), not a targets-file choice
    always = product_services.admission_plugins("lab", LabSpec.model_construct(profile="pks-always-pull"), None)
    plain = product_services.admission_plugins("lab", LabSpec(profile="pks"), None)
    assert always is not None
    assert "AlwaysPullImages" in always
    assert plain is not None
    assert "AlwaysPullImages" not in plain
    assert "DenyServiceExternalIPs" in plain
    mutated = product_services.admission_plugins("lab", LabSpec(profile="pks"), Mutation.EXTERNAL_IPS_ADMITTED)
    assert mutated is not None
    assert "DenyServiceExternalIPs" not in mutated
    assert product_services.admission_plugins("lab", None, None) is None
    assert (
        product_services.admission_plugins("kubeconfig", LabSpec.model_construct(profile="pks-always-pull"), None)
        is None
    )


def test_forced_pulls_reads_the_backends_admission_plugins() -> None:
    def settings(backend: str, profile: str) -> SimpleNamespace:
        spec = SimpleNamespace(backend=backend, lab=LabSpec.model_construct(profile=profile))  # type: ignore[arg-type]
        return SimpleNamespace(targets=SimpleNamespace(product_spec=lambda _p: spec), mutation=None)

    assert forced_pulls(settings("lab", "pks-always-pull"), "pks") is True  # type: ignore[arg-type]
    assert forced_pulls(settings("lab", "pks"), "pks") is False  # type: ignore[arg-type]
    assert forced_pulls(settings("kubeconfig", "pks"), "pks") is None  # type: ignore[arg-type]


def test_the_lab_issuer_is_the_labs_keycloak_and_another_cannot_be_driven(tmp_path: Path) -> None:
    assert product_services.identity_broker("lab", tmp_path) == LabBroker(tmp_path)
    other = product_services.identity_broker("okta", tmp_path)
    assert isinstance(other, NoBroker)
    with pytest.raises(InfrastructureError, match='cannot drive the broker "okta"'):
        other.federate([("blue", "oidc")], {}, [])


def test_the_lab_broker_refuses_a_cluster_the_lab_does_not_have_before_starting_keycloak(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='no lab cluster "h2-none"'):
        LabBroker(tmp_path).federate([("blue", "oidc")], {"blue": {"crafted": ("x",)}}, [("h2-none", ["blue"])])
    assert not (tmp_path / "broker.lock").exists()  # the broker's lock was never taken: nothing started


@pytest.mark.parametrize(("issuer", "error"), [("okta", 'cannot drive the broker "okta"'), ("lab", "no lab cluster")])
def test_a_broker_that_cannot_be_set_up_is_kept_as_its_message(tmp_path: Path, issuer: str, error: str) -> None:
    broker = SimpleNamespace(issuer=issuer, idps=[SimpleNamespace(tenant="blue", protocol="oidc")])
    spec = SimpleNamespace(broker=broker)
    settings = SimpleNamespace(targets=SimpleNamespace(product_spec=lambda _p: spec), lab_home=tmp_path, mutation=None)
    handle = SimpleNamespace(name="h2-none")
    tenancy = ProvisionedTenancy(
        Product("pks", "lab", ()),
        "run",
        [SimpleNamespace(handle=handle, tenants=())],  # type: ignore[list-item]
    )
    federated = federate_product(tenancy, settings, {})  # type: ignore[arg-type]
    assert federated.federation is None
    assert error in federated.error
    with pytest.raises(InfrastructureError, match="the broker was not set up"):
        federated.id_token("blue", "crafted")
