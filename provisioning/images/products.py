"""The suite's images of each product of a run, for the fixtures that create pods: `suite_pod` turns a
pod (or a workload's pod template) that names a suite image by its lab name into the product's: the
reference by digest from the product's registry, its pull policy, its pull secret, which it creates
in the pod's namespace first (once per namespace and process; deleted with the namespace).

`configure` is called once per process with the run's images sections (Targets.images, in
fixtures/plugin.py). A product without an `images` section, or a process never configured, keeps the
lab's way (provisioning.images.refs).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.images import refs
from provisioning.images.pull_secret import DockerConfig, login, secret_manifest
from provisioning.images.spec import ImagesSections, ImagesSpec
from provisioning.kube import client as kube

_LAB_NAMES = {image.reference: name for name, image in refs.SUITE_IMAGES.items()}
_RUN_LABEL_PREFIX = "caas-conformance.io/"


@dataclass
class ProductImages:
    """One product's images: its `images` section (None: the lab's), the digests and the login."""

    spec: ImagesSpec | None = None
    digests: Mapping[str, str] = field(default_factory=dict)
    login: DockerConfig | None = field(default=None, repr=False)
    _prepared: set[tuple[str, str]] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ref(self, name: str) -> refs.ImageRef:
        return refs.resolve(self.spec, name, self.digests)

    def ensure_pull_secret(self, api: Any, namespace: str, labels: Mapping[str, str]) -> None:
        """Create the pull secret in `namespace` unless this process did (409: another process did).
        kube.ApiFailure if it cannot be created (e.g. 403: the identity may not create Secrets)."""
        if self.login is None:
            return
        key = (str(getattr(getattr(api, "configuration", None), "host", "")), namespace)
        with self._lock:
            if key in self._prepared:
                return
            try:
                kube.request(
                    api,
                    "POST",
                    f"/api/v1/namespaces/{namespace}/secrets",
                    body=secret_manifest(namespace, self.login, labels),
                )
            except kube.ApiFailure as exc:
                if exc.status != 409:
                    raise
            self._prepared.add(key)


LAB = ProductImages()
_PRODUCTS: dict[str, ProductImages] = {}


def configure(sections: ImagesSections, environment: Mapping[str, str], image_dir: Path) -> None:
    """Read every product's images section: digests from `image_dir`, logins from the environment or
    files. ConfigError (a login that cannot be read) or InfrastructureError (no image archives)."""
    for i, (product, spec) in enumerate(sections.products):
        if spec is None:
            _PRODUCTS[product] = LAB
            continue
        config = login(spec, environment, sections.base_dir, sections.label, sections.where(i))
        _PRODUCTS[product] = ProductImages(spec, refs.digests(image_dir), config)


def of(product: str) -> ProductImages:
    """The images of `product` (the lab's if it has no images section or nothing was configured)."""
    return _PRODUCTS.get(product, LAB)


def _containers(manifest: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = manifest["spec"]
    pod_spec = spec["template"]["spec"] if "template" in spec else spec
    return pod_spec, [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def suite_pod(product: str, api: Any, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of `manifest` (a Pod, or a Deployment-like object with spec.template) whose containers that
    name a suite image by its lab name name `product`'s instead, with its pull policy and pull secret;
    the secret is made in `namespace` through `api` first (labelled with the pod's run labels). The lab's
    images: `manifest` as it is. KeyError never: images that are not the suite's stay as they are."""
    images = of(product)
    if images.spec is None:
        return manifest
    rewritten = copy.deepcopy(manifest)
    pod_spec, containers = _containers(rewritten)
    used = False
    for container in containers:
        name = _LAB_NAMES.get(container.get("image", ""))
        if name is not None:
            container.update(images.ref(name).container())
            used = True
    if used and images.login is not None:
        pod_spec.update(images.ref("probe").pod())
        labels = rewritten["metadata"].get("labels", {})
        images.ensure_pull_secret(api, namespace, {k: v for k, v in labels.items() if k.startswith(_RUN_LABEL_PREFIX)})
    return rewritten
