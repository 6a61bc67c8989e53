"""The `pks:` section of a product on PKS/TKGI (`backend: pks`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from harness import names
from provisioning.backends.section import SectionSpec
from provisioning.fields import ClusterTemplate, EnvName, HttpUrl, UaaGrant


class PksSpec(SectionSpec):
    """A PKS/TKGI API; `username_env`/`password_env` hold a user (password grant with the CLI's client
    `pks_cli`) or, with `grant: client_credentials`, a UAA client id and secret."""

    path_fields: ClassVar[tuple[str, ...]] = ("ca_file",)
    redacted_fields: ClassVar[tuple[str, ...]] = ()
    cluster_name_limit: ClassVar[tuple[int, str] | None] = (names.DNS_LABEL_MAX, "a DNS label allows")

    api_url: HttpUrl
    uaa_url: HttpUrl | None = None  # default: the API's host on port 8443
    username_env: EnvName
    password_env: EnvName
    grant: UaaGrant = "password"
    ca_file: str | None = None
    master_host: ClusterTemplate = "{cluster}.pks.example.com"  # kubernetes_master_host of new clusters
    cluster_timeout: float = Field(1800, ge=1)  # create or delete, until last_action_state settles
    poll_seconds: float = Field(10, gt=0, le=60)
