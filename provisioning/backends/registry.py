"""Choose a product's backend from the targets file (never from Gherkin text)."""

from __future__ import annotations

from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.lab import LabBackend
from provisioning.backends.protocol import ClusterBackend
from provisioning.errors import ConfigError
from provisioning.lab.cluster import LabPaths
from provisioning.settings import Settings


def backend_for(settings: Settings, product: str) -> ClusterBackend:
    spec = settings.targets.product_spec(product)
    index = [p.name for p in settings.targets.spec.products].index(product)
    if spec.backend == "lab":
        lab = spec.lab
        return LabBackend(
            paths=LabPaths(settings.lab_home),
            profile=lab.profile if lab else "pks",
            shared_workers=lab.nodes if lab else 1,
            timeouts=settings.timeouts,
        )
    if spec.backend == "kubeconfig" and spec.kubeconfig is not None:
        return KubeconfigBackend(
            spec=spec.kubeconfig,
            base_dir=settings.targets.source.parent,
            source=str(settings.targets.source),
            where=f"products[{index}].kubeconfig",
            environment=settings.environment,
            timeout=settings.timeouts.api_call,
        )
    raise ConfigError(
        str(settings.targets.source),
        f"products[{index}].backend",
        f'backend "{spec.backend}" is not available in this version yet (use lab or kubeconfig)',
    )
