"""`onboarding: existing`: judge the tenancy the provider's own onboarding made, changing none of it.

`ExistingTenancy` stands where the `Provisioner` stands (`provision`, `release`): it reaches each cluster
through the backend (the kubeconfig backend creates nothing), takes the tenant identities' named credentials,
READS the provider's fences in each tenant's namespaces (provisioning/model/fences.py turns them into the
tenant's effective plan, which the checks then expect from) and creates nothing. What the checks create in
a tenant namespace carries the run's label (`caas-conformance.io/run-id`); `release` deletes exactly the
objects with that label in the tenants' namespaces, and never a namespace, policy, quota or binding the
provider made (those carry no run label).

`missing_namespaces_problems` is the run's preflight: a namespace the targets file names that the cluster
does not have is one ConfigError naming the field, before anything is created.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import CaasError, ConfigError, InfrastructureError
from provisioning.backends.protocol import ClusterBackend, ClusterHandle, ClusterRequest
from provisioning.cluster_destinations import read_destinations
from provisioning.kube import client as kube
from provisioning.model.fences import (
    NamespaceFences,
    effective_catalog,
    effective_plan,
    identity_role,
    isolation,
    plan_differences,
)
from provisioning.model.onboarding import RUN_ID
from provisioning.model.tenancy import Plan, Product, TenancyModel, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from provisioning.undo import unwind

Report = Callable[[str], None]
FENCE_COLLECTIONS = {
    "network_policies": "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
    "resource_quotas": "/api/v1/namespaces/{namespace}/resourcequotas",
    "limit_ranges": "/api/v1/namespaces/{namespace}/limitranges",
    "role_bindings": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
}
# where the checks' own objects may be, besides what discovery lists (what release sweeps by the run label)
_CHECK_OBJECTS = (
    "/api/v1/namespaces/{namespace}/pods",
    "/api/v1/namespaces/{namespace}/services",
    "/api/v1/namespaces/{namespace}/persistentvolumeclaims",
    "/api/v1/namespaces/{namespace}/configmaps",
    "/api/v1/namespaces/{namespace}/secrets",
    "/api/v1/namespaces/{namespace}/serviceaccounts",
    "/apis/apps/v1/namespaces/{namespace}/deployments",
    "/apis/apps/v1/namespaces/{namespace}/replicasets",
    "/apis/batch/v1/namespaces/{namespace}/jobs",
    "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
)


def _refused(what: str, exc: kube.ApiFailure) -> CaasError:
    if exc.status in (401, 403):
        return CaasError(
            f"onboarding: existing needs read rights: {what} was refused ({exc.status}: {exc.message}); "
            "fix: use credentials of the cluster's admin in the kubeconfig's context"
        )
    return InfrastructureError(f"{what} failed: {exc}")


def read_fences(api: Any, namespace: str) -> NamespaceFences:
    """The namespace's labels and its NetworkPolicies, ResourceQuotas, LimitRanges and RoleBindings, as
    JSON. Raises kube.ApiFailure (404 when the namespace does not exist, 403 without read rights)."""
    labels = (kube.request(api, "GET", f"/api/v1/namespaces/{namespace}")["metadata"].get("labels")) or {}
    found: dict[str, tuple[dict[str, Any], ...]] = {}
    for kind, path in FENCE_COLLECTIONS.items():
        found[kind] = tuple(kube.request(api, "GET", path.format(namespace=namespace)).get("items", []))
    return NamespaceFences(namespace=namespace, labels=dict(labels), **found)


def _missing(api: Any, namespaces: tuple[str, ...]) -> list[str]:
    absent = []
    for namespace in namespaces:
        try:
            kube.request(api, "GET", f"/api/v1/namespaces/{namespace}")
        except kube.ApiFailure as exc:
            if exc.status != 404:
                raise _refused(f"reading namespace {namespace}", exc) from None
            absent.append(namespace)
    return absent


def missing_namespaces_problems(
    spec: Any, source: str, base_dir: Path, products: tuple[str, ...], timeout: float = kube.DEFAULT_TIMEOUT
) -> list[ConfigError]:
    """One ConfigError per namespace a selected `onboarding: existing` product names that its cluster (the
    kubeconfig's context, or the dedicated tenant's) does not have: `tenancy[i].tenants[j].namespaces[k]:
    namespace "x" does not exist on ... (fix: ...)`. `spec` is the TargetsSpec. Raises CaasError when the
    cluster refuses the reads, InfrastructureError when it cannot be reached."""
    problems: list[ConfigError] = []
    by_name = {p.name: p for p in spec.products}
    for i, tenancy in enumerate(spec.tenancy):
        product = by_name.get(tenancy.product)
        if product is None or product.name not in products or product.onboarding != "existing":
            continue
        section = product.kubeconfig
        path = (base_dir / Path(section.path).expanduser()).resolve()
        for j, tenant in enumerate(tenancy.tenants):
            context = section.tenant_contexts.get(tenant.name) if tenant.placement == "dedicated" else section.context
            try:
                api = kube.from_kubeconfig(path, context, timeout=timeout)
            except Exception as exc:  # the loader raises ConfigException, KeyError, ...
                raise ConfigError(
                    source, f"products[{spec.products.index(product)}].kubeconfig.path", f"cannot use {path}: {exc}"
                ) from None
            try:
                absent = set(_missing(api, tuple(tenant.namespaces)))
            except kube.ApiFailure as exc:
                raise InfrastructureError(
                    f"cluster of context {context or '(current)'} is unreachable: {exc} (fix: check the kubeconfig's "
                    "server address, the network or the proxy)"
                ) from None
            finally:
                api.close()
            for k, namespace in enumerate(tenant.namespaces):
                if namespace in absent:
                    problems.append(
                        ConfigError(
                            source,
                            f"tenancy[{i}].tenants[{j}].namespaces[{k}]",
                            f'namespace "{namespace}" does not exist on the cluster of context '
                            f"{context or '(current)'} (fix: name a namespace the provider made for tenant "
                            f"{tenant.name}; onboarding: existing creates none)",
                        )
                    )
    return problems


@dataclass(frozen=True)
class TenantFindings:
    """What was read for one tenant: its fences, the plan they amount to, how it differs from the declared
    plan, and the tenant role the bindings give each identity (None: none of admin, edit, view)."""

    tenant: str
    fences: NamespaceFences
    plan: Plan
    differences: tuple[str, ...]
    roles: dict[str, str | None] = field(default_factory=dict)  # identity -> role found


class ExistingTenancy:
    """The provider's tenancy of one product, judged as it is (same interface as tenancy.Provisioner)."""

    def __init__(
        self,
        backend: ClusterBackend,
        run_id: str,
        report: Report = lambda _m: None,
        cluster_prefix: str = "",
        timeout: float = kube.DEFAULT_TIMEOUT,
    ) -> None:
        self.backend = backend
        self.run_id = run_id
        self.report = report
        self.cluster_prefix = cluster_prefix
        self.timeout = timeout
        self.findings: dict[str, TenantFindings] = {}
        self._released: list[Callable[[], None]] = []

    def provision(self, model: TenancyModel, product_name: str) -> ProvisionedTenancy:
        """Reach the product's clusters, take the identities' credentials and read every tenant's fences;
        -> the tenancy whose product holds the plans the fences amount to (`fences.effective_catalog`: under
        the declared names, or `<plan>@<tenant>` where tenants of one plan differ). Raises CaasError for a
        namespace the cluster does not have or reads it refuses; creates nothing."""
        declared = model.product(product_name)
        tenancy = ProvisionedTenancy(declared, self.run_id)
        found: dict[str, tuple[str, Plan]] = {}  # tenant -> (its declared plan, the plan its fences amount to)
        try:
            for placement in model.clusters(product_name, self.cluster_prefix):
                started = time.monotonic()
                request = ClusterRequest(placement, declared.plan(placement.tenants[0].plan), self.run_id)
                handle = self.backend.provision(request)
                self._released.append(lambda h=handle, t=placement.tenants: self._sweep(h, t))  # type: ignore[misc]
                provisioned = ProvisionedCluster(handle, placement.tenants)
                provisioned.authenticators = self.backend.capabilities.authenticators
                provisioned.credentials.update(self.backend.credentials(handle, provisioned.identities))
                tenancy.clusters.append(provisioned)
                for tenant in placement.tenants:
                    findings = self._read(handle, tenancy, provisioned, tenant, declared.plan(tenant.plan))
                    self.findings[tenant.name] = findings
                    found[tenant.name] = (tenant.plan, findings.plan)
                tenancy.timings[f"reading the provider's fences on {handle.name}"] = time.monotonic() - started
        except BaseException:
            self.rollback()
            raise
        plans, names = effective_catalog(declared.plans, found)
        tenancy.product = Product(declared.name, declared.backend, plans)
        for provisioned in tenancy.clusters:
            provisioned.tenants = tuple(replace(t, plan=names[t.name]) for t in provisioned.tenants)
        for name, findings in self.findings.items():
            self.findings[name] = replace(findings, plan=replace(findings.plan, name=names[name]))
        return tenancy

    def _read(
        self,
        handle: ClusterHandle,
        tenancy: ProvisionedTenancy,
        provisioned: ProvisionedCluster,
        tenant: Tenant,
        declared: Plan,
    ) -> TenantFindings:
        api = kube.from_kubeconfig(handle.admin_kubeconfig, handle.context, timeout=self.timeout)
        try:
            try:
                destinations = read_destinations(api)
                fences = read_fences(api, tenant.namespace)
                for other in tenant.namespaces[1:]:
                    read_fences(api, other)  # the others must exist and be readable too
            except kube.ApiFailure as exc:
                if exc.status == 404:
                    raise CaasError(
                        f"tenant {tenant.name}: a namespace of {', '.join(tenant.namespaces)} does not exist on "
                        f"{handle.name} (fix: name the provider's namespaces in the targets file)"
                    ) from None
                raise _refused(f"reading the fences of tenant {tenant.name} on {handle.name}", exc) from None
        finally:
            api.close()
        plan = effective_plan(declared, fences, destinations.api_server)
        roles = {i.user: self._role(tenancy, i.user, fences) for i in provisioned.identities_of(tenant)}
        differences = tuple(plan_differences(declared, plan))
        self.report(
            f"{tenancy.product.name}: tenant {tenant.name} in {tenant.namespace}: the provider's fences amount to "
            f"{'the declared plan' if not differences else '; '.join(differences)}; roles found {roles}"
        )
        return TenantFindings(tenant.name, fences, plan, differences, roles)

    def summary(self) -> str:
        """One paragraph per tenant: where its fences were read, whether they isolate ingress and egress,
        how its effective plan differs from the declared one, and the role each identity was found with."""
        lines = []
        for name, found in self.findings.items():
            isolated = isolation(found.fences.network_policies)
            lines += [
                f"tenant {name} in namespace {found.fences.namespace}: effective plan {found.plan.name}",
                f"  ingress isolated: {isolated.ingress}, egress isolated: {isolated.egress}",
                *(f"  {line}" for line in found.differences or ("the fences amount to the declared plan",)),
                *(f"  {user}: {role or 'no tenant role'}" for user, role in found.roles.items()),
            ]
        return "\n".join(lines)

    def _role(self, tenancy: ProvisionedTenancy, user: str, fences: NamespaceFences) -> str | None:
        """The tenant role the provider's bindings give the identity's credentials, as the API server
        authenticates them (a SelfSubjectReview); None when the review or the bindings give none."""
        try:
            name, groups = tenancy.authenticated_as(user, timeout=self.timeout)
        except kube.ApiFailure:
            return None
        role = identity_role(fences.role_bindings, name, groups)
        return role.value if role is not None else None

    def _sweep(self, handle: ClusterHandle, tenants: tuple[Tenant, ...]) -> None:
        """Delete what the run created in the tenants' namespaces: objects labelled with its run id only."""
        api = kube.from_kubeconfig(handle.admin_kubeconfig, handle.context, timeout=self.timeout)
        try:
            for path in _labelled_objects(api, tenants, self.run_id):
                kube.delete_if_present(api, path)
        finally:
            api.close()

    def rollback(self) -> None:
        """Remove the run's own objects from every tenant namespace; keep going past single failures."""
        errors = unwind(self._released)
        if errors:
            raise InfrastructureError("cleanup left errors: " + "; ".join(errors))

    release = rollback


def _labelled_objects(api: Any, tenants: tuple[Tenant, ...], run_id: str) -> Iterator[str]:
    for tenant in tenants:
        for namespace in tenant.namespaces:
            for collection in _CHECK_OBJECTS:
                path = collection.format(namespace=namespace)
                try:
                    listed = kube.request(api, "GET", path, query={"labelSelector": f"{RUN_ID}={run_id}"})
                except kube.ApiFailure as exc:
                    if exc.status == 404:
                        continue
                    raise
                for item in listed.get("items", []):
                    yield f"{path}/{item['metadata']['name']}"
