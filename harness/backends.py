"""A product's backend, built from the run's settings: the row of provisioning.backends.registry that the
product's `backend` names, given its section and the few run values a backend reads (a BuildContext).
"""

from __future__ import annotations

from harness.errors import ConfigError
from harness.settings import Settings
from provisioning.backends.protocol import ClusterBackend
from provisioning.backends.registry import BACKENDS, BuildContext


def backend_for(settings: Settings, product: str) -> ClusterBackend:
    """The backend of `product` (a name in the targets file), built from its section and secrets.

    Raises ConfigError naming the field when the product lacks its backend's section or an environment
    variable the section names is not set.
    """
    spec = settings.targets.product_spec(product)
    index = [p.name for p in settings.targets.spec.products].index(product)
    where = f"products[{index}]"
    source = str(settings.targets.source)
    entry = BACKENDS.get(spec.backend)
    section = spec.section(spec.backend) if entry is not None else None
    if entry is not None and section is None and not entry.section.required:
        section = entry.section()
    if entry is None or section is None:
        raise ConfigError(source, f"{where}.backend", f'backend "{spec.backend}" needs a "{spec.backend}:" section')
    context = BuildContext(
        where=f"{where}.{spec.backend}",
        product_where=where,
        source=source,
        base_dir=settings.targets.source.parent,
        environment=settings.environment,
        timeouts=settings.timeouts,
        lab_home=settings.lab_home,
        mutation=settings.mutation,
        proxy_spec=spec.proxy,
        identities_via_csr=spec.identities_via_csr,
        plan_indices={plan.name: j for j, plan in enumerate(spec.plans)},
    )
    return entry.build(section, context)
