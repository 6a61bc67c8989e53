"""The backend registry: one row per backend section a product may have, with that section's spec, and
harness.backends choosing a product's row and handing it the run's values."""

from __future__ import annotations

from harness.targets import BACKENDS, ProductSpec
from provisioning.backends import registry, specs


def test_every_section_of_a_product_has_a_backend_of_its_name_built_from_its_spec() -> None:
    assert tuple(registry.BACKENDS) == specs.BACKENDS == BACKENDS
    for name, entry in registry.BACKENDS.items():
        assert entry.section is specs.SECTION_SPECS[name], name
        assert name in ProductSpec.model_fields, name


def test_only_the_lab_runs_without_its_section() -> None:
    optional = [name for name, entry in registry.BACKENDS.items() if not entry.section.required]
    assert optional == ["lab"]
