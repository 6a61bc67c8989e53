"""Which environment service (provisioning.backends.services) serves a product: chosen by its backend and
targets-file sections, never by a check engine. The engines pass the product's values in (provisioning
reads no settings) and get an interface back.

- private registry: the product's own `images` registry when it has a pull secret, else the lab registry
  on the embedded lab (backend `lab`), else none (provisioning.model.needs.serves_private_registry);
- identity broker: the lab's Keycloak for `issuer: lab` (the only broker the suite drives so far:
  harness.targets_broker.broker_problems refuses the others);
- admission plugins: known from the lab profile on the embedded lab, unknown (None) elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from provisioning.backends import lab_services
from provisioning.backends.lab_spec import LabSpec
from provisioning.backends.services import IdentityBroker, NoBroker, ProductRegistry, RegistrySource
from provisioning.images.pull_secret import DockerConfig
from provisioning.images.spec import ImagesSpec
from provisioning.model.mutations import Mutation
from provisioning.model.needs import serves_private_registry

LAB_BACKEND = "lab"
LAB_ISSUER = "lab"  # harness.targets_broker.LAB_ISSUER (provisioning does not read the targets file's modules)


def registry_source(
    backend: str, images: ImagesSpec | None, login: DockerConfig | None, base_dir: Path, lab_home: Path
) -> RegistrySource | None:
    """The product's private registry, or None where serves_private_registry says it has none: its
    `images` registry when that has a `login` (its CA file relative to `base_dir`, the targets file's
    directory), else the lab registry of the lab home `lab_home`."""
    if not serves_private_registry(backend, images is not None, login is not None):
        return None
    if images is not None and login is not None:
        ca = (base_dir / Path(images.ca_file).expanduser()) if images.ca_file else None
        return ProductRegistry(images.registry, login, ca)
    return lab_services.LabRegistrySource(lab_home)


def identity_broker(issuer: str, lab_home: Path) -> IdentityBroker:
    """The broker of `issuer` (the product's `broker.issuer`): the lab's Keycloak of `lab_home` for
    `lab`; for any other a NoBroker whose federation raises InfrastructureError naming the issuer."""
    if issuer == LAB_ISSUER:
        return lab_services.LabBroker(lab_home)
    return NoBroker(f'the suite cannot drive the broker "{issuer}" (only the lab\'s, issuer: lab)')


def admission_plugins(backend: str, lab: LabSpec | None, mutation: Mutation | None) -> tuple[str, ...] | None:
    """The admission plugins the product's API servers start with, where the backend knows them: on the
    embedded lab from the profile of its `lab` section (lab_services.admission_plugins); None (unknown:
    not observable through the API) elsewhere."""
    if backend != LAB_BACKEND or lab is None:
        return None
    return lab_services.admission_plugins(lab.profile, mutation)
