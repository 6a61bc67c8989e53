"""A product's `images:` section of the targets file: where its nodes pull the suite's images from.

harness.targets reads the section into ImagesSpec (one per product, or None: the lab's images) and
hands a run's sections over as ImagesSections, so that this package never reads the whole targets file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from provisioning.fields import EnvName, Spec, one_of

_REGISTRY = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")  # Kubernetes' imagePullPolicy values


def registry_location(value: str) -> str:
    """`value` if it is a registry location HOST[:PORT][/PATH] (lower case, as image references are);
    else ValueError saying what to write."""
    if not _REGISTRY.match(value):
        raise ValueError(
            f'"{value}" is not a registry location HOST[:PORT][/PATH] (write e.g. "registry.example.com/caas")'
        )
    return value


class PullSecretSpec(Spec):
    """The registry credentials of the suite's images: environment variables, or a Docker config file
    (`~/.docker/config.json` format, as `docker login` / `skopeo login` write it)."""

    username_env: EnvName | None = None
    password_env: EnvName | None = None
    file: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> PullSecretSpec:
        pair = (self.username_env is None, self.password_env is None)
        if pair[0] != pair[1]:
            raise ValueError("set both username_env and password_env (or a file instead)")
        if (self.file is None) == (self.username_env is None):
            raise ValueError("name either username_env and password_env, or a file (a Docker config.json), not both")
        return self


class ImagesSpec(Spec):
    """Where the product's nodes pull the suite's images from (`caas images push` puts them there)."""

    registry: Annotated[str, AfterValidator(registry_location)]
    pull_secret: PullSecretSpec | None = None  # none: the registry needs no login
    pull_policy: Annotated[str, AfterValidator(one_of("pull policy", PULL_POLICIES))] = "IfNotPresent"
    ca_file: str | None = Field(None, min_length=1)  # the registry's CA, for check-config and push (nodes: theirs)


@dataclass(frozen=True)
class ImagesSections:
    """Every product's `images` section of one targets file, in the file's order (Targets.images).

    `source` is the targets file: error lines name it by `label`, and the files a section names
    (pull_secret.file, ca_file) are relative to its folder, `base_dir`."""

    source: Path
    products: tuple[tuple[str, ImagesSpec | None], ...]  # (product name, its section; None: the lab's images)

    @property
    def label(self) -> str:
        return self.source.name

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    @staticmethod
    def where(index: int) -> str:
        """The field path of the section of the product at `index`, e.g. `products[1].images`."""
        return f"products[{index}].images"
