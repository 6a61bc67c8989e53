"""One place that says which image a pod of the suite names: registry/repository@digest, its pull
policy and the pull secret in the tenant's namespace, per product (the targets file's `images`).

A product without `images` keeps the lab's way: the image's lab name, preloaded on the lab's nodes,
pull policy Never. Digests are those of the OCI archives `caas lab build` writes; `caas images push`
copies exactly those manifests (skopeo --preserve-digests), so a reference by digest names the same
bytes on this machine and in the registry.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError
from provisioning.images.spec import ImagesSpec
from provisioning.lab.images import BUSYBOX_IMAGE, PROBE, LabImage

# The images the suite's checks start pods from, by repository name under the user's registry path.
SUITE_IMAGES: dict[str, LabImage] = {"probe": PROBE, "busybox": BUSYBOX_IMAGE}
# The name a check engine gives its probe pods' container: the lab's name, which
# provisioning.images.products.suite_pod turns into the product's reference (registry, digest, pull secret).
PROBE_IMAGE: str = PROBE.reference
PULL_SECRET = "caas-images"  # noqa: S105 (a name): the pull Secret of each tenant namespace, deleted with it
LAB_PULL_POLICY = "Never"


@dataclass(frozen=True)
class ImageRef:
    """What a pod says about one image: `image` (a reference), `pull_policy` (a Kubernetes
    imagePullPolicy) and `pull_secret` (a Secret of the pod's namespace; "" for none)."""

    image: str
    pull_policy: str
    pull_secret: str = ""

    def container(self) -> dict[str, str]:
        """The container fields: image and imagePullPolicy."""
        return {"image": self.image, "imagePullPolicy": self.pull_policy}

    def pod(self) -> dict[str, Any]:
        """The pod-spec fields: imagePullSecrets, when the registry needs a login."""
        return {"imagePullSecrets": [{"name": self.pull_secret}]} if self.pull_secret else {}


def repository(registry: str, name: str) -> str:
    """The repository of suite image `name` under `registry` (HOST[:PORT][/PATH]), e.g. host/caas/probe."""
    return f"{registry.rstrip('/')}/{name}"


def registry_host(registry: str) -> str:
    """HOST[:PORT] of a registry location: the key of its login in a Docker config."""
    return registry.split("/", 1)[0]


def archive_digest(archive: Path) -> str:
    """The manifest digest ("sha256:<hex>") of the one image in an OCI archive (a tar of an OCI image
    layout). Raises InfrastructureError if the archive is missing or holds no single image."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("index.json")
            index = json.loads(member.read()) if member is not None else {}
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise InfrastructureError(
            f"cannot read the image archive {archive}: {exc} (fix: caas lab build writes the suite's images)"
        ) from None
    manifests = index.get("manifests", [])
    if len(manifests) != 1:
        raise InfrastructureError(f"{archive} holds {len(manifests)} images, not one (fix: caas lab build)")
    return str(manifests[0]["digest"])


def archives(image_dir: Path) -> dict[str, Path]:
    """The OCI archive of every suite image, by name, as `caas lab build` writes them into `image_dir`."""
    return {name: image_dir / image.archive_name for name, image in SUITE_IMAGES.items()}


def digests(image_dir: Path) -> dict[str, str]:
    """The manifest digest of every suite image, by name (InfrastructureError: an archive is missing)."""
    return {name: archive_digest(path) for name, path in archives(image_dir).items()}


def lab_ref(name: str) -> ImageRef:
    """The lab's preloaded image of suite image `name` ("probe", "busybox"), pull policy Never: what the
    suite's pod manifests name before `provisioning.images.products.suite_pod` rewrites them for a product
    with `images`. KeyError for a name that is not a suite image."""
    return resolve(None, name, {})


def resolve(spec: ImagesSpec | None, name: str, image_digests: Mapping[str, str]) -> ImageRef:
    """The reference pods of a product with images `spec` use for suite image `name` ("probe",
    "busybox"): registry/name@digest with the product's pull policy and pull secret; without `spec`,
    the lab's preloaded image (pull policy Never). KeyError for a name that is not a suite image."""
    image = SUITE_IMAGES[name]
    if spec is None:
        return ImageRef(image.reference, LAB_PULL_POLICY)
    reference = f"{repository(spec.registry, name)}@{image_digests[name]}"
    return ImageRef(reference, spec.pull_policy, PULL_SECRET if spec.pull_secret is not None else "")
