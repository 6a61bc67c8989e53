"""What the targets file refers to besides its own products: check ids, expectations, kubeconfig keys.

- an expectation names a check id of the catalog (features/checks.yaml, `reports.catalog`), and there
  is at most one expectation per check and product: two with the same status are a duplicate, two with
  different statuses contradict each other (the report would show only one of them);
- a kubeconfig product's `tenant_contexts` name its dedicated tenants and `identities` the identities
  of its tenants (`<tenant>-admin|developer|viewer`); each identity names exactly one credential (a
  context or a token variable), and without `impersonate_missing_identities` every identity has one
  (the run refuses to start otherwise: `KubeconfigBackend.credentials`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harness.errors import ConfigError
from provisioning.model.tenancy import Placement, Tenant
from reports.catalog import check_ids, closest_check_ids

if TYPE_CHECKING:
    from harness.targets import ProductSpec, TargetsSpec


def expectation_problems(spec: TargetsSpec, label: str) -> Iterator[ConfigError]:
    """Unknown check ids, duplicate and contradicting expectations."""
    known = check_ids()
    first: dict[tuple[str, str], int] = {}
    for i, expectation in enumerate(spec.expectations):
        where = f"expectations[{i}]"
        if expectation.check not in known:
            close = closest_check_ids(expectation.check)
            hint = f"did you mean {', '.join(close)}?" if close else "e.g. check_network_001"
            yield ConfigError(
                label,
                f"{where}.check",
                f'unknown check id "{expectation.check}" (fix: name a check of features/checks.yaml; {hint})',
            )
            continue
        key = (expectation.product, expectation.check)
        if key not in first:
            first[key] = i
            continue
        earlier = spec.expectations[first[key]]
        if earlier.status == expectation.status:
            yield ConfigError(
                label,
                where,
                f"duplicate expectation for {expectation.check} on {expectation.product} (already at "
                f"expectations[{first[key]}]; fix: remove one)",
            )
        else:
            yield ConfigError(
                label,
                f"{where}.status",
                f'{expectation.check} on {expectation.product} is expected to "{expectation.status}" here and to '
                f'"{earlier.status}" at expectations[{first[key]}] (fix: keep the one that holds)',
            )


def kubeconfig_key_problems(spec: TargetsSpec, label: str) -> Iterator[ConfigError]:
    """The keys of each kubeconfig section name its tenants and identities, and every identity has credentials."""
    for i, product in enumerate(spec.products):
        if product.kubeconfig is not None:
            yield from _kubeconfig_keys(spec, product, label, f"products[{i}].kubeconfig")


def _kubeconfig_keys(spec: TargetsSpec, product: ProductSpec, label: str, where: str) -> Iterator[ConfigError]:
    assert product.kubeconfig is not None
    section = product.kubeconfig
    tenants = [
        Tenant(t.name, t.plan, Placement(t.placement))
        for tenancy in spec.tenancy
        if tenancy.product == product.name
        for t in tenancy.tenants
    ]
    dedicated = [t.name for t in tenants if t.placement is Placement.DEDICATED]
    for name in section.tenant_contexts:
        if name not in dedicated:
            yield ConfigError(
                label,
                f"{where}.tenant_contexts.{name}",
                f'"{name}" is not a dedicated tenant of product "{product.name}" '
                f"(dedicated: {', '.join(dedicated) or 'none'}; fix: remove the entry or correct the tenant name)",
            )
    users = list(dict.fromkeys(i.user for t in tenants for i in t.identities))
    for user, identity in section.identities.items():
        if user not in users:
            yield ConfigError(
                label,
                f"{where}.identities.{user}",
                f'no tenant of product "{product.name}" has an identity "{user}" '
                f"(fix: one of: {', '.join(users) or 'none'}, i.e. <tenant>-admin, -developer or -viewer)",
            )
        elif (identity.context is None) == (identity.token_env is None):
            yield ConfigError(
                label,
                f"{where}.identities.{user}",
                "name exactly one credential: a context of the kubeconfig or a token_env (fix: keep one)",
            )
    missing = [u for u in users if u not in section.identities]
    if missing and not section.impersonate_missing_identities and not product.identities_via_csr:
        yield ConfigError(
            label,
            f"{where}.identities",
            f"no credentials for {', '.join(missing)} (fix: add them, set identities_via_csr: true to have the "
            "cluster issue certificates, or impersonate_missing_identities: true to impersonate them as a fallback)",
        )
