"""The backends' sections of a product in the targets file, one optional field per backend, named as it.

`harness.targets` builds its ProductSpec on BackendSections and checks that the section named by
`backend` is there (unless its spec is not `required`) and that no other is; the backend itself is
built from the section by provisioning.backends.registry, whose table has one row per field here.
This module imports the sections' specs only, none of the backends' runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from provisioning.backends.bosh_spec import BoshSpec
from provisioning.backends.kubeconfig_spec import KubeconfigSpec
from provisioning.backends.lab_spec import LabSpec
from provisioning.backends.osb_spec import OsbSpec
from provisioning.backends.pks_spec import PksSpec
from provisioning.backends.section import SectionSpec
from provisioning.fields import Spec


class BackendSections(Spec):
    """The sections a product may have; in this order in `unknown backend` errors."""

    lab: LabSpec | None = None
    kubeconfig: KubeconfigSpec | None = None
    pks: PksSpec | None = None
    bosh: BoshSpec | None = None
    osb: OsbSpec | None = None

    def section(self, backend: str) -> SectionSpec | None:
        """The section named `backend` (one of BACKENDS), None when the product has none."""
        section: SectionSpec | None = getattr(self, backend)
        return section


BACKENDS = tuple(BackendSections.model_fields)
# backend -> the spec of its section (the field's type without None)
SECTION_SPECS: Mapping[str, type[SectionSpec]] = {
    name: next(arg for arg in get_args(field.annotation) if arg is not type(None))
    for name, field in BackendSections.model_fields.items()
}
