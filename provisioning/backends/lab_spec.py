"""The `lab:` section of a product on the embedded lab (`backend: lab`); optional, see LabSpec."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from harness import names
from provisioning.backends.section import SectionSpec
from provisioning.fields import one_of
from provisioning.lab.layout import MAX_WORKERS

LAB_PROFILES = ("cfcr", "pks")

LabProfile = Annotated[str, AfterValidator(one_of("lab profile", LAB_PROFILES))]


class LabSpec(SectionSpec):
    """The lab's product profile (provisioning.lab.profiles) and the worker nodes of a shared cluster;
    a product without the section gets the defaults."""

    required: ClassVar[bool] = False
    path_fields: ClassVar[tuple[str, ...]] = ()
    redacted_fields: ClassVar[tuple[str, ...]] = ()
    # the rule: harness.names.check_cluster_name
    cluster_name_limit: ClassVar[tuple[int, str] | None] = (names.CLUSTER_NAME_MAX, "the lab allows")

    profile: LabProfile = "pks"
    nodes: int = Field(1, ge=1, le=MAX_WORKERS)  # the lab's worker nodes per shared cluster
