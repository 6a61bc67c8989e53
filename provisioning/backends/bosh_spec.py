"""The `bosh:` section of a product deployed by a BOSH director (`backend: bosh`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from pydantic import Field

from harness import names
from harness.errors import ConfigError
from provisioning.backends.section import SectionSpec
from provisioning.fields import ClusterTemplate, EnvName, HttpUrl


class BoshSpec(SectionSpec):
    """A BOSH director deploying CFCR (kubo) clusters; its UAA client needs bosh.admin."""

    path_fields: ClassVar[tuple[str, ...]] = ("ca_file", "manifest", "ops_files")
    redacted_fields: ClassVar[tuple[str, ...]] = ("vars",)
    cluster_name_limit: ClassVar[tuple[int, str] | None] = (names.DNS_LABEL_MAX, "a DNS label allows")

    director_url: HttpUrl
    client_env: EnvName
    client_secret_env: EnvName
    uaa_url: HttpUrl | None = None  # for CredHub when the director's /info names none (basic auth)
    credhub_url: HttpUrl | None = None  # default: the director's host on port 8844
    credhub_client_env: EnvName | None = None  # default: the director's client
    credhub_client_secret_env: EnvName | None = None
    ca_file: str | None = None
    manifest: str  # the kubo manifest, e.g. kubo-deployment/manifests/cfcr.yml
    # applied in order, e.g. ops-files/allow-privileged-containers.yml
    ops_files: list[str] = Field(default_factory=list)
    # ((name)) values; "{cluster}" is replaced by the deployment name
    vars: dict[str, str] = Field(default_factory=dict)
    master_host: ClusterTemplate = "{cluster}.cfcr.example.com"  # the API server's host (kubernetes_master_host)
    task_timeout: float = Field(3600, ge=1)
    poll_seconds: float = Field(10, gt=0, le=60)

    def problems(self, label: str, where: str) -> Iterable[ConfigError]:
        """CredHub's client is the director's, or another one named completely (id and secret)."""
        if (self.credhub_client_env is None) != (self.credhub_client_secret_env is None):
            yield ConfigError(
                label,
                f"{where}.credhub_client_env",
                "set both credhub_client_env and credhub_client_secret_env, or neither",
            )
