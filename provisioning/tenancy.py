"""Provision a product's tenancy: its clusters through the backend, then each tenant's onboarding.

Everything created is recorded on an undo stack; a failure part-way rolls back
what was done (LIFO), and `release` removes it all the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import CaasError, InfrastructureError
from harness.wait import wait_until
from provisioning.backends.protocol import ClusterBackend, ClusterHandle, ClusterRequest, Credential
from provisioning.cluster_destinations import read_destinations
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.mutations import Mutation
from provisioning.model.onboarding import (
    COMPONENT,
    PROTECTION,
    ClusterDestinations,
    abac_policy_lines,
    collection_path,
    object_path,
    protection_manifests,
    service_type_manifests,
    tenant_manifests,
)
from provisioning.model.tenancy import (
    CERTIFICATE_ONLY,
    Authenticator,
    AuthorizationMode,
    Identity,
    Product,
    Role,
    TenancyModel,
    Tenant,
    role_group,
)
from provisioning.undo import unwind

Undo = Callable[[], None]
Report = Callable[[str], None]


@dataclass
class ProvisionedCluster:
    handle: ClusterHandle
    tenants: tuple[Tenant, ...]
    credentials: dict[str, Credential] = field(default_factory=dict, repr=False)
    onboarding_seconds: dict[str, float] = field(default_factory=dict)
    authenticators: tuple[Authenticator, ...] = CERTIFICATE_ONLY  # how its tenants' identities authenticate

    def identities_of(self, tenant: Tenant) -> tuple[Identity, ...]:
        """The tenant's identities on this cluster: one admin, developer and viewer per authenticator."""
        return tenant.identities_for(self.authenticators)

    @property
    def identities(self) -> tuple[Identity, ...]:
        return tuple(i for t in self.tenants for i in self.identities_of(t))


@dataclass
class ProvisionedTenancy:
    """A product's provisioned clusters, tenants and identities; hands out fresh API clients."""

    product: Product
    run_id: str
    clusters: list[ProvisionedCluster] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def cluster_of(self, tenant: str) -> ProvisionedCluster:
        for provisioned in self.clusters:
            if any(t.name == tenant for t in provisioned.tenants):
                return provisioned
        raise KeyError(f'tenant "{tenant}" is not provisioned on product "{self.product.name}"')

    @property
    def tenants(self) -> tuple[Tenant, ...]:
        return tuple(t for c in self.clusters for t in c.tenants)

    def tenant(self, name: str) -> Tenant:
        return next(t for t in self.tenants if t.name == name)

    def identity(self, user: str) -> Identity:
        for provisioned in self.clusters:
            for identity in provisioned.identities:
                if identity.user == user:
                    return identity
        raise KeyError(
            f'no identity "{user}" (users are <tenant>-admin, <tenant>-developer, <tenant>-viewer, '
            "and oidc:<tenant>-<role> where the product offers OIDC)"
        )

    def authenticated_as(self, user: str, timeout: float = kube.DEFAULT_TIMEOUT) -> tuple[str, tuple[str, ...]]:
        """The user name and groups the API server makes of `user`'s credentials (a SelfSubjectReview,
        authentication.k8s.io/v1); kube.ApiFailure when it does not answer."""
        api = self.client_for(user, timeout=timeout)
        try:
            who = kube.who_am_i(api)
        finally:
            api.close()
        return str(who.get("username", "")), tuple(who.get("groups") or ())

    def client_for(self, user: str, timeout: float = kube.DEFAULT_TIMEOUT) -> Any:
        """A fresh ApiClient authenticated as `user` on its tenant's cluster."""
        identity = self.identity(user)
        provisioned = self.cluster_of(identity.tenant)
        credential = provisioned.credentials[user]
        if credential.kubeconfig is not None:
            return kube.from_kubeconfig(credential.kubeconfig, credential.context, timeout=timeout)
        if credential.impersonate is not None:
            name, groups = credential.impersonate
            return kube.with_impersonation(self.admin_client(provisioned, timeout), name, groups)
        target = kube.Cluster(provisioned.handle.server, provisioned.handle.ca_pem)
        return kube.api_client(
            target, cert_pem=credential.cert_pem, key_pem=credential.key_pem, token=credential.token, timeout=timeout
        )

    def client_on(self, cluster: ProvisionedCluster, user: str, timeout: float = kube.DEFAULT_TIMEOUT) -> Any:
        """A fresh ApiClient for `user`'s credentials, sent to another tenant's cluster."""
        own = self.cluster_of(self.identity(user).tenant).credentials[user]
        target = kube.Cluster(cluster.handle.server, cluster.handle.ca_pem)
        return kube.api_client(target, cert_pem=own.cert_pem, key_pem=own.key_pem, token=own.token, timeout=timeout)

    def admin_client(self, cluster: ProvisionedCluster, timeout: float = kube.DEFAULT_TIMEOUT) -> Any:
        return kube.from_kubeconfig(cluster.handle.admin_kubeconfig, cluster.handle.context, timeout=timeout)


def refused_by_protection(answer: answers.Answer) -> bool:
    """Whether `answer` (`answers.classify`) is the onboarding protection's refusal: the classifier names a
    ValidatingAdmissionPolicy whose name starts with PROTECTION (`protection_manifests`) as the layer that
    refused; any other answer (accepted, another layer's refusal, an error) says it is not in force yet."""
    return answer.layer is answers.Layer.ADMISSION_POLICY and answer.policy.startswith(PROTECTION)


class Provisioner:
    """Provisions one product's tenancy through its backend, with rollback."""

    def __init__(
        self,
        backend: ClusterBackend,
        run_id: str,
        report: Report = lambda _m: None,
        timeout: float = 60.0,
        cluster_prefix: str = "",
        mutation: Mutation | None = None,
    ) -> None:
        self.mutation = mutation
        self.backend = backend
        self.cluster_prefix = cluster_prefix
        self.timeout = timeout
        self.run_id = run_id
        self.report = report
        self._undo: list[Undo] = []

    def provision(self, model: TenancyModel, product_name: str) -> ProvisionedTenancy:
        product = model.product(product_name)
        tenancy = ProvisionedTenancy(product, self.run_id)
        try:
            for placement in model.clusters(product_name, self.cluster_prefix):
                started = time.monotonic()
                plan = product.plan(placement.tenants[0].plan)
                self.report(f"{product_name}: provisioning cluster {placement.name}")
                handle = self.backend.provision(ClusterRequest(placement, plan, self.run_id))
                self._undo.append(lambda h=handle: self.backend.release(h))  # type: ignore[misc]
                provisioned = ProvisionedCluster(handle, placement.tenants)
                tenancy.clusters.append(provisioned)
                tenancy.timings[f"cluster {placement.name}"] = time.monotonic() - started
                self._onboard(product, provisioned)
        except BaseException:
            self.rollback()
            raise
        return tenancy

    def _onboard(self, product: Product, provisioned: ProvisionedCluster) -> None:
        handle = provisioned.handle
        authenticators = self.backend.capabilities.authenticators
        provisioned.authenticators = authenticators
        started = time.monotonic()
        provisioned.credentials.update(self.backend.credentials(handle, provisioned.identities))
        api = kube.from_kubeconfig(handle.admin_kubeconfig, handle.context)
        guarded = [t for t in provisioned.tenants if product.plan(t.plan).authorization is AuthorizationMode.RBAC]
        try:
            protection = protection_manifests(self.run_id, self.mutation) if guarded else []
            for manifest in protection:
                self._create(api, handle, manifest)
            destinations = _destinations(api)
            for tenant in provisioned.tenants:
                tenant_started = time.monotonic()
                self.report(f"{product.name}: onboarding tenant {tenant.name} on {handle.name}")
                plan = product.plan(tenant.plan)
                for manifest in tenant_manifests(
                    tenant, plan, self.run_id, self.mutation, authenticators, destinations
                ):
                    self._create(api, handle, manifest)
                for manifest in service_type_manifests(tenant, plan, self.run_id):
                    self._create(api, handle, manifest)
                self._wait_default_service_account(api, tenant.namespace)
                provisioned.onboarding_seconds[tenant.name] = time.monotonic() - tenant_started
            if protection:
                self._wait_protection(handle, guarded[0])
            if handle.authorization is AuthorizationMode.ABAC:
                apply = getattr(self.backend, "apply_abac_policy", None)
                if apply is None:
                    raise InfrastructureError(f"backend {self.backend.name} cannot change an ABAC policy")
                abac_started = time.monotonic()
                apply(handle, [line for t in provisioned.tenants for line in abac_policy_lines(t, authenticators)])
                provisioned.onboarding_seconds["abac-restart"] = time.monotonic() - abac_started
        finally:
            api.close()
        provisioned.onboarding_seconds["total"] = time.monotonic() - started

    def _wait_protection(self, handle: ClusterHandle, tenant: Tenant) -> None:
        """Admission policies take effect asynchronously: wait until a tenant developer's (dry-run) create
        of a NetworkPolicy labelled as onboarding's is refused by the policy, the proof that it is in force.
        A developer (`edit`) may create NetworkPolicies, so only the policy can refuse it; the probe needs
        no existing object and holds whatever fences a mutation removed."""
        api = kube.with_impersonation(
            kube.from_kubeconfig(handle.admin_kubeconfig, handle.context),
            f"{tenant.name}-{Role.DEVELOPER.value}",
            (role_group(tenant.name, Role.DEVELOPER),),
        )
        path = f"/apis/networking.k8s.io/v1/namespaces/{tenant.namespace}/networkpolicies"
        probe = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{PROTECTION}-probe", "labels": {COMPONENT: "onboarding"}},
            "spec": {"podSelector": {}},
        }

        def attempt() -> answers.Answer:
            try:
                kube.request(api, "POST", path, body=probe, query={"dryRun": "All"})
            except kube.ApiFailure as failure:
                return answers.classify(failure.status, failure.body or failure.message, failure.reason)
            return answers.classify(200, "accepted (the policy is not in force yet)")

        try:
            wait_until(
                attempt,
                refused_by_protection,
                timeout=self.timeout,
                what=f"the admission policy {PROTECTION} to refuse a tenant developer's create at {path}",
            )
        finally:
            api.close()

    def _wait_default_service_account(self, api: Any, namespace: str) -> None:
        """Pods cannot be created before the namespace's default service account exists."""

        def read() -> Any:
            return kube.call(api, "CoreV1Api", "read_namespaced_service_account", "default", namespace)

        wait_until(
            read,
            lambda _sa: True,
            timeout=self.timeout,
            what=f"the default service account of {namespace}",
            retry_on=(kube.ApiFailure,),
        )

    def _create(self, api: Any, handle: ClusterHandle, manifest: dict[str, Any]) -> None:
        try:
            kube.request(api, "POST", collection_path(manifest), body=manifest)
        except kube.ApiFailure as exc:
            what = f"{manifest['kind']} {manifest['metadata'].get('namespace', '')}/{manifest['metadata']['name']}"
            if exc.status in (401, 403):
                raise CaasError(
                    f"onboarding needs more rights: creating {what} was refused ({exc.status}: {exc.message}); "
                    "fix: use admin credentials for the cluster"
                ) from None
            raise InfrastructureError(f"creating {what} failed: {exc}") from None
        if "namespace" not in manifest["metadata"]:  # deleting a namespace deletes what onboarding put in it
            path = object_path(manifest)
            self._undo.append(lambda: _delete(handle, path))

    def rollback(self) -> None:
        """Undo everything done so far, newest first; keep going past individual failures."""
        errors = unwind(self._undo)
        if errors:
            raise InfrastructureError("cleanup left errors: " + "; ".join(errors))

    release = rollback


def _delete(handle: ClusterHandle, path: str) -> None:
    api = kube.from_kubeconfig(handle.admin_kubeconfig, handle.context)
    try:
        kube.delete_if_present(api, path)
    finally:
        api.close()


def _destinations(api: Any) -> ClusterDestinations:
    """The cluster DNS and API server endpoints onboarding's egress rules name; a refusal is one
    CaasError naming the right it lacks, any other API error an InfrastructureError."""
    try:
        return read_destinations(api)
    except kube.ApiFailure as exc:
        if exc.status in (401, 403):
            raise CaasError(
                "onboarding needs more rights: reading the cluster DNS Service and the API server's endpoints "
                f"was refused ({exc.status}: {exc.message}); fix: use admin credentials for the cluster"
            ) from None
        raise InfrastructureError(
            f"reading the cluster DNS Service and the API server's endpoints failed: {exc}"
        ) from None
