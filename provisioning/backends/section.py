"""The base of a backend's section in the targets file (`pks:`, `bosh:`, ...): its fields plus the checks
that span fields or tenants, which `harness.targets` runs after every field is valid."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from harness.errors import ConfigError
from provisioning.fields import Spec


class SectionSpec(Spec):
    """A section named as its backend; a product names its backend and has that section and no other."""

    # False: a product of the backend may leave the section out and gets its defaults (the lab's)
    required: ClassVar[bool] = True
    # Each section declares the next three itself (tests/unit/test_backend_sections.py holds it to that):
    # the fields holding file paths (a string or a list of strings), made absolute in a run's copy of the
    # targets file (`harness.run_targets`); the fields whose values are secrets by key, kept with
    # their keys and redacted values there; and the longest name a cluster of the backend may have,
    # with who sets that limit, for `harness.targets_names` (None: the suite names no cluster).
    path_fields: ClassVar[tuple[str, ...]]
    redacted_fields: ClassVar[tuple[str, ...]]
    cluster_name_limit: ClassVar[tuple[int, str] | None]

    def problems(self, label: str, where: str) -> Iterable[ConfigError]:
        """What the fields of the section cannot check one by one; `label` names the targets file and
        `where` the section (e.g. `products[0].bosh`) in the error lines. Checked whenever the section is
        present, also when it does not fit the product's backend."""
        return ()

    def tenant_problems(self, label: str, where: str, tenant: str, placement: str) -> Iterable[ConfigError]:
        """What the section lacks for tenant `tenant` with `placement` ("shared" or "dedicated") of its
        product; `where` names the tenant (e.g. `tenancy[0].tenants[1]`). Checked for the section of the
        product's backend only."""
        return ()
