"""Who onboards a product's tenants, as the targets file says (`onboarding:` per product).

- `suite` (the default): the suite's reference onboarding creates each tenant's namespace `tenant-<name>`,
  its bindings, policies, quota and limits (provisioning/model/onboarding.py), and removes them after.
- `existing`: the provider's own onboarding made them. The suite changes nothing of it: each tenant names
  its `namespaces` (the checks work in the first), each tenant identity (`<tenant>-admin|developer|viewer`)
  its credentials in `kubeconfig.identities` (a context or `token_env`: the suite mints no identity on a
  tenancy it did not make), and the suite reads the fences it finds there (provisioning/tenancy_existing.py).
  Only the `kubeconfig` backend reaches clusters the suite did not create.

Whether the namespaces exist is known only on the cluster: `caas run` asks before anything is created
(`tenancy_existing.missing_namespaces`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator

from harness import names
from harness.errors import ConfigError
from provisioning.model.tenancy import Role

if TYPE_CHECKING:
    from harness.targets import TargetsSpec

SUITE, EXISTING = "suite", "existing"
ONBOARDINGS = (SUITE, EXISTING)
NAMESPACE_MAX = names.DNS_LABEL_MAX  # a namespace name is an RFC 1123 label


def namespace_name(value: str) -> str:
    """A Kubernetes namespace name: an RFC 1123 label of at most 63 characters (ValueError otherwise)."""
    if not names.is_dns_label(value, NAMESPACE_MAX):
        raise ValueError(
            f'"{value}" is not a namespace name (fix: at most {NAMESPACE_MAX} lower-case letters, digits and "-", '
            "starting and ending with a letter or digit)"
        )
    return value


Namespace = Annotated[str, AfterValidator(namespace_name)]


def onboarding_problems(spec: TargetsSpec, label: str) -> Iterator[ConfigError]:
    """One ConfigError per misfit between a product's `onboarding` and its tenants: `existing` on a backend
    that creates clusters, a tenant without namespaces or a namespace named twice, an identity without
    named credentials; `namespaces` under `onboarding: suite`; an ABAC plan under `onboarding: suite` on
    the kubeconfig backend (the suite's ABAC lines go into a file on the API server's host, which only
    the backends that run the API server can write)."""
    products = {p.name: (i, p) for i, p in enumerate(spec.products)}
    for i, product in enumerate(spec.products):
        if product.onboarding == EXISTING and product.backend != "kubeconfig":
            yield ConfigError(
                label,
                f"products[{i}].onboarding",
                f'onboarding: existing needs backend: kubeconfig, not "{product.backend}" (fix: reach the '
                "provider's cluster through a kubeconfig, or set onboarding: suite)",
            )
        if product.onboarding != EXISTING and product.backend == "kubeconfig":
            for j, plan in enumerate(product.plans):
                if plan.authorization == "abac":
                    yield ConfigError(
                        label,
                        f"products[{i}].plans[{j}].authorization",
                        "abac: an ABAC policy is a file on the API server's host, which a kubeconfig cannot "
                        "write, so onboarding: suite could grant the tenants nothing (fix: set onboarding: "
                        "existing once the provider's policy has the tenants' lines, or authorization: rbac)",
                    )
    owners: dict[tuple[str, str], str] = {}
    uncredited: dict[int, list[str]] = {}  # product index -> tenant identities without named credentials
    for i, tenancy in enumerate(spec.tenancy):
        if tenancy.product not in products:
            continue  # the cross-check names the unknown product
        p, product = products[tenancy.product]
        for j, tenant in enumerate(tenancy.tenants):
            where = f"tenancy[{i}].tenants[{j}]"
            if product.onboarding != EXISTING:
                if tenant.namespaces:
                    yield ConfigError(
                        label,
                        f"{where}.namespaces",
                        "namespaces are the provider's, named only with onboarding: existing (fix: remove them, "
                        f"or set products[{p}].onboarding: existing)",
                    )
                continue
            if not tenant.namespaces:
                yield ConfigError(
                    label,
                    f"{where}.namespaces",
                    f"onboarding: existing needs the namespaces the provider made for tenant {tenant.name} "
                    '(fix: add e.g. namespaces: ["team-' + tenant.name + '"]; the checks work in the first)',
                )
            for k, namespace in enumerate(tenant.namespaces):
                key = (product.name, namespace)
                if key in owners:
                    yield ConfigError(
                        label,
                        f"{where}.namespaces[{k}]",
                        f'namespace "{namespace}" is already named at {owners[key]} (fix: a namespace belongs to '
                        "one tenant)",
                    )
                owners.setdefault(key, f"{where}.namespaces[{k}]")
            if product.kubeconfig is not None:  # another backend: refused above
                named = product.kubeconfig.identities
                uncredited.setdefault(p, []).extend(
                    user for role in Role if (user := f"{tenant.name}-{role.value}") not in named
                )
    for p, users in uncredited.items():
        if users:
            yield ConfigError(
                label,
                f"products[{p}].kubeconfig.identities",
                f"onboarding: existing needs the credentials of {', '.join(users)} (fix: add each as e.g. "
                f"{users[0]}: {{context: ...}} or {{token_env: ...}}; the suite mints no identity on a tenancy it "
                "did not make)",
            )
