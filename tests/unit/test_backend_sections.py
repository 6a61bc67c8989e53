"""Every backend's section declares what the run's copy of the targets file and the name checks need
from it (`provisioning.backends.section.SectionSpec`): a backend added without them fails here, not
silently at run time (its paths left relative in the copy, its cluster names unchecked)."""

from __future__ import annotations

import pytest

from provisioning.backends.registry import BACKENDS
from provisioning.backends.section import SectionSpec
from provisioning.backends.specs import SECTION_SPECS

DECLARED = ("path_fields", "redacted_fields", "cluster_name_limit")


@pytest.mark.parametrize("backend", sorted(SECTION_SPECS))
def test_each_section_declares_its_paths_secrets_and_cluster_name_limit(backend: str) -> None:
    spec = SECTION_SPECS[backend]
    missing = [name for name in DECLARED if name not in vars(spec)]
    assert not missing, f"{spec.__name__} does not declare {', '.join(missing)} (see SectionSpec)"
    unknown = [f for f in (*spec.path_fields, *spec.redacted_fields) if f not in spec.model_fields]
    assert not unknown, f"{spec.__name__} names fields it does not have: {unknown}"


def test_the_registry_and_the_sections_name_the_same_backends() -> None:
    assert set(BACKENDS) == set(SECTION_SPECS)
    assert all(issubclass(entry.section, SectionSpec) for entry in BACKENDS.values())


def test_a_section_that_declares_nothing_is_caught() -> None:
    class Forgotten(SectionSpec):
        url: str

    assert [name for name in DECLARED if name not in vars(Forgotten)] == list(DECLARED)
