"""The names a run derives from product and tenant names, checked before anything is provisioned.

A run names each cluster `<CAAS_CLUSTER_PREFIX><product>-shared` or `<prefix><product>-<tenant>`
(`TenancyModel.clusters`), each tenant namespace `tenant-<tenant>` (`Tenant.namespace`), each identity
`<tenant>-<role>` with groups `<tenant>:<role>s` and `<tenant>:members` (`Tenant.identities`; OIDC
tokens carry the same names, which the API server prefixes), and each lab node's network namespace
`caas-<cluster>-cp|w<n>` (`lab.layout.NodeLayout`). Every such name must be valid where it is used,
fit its length limit with the longest prefix `CAAS_CLUSTER_PREFIX` may have, and name one thing only:

- cluster names: unique in the targets file; a lab cluster's name a DNS label of at most 20
  characters (the lab's rule: `harness.names.check_cluster_name`); a PKS cluster's or BOSH
  deployment's a DNS label (RFC 1123: at most 63 characters), and its API server's host
  (`master_host`) at most 253 characters;
- namespace names: DNS labels (Kubernetes: at most 63 characters);
- identity user and group names: at most 64 characters (RFC 5280's upper bound of a certificate's
  common name and organization, where client certificates carry them);
- network-namespace names: at most 254 characters (iproute2's `ip netns add`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import names
from harness.errors import ConfigError
from provisioning.backends.specs import SECTION_SPECS
from provisioning.lab.layout import MAX_WORKERS, NodeLayout
from provisioning.model.tenancy import Placement, TenancyModel, Tenant

if TYPE_CHECKING:
    from harness.targets import TargetsSpec

PREFIX_SETTING = "CAAS_CLUSTER_PREFIX"
LONGEST_CLUSTER_PREFIX = "z" * names.PREFIX_MAX + "-"  # the rule: harness.names.check_cluster_prefix
LAB_CLUSTER_NAME_MAX = names.CLUSTER_NAME_MAX  # the rule: harness.names.check_cluster_name
DNS_LABEL_MAX = names.DNS_LABEL_MAX  # RFC 1123 label
DNS_NAME_MAX = 253  # RFC 1123 host name
CERTIFICATE_NAME_MAX = 64  # RFC 5280 ub-common-name, ub-organization-name
NETNS_NAME_MAX = 254  # iproute2: shorter than NAME_MAX (255)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class DerivedCluster:
    """One cluster name a run derives, and the field of the targets file that it comes from."""

    product: str
    backend: str
    name: str  # without the prefix
    where: str  # field path of the name to change: the product's for its shared cluster, else the tenant's
    what: str  # e.g. 'the shared cluster of product "pks"'
    source: str  # the name to change: the product name or the tenant name
    source_kind: str  # "product" or "tenant"


def derived_clusters(spec: TargetsSpec, model: TenancyModel) -> list[DerivedCluster]:
    """Every cluster a run would provision, in the model's order (duplicate products and tenants once)."""
    tenant_fields: dict[tuple[str, str], str] = {}
    for i, tenancy in enumerate(spec.tenancy):
        for j, entry in enumerate(tenancy.tenants):
            tenant_fields.setdefault((tenancy.product, entry.name), f"tenancy[{i}].tenants[{j}].name")
    clusters: list[DerivedCluster] = []
    seen_products: set[str] = set()
    for i, product in enumerate(spec.products):
        if product.name in seen_products:
            continue
        seen_products.add(product.name)
        seen_tenants: set[str] = set()
        for placement in model.clusters(product.name):
            if placement.placement is Placement.SHARED:
                where, source, kind = f"products[{i}].name", product.name, "product"
                what = f'the shared cluster of product "{product.name}"'
            else:
                tenant = placement.tenants[0].name
                if tenant in seen_tenants:
                    continue  # a duplicate tenant: reported as such
                seen_tenants.add(tenant)
                where, source, kind = tenant_fields[(product.name, tenant)], tenant, "tenant"
                what = f'the cluster of dedicated tenant "{tenant}" of product "{product.name}"'
            clusters.append(DerivedCluster(product.name, product.backend, placement.name, where, what, source, kind))
    return clusters


def derived_name_problems(spec: TargetsSpec, model: TenancyModel, label: str) -> Iterator[ConfigError]:
    """One error per derived name that is invalid, too long or shared by two things."""
    clusters = derived_clusters(spec, model)
    yield from _cluster_collisions(clusters, label)
    templates = {p.name: section.master_host for p in spec.products if (section := p.pks or p.bosh) is not None}
    for cluster in clusters:
        yield from _cluster_length(cluster, label)
        if cluster.product in templates:
            yield from _master_host(cluster, templates[cluster.product], label)
        if cluster.backend == "lab":
            yield from _netns(cluster, label)
    yield from _tenant_names(spec, label)


def _cluster_collisions(clusters: list[DerivedCluster], label: str) -> Iterator[ConfigError]:
    first: dict[str, DerivedCluster] = {}
    for cluster in clusters:
        other = first.setdefault(cluster.name, cluster)
        if other is not cluster:
            yield ConfigError(
                label,
                cluster.where,
                f'{cluster.what} would be named "{cluster.name}", the name of {other.what} '
                f"(fix: rename the {cluster.source_kind})",
            )


def _cluster_length(cluster: DerivedCluster, label: str) -> Iterator[ConfigError]:
    spec = SECTION_SPECS.get(cluster.backend)
    if spec is None or spec.cluster_name_limit is None:
        return
    limit, owner = spec.cluster_name_limit
    prefixed = LONGEST_CLUSTER_PREFIX + cluster.name
    if _is_cluster_name(prefixed, cluster.backend, limit):
        return
    fixed = len(LONGEST_CLUSTER_PREFIX) + len(cluster.name) - len(cluster.source)
    room = limit - fixed
    fix = (
        f"shorten the {cluster.source_kind} name to at most {room} characters"
        if room >= 1
        else "shorten the product name"
    )
    yield ConfigError(
        label,
        cluster.where,
        f'{cluster.what} would be named "{cluster.name}" ({len(cluster.name)} characters, {len(prefixed)} with a '
        f"{PREFIX_SETTING} of up to {len(LONGEST_CLUSTER_PREFIX)}); {owner} {limit} "
        f"(fix: {fix})",
    )


def _is_cluster_name(name: str, backend: str, limit: int) -> bool:
    if backend != "lab":
        return len(name) <= limit and _DNS_LABEL.match(name) is not None
    try:
        names.check_cluster_name(name)
    except names.InvalidName:
        return False
    return True


def _master_host(cluster: DerivedCluster, template: str, label: str) -> Iterator[ConfigError]:
    host = template.replace("{cluster}", LONGEST_CLUSTER_PREFIX + cluster.name)
    if len(host) > DNS_NAME_MAX:
        yield ConfigError(
            label,
            cluster.where,
            f"the API server host of {cluster.what} would be {len(host)} characters long with a {PREFIX_SETTING}; "
            f"a host name allows {DNS_NAME_MAX} (fix: shorten the {cluster.source_kind} name or master_host)",
        )


def _netns(cluster: DerivedCluster, label: str) -> Iterator[ConfigError]:
    name = LONGEST_CLUSTER_PREFIX + cluster.name
    for index in range(MAX_WORKERS + 1):
        netns = NodeLayout(name, index, 1, directory=Path()).netns
        if len(netns) > NETNS_NAME_MAX:
            yield ConfigError(
                label,
                cluster.where,
                f'the lab network namespace "{netns}" of {cluster.what} is longer than {NETNS_NAME_MAX} characters '
                f"(fix: shorten the {cluster.source_kind} name)",
            )
            return


def _tenant_names(spec: TargetsSpec, label: str) -> Iterator[ConfigError]:
    for i, tenancy in enumerate(spec.tenancy):
        for j, spec_tenant in enumerate(tenancy.tenants):
            where = f"tenancy[{i}].tenants[{j}].name"
            tenant = Tenant(spec_tenant.name, spec_tenant.plan)
            namespace = tenant.namespace
            if len(namespace) > DNS_LABEL_MAX or not _DNS_LABEL.match(namespace):
                yield ConfigError(
                    label,
                    where,
                    f'the namespace "{namespace}" is not a DNS label of at most {DNS_LABEL_MAX} characters '
                    "(fix: shorten the tenant name)",
                )
            names = {n for identity in tenant.identities for n in (identity.user, *identity.groups)}
            longest = max(names, key=len)
            if len(longest) > CERTIFICATE_NAME_MAX:
                yield ConfigError(
                    label,
                    where,
                    f'the identity name "{longest}" is longer than {CERTIFICATE_NAME_MAX} characters, the most '
                    "a client certificate holds (fix: shorten the tenant name)",
                )
