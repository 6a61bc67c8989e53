"""The `osb:` section of a product behind an Open Service Broker (`backend: osb`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from provisioning.backends.section import SectionSpec
from provisioning.fields import EnvName, HttpUrl


class OsbSpec(SectionSpec):
    """An Open Service Broker (v2.17) whose instances are clusters and whose bindings carry a kubeconfig."""

    path_fields: ClassVar[tuple[str, ...]] = ()
    redacted_fields: ClassVar[tuple[str, ...]] = ()
    cluster_name_limit: ClassVar[tuple[int, str] | None] = None  # the broker names its instances' clusters

    broker_url: HttpUrl
    username_env: EnvName
    password_env: EnvName
    service_id: str | None = None  # default: the catalog's only service
    originating_user: str | None = None  # sent as X-Broker-API-Originating-Identity
    operation_timeout: float = Field(1800, ge=1)
    poll_seconds: float = Field(5, gt=0, le=60)
