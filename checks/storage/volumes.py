"""Claims and the pods that use them, created with a tenant's own credentials (observation helpers).

Everything created carries the run's labels and a readable name with a random
suffix; a `Workspace` remembers it and removes it newest first.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from checks import decided
from harness.errors import InfrastructureError
from harness.wait import wait_until
from provisioning.images.products import suite_pod
from provisioning.images.refs import lab_ref
from provisioning.kube import client as kube
from provisioning.kube.pods import create_pod, delete_pod, exec_in_pod, wait_running
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.pods import restricted_container_security, restricted_pod_security
from provisioning.tenancy import ProvisionedTenancy
from provisioning.undo import unwind

MOUNT = "/data"
TOKEN_FILE = f"{MOUNT}/token"
SMALL_CLAIM = "16Mi"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def unique(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"


def claim_manifest(
    name: str, tenant: str, run_id: str, size: str = SMALL_CLAIM, volume_name: str = "", storage_class: str = ""
) -> dict[str, Any]:
    """A ReadWriteOnce claim; no class means the cluster's default class."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if volume_name:
        spec["volumeName"] = volume_name
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": {**run_labels(run_id, tenant), "caas-conformance.io/check": "storage"}},
        "spec": spec,
    }


def volume_pod_manifest(name: str, tenant: str, run_id: str, volume: dict[str, Any]) -> dict[str, Any]:
    """A pod that passes the `restricted` pod-security level and mounts `volume` at /data."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {**run_labels(run_id, tenant), "caas-conformance.io/check": "storage"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "securityContext": restricted_pod_security(),
            "volumes": [{"name": "data", **volume}],
            "containers": [
                {
                    "name": "app",
                    **lab_ref("busybox").container(),
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "data", "mountPath": MOUNT}],
                    "securityContext": restricted_container_security(),
                }
            ],
        },
    }


def claim_volume(claim: str) -> dict[str, Any]:
    return {"persistentVolumeClaim": {"claimName": claim}}


@dataclass
class Workspace:
    """What a scenario created on one product; `clean()` removes it newest first, as the cluster admin."""

    tenancy: ProvisionedTenancy
    timeout: float
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _claim_tenants: set[str] = field(default_factory=set)

    def as_tenant(self, tenant: str) -> Any:
        """A fresh ApiClient with the tenant admin's real credentials; the scenario judges the tenant's plan
        (`checks.decided.judged`)."""
        decided.judged([tenant])
        return self.tenancy.client_for(f"{tenant}-admin")

    def admin(self, tenant: str) -> Any:
        return self.tenancy.admin_client(self.tenancy.cluster_of(tenant))

    def create_claim(self, tenant: str, manifest: dict[str, Any]) -> Any:
        namespace = self.tenancy.tenant(tenant).namespace
        api = self.as_tenant(tenant)
        try:
            created = kube.call(api, "CoreV1Api", "create_namespaced_persistent_volume_claim", namespace, manifest)
        finally:
            api.close()
        self._undo.append(lambda: self.delete_claim(tenant, manifest["metadata"]["name"]))
        self._claim_tenants.add(tenant)
        return created

    def create_pod(self, tenant: str, manifest: dict[str, Any]) -> None:
        namespace = self.tenancy.tenant(tenant).namespace
        api = self.as_tenant(tenant)
        try:
            create_pod(api, namespace, suite_pod(self.tenancy.product.name, api, namespace, manifest))
        finally:
            api.close()
        self._undo.append(lambda: self.delete_pod(tenant, manifest["metadata"]["name"]))

    def run_pod(self, tenant: str, manifest: dict[str, Any]) -> Any:
        self.create_pod(tenant, manifest)
        api = self.as_tenant(tenant)
        try:
            return wait_running(api, self.tenancy.tenant(tenant).namespace, manifest["metadata"]["name"], self.timeout)
        finally:
            api.close()

    def delete_pod(self, tenant: str, name: str) -> None:
        api = self.admin(tenant)
        try:
            delete_pod(api, self.tenancy.tenant(tenant).namespace, name, self.timeout)
        finally:
            api.close()

    def delete_claim(self, tenant: str, name: str) -> None:
        api = self.admin(tenant)
        try:
            kube.call(
                api,
                "CoreV1Api",
                "delete_namespaced_persistent_volume_claim",
                name,
                self.tenancy.tenant(tenant).namespace,
            )
        except kube.ApiFailure as exc:
            if exc.status != 404:
                raise
        finally:
            api.close()

    def wait_bound(self, tenant: str, name: str, timeout: float) -> Any:
        api = self.as_tenant(tenant)
        namespace = self.tenancy.tenant(tenant).namespace
        try:
            return wait_until(
                lambda: kube.call(api, "CoreV1Api", "read_namespaced_persistent_volume_claim", name, namespace),
                lambda claim: claim.status.phase == "Bound",
                timeout=timeout,
                what=f"claim {namespace}/{name} to be Bound",
                retry_on=(kube.ApiFailure,),
            )
        finally:
            api.close()

    def run(self, tenant: str, pod: str, command: list[str]) -> str:
        """Run a command in the tenant's pod as the tenant; its output, or ApiFailure if it did not exit 0."""
        api = self.as_tenant(tenant)
        try:
            result = exec_in_pod(api, self.tenancy.tenant(tenant).namespace, pod, command, timeout=self.timeout)
        finally:
            api.close()
        if not result.ok:
            raise kube.ApiFailure(0, f"{' '.join(command)} exited {result.exit_code}: {result.stderr.strip()[:200]}")
        return result.stdout

    def wait_quota_settled(self, tenant: str) -> None:
        """Until the tenant's claim quota counts exactly the claims its namespace holds, none being deleted
        (WaitTimeout after the workspace's timeout). Deleted claims leave the quota only once gone and
        counted again, and the quota controller's resync may lag behind claims just admitted; a scenario
        that steps over the claim count needs that count settled first."""
        namespace = self.tenancy.tenant(tenant).namespace
        api = self.admin(tenant)

        def counts() -> tuple[int, int, list[str]]:
            claims = kube.call(api, "CoreV1Api", "list_namespaced_persistent_volume_claim", namespace).items
            going = sum(1 for c in claims if c.metadata.deletion_timestamp is not None)
            quotas = kube.call(api, "CoreV1Api", "list_namespaced_resource_quota", namespace).items
            used = [str((q.status.used or {}).get("persistentvolumeclaims", "0")) for q in quotas if q.status]
            return len(claims), going, used

        try:
            wait_until(
                counts,
                lambda seen: seen[1] == 0 and all(u == str(seen[0]) for u in seen[2]),
                timeout=self.timeout,
                what=f"the claim quota of {namespace} to count only the claims that remain",
                retry_on=(kube.ApiFailure,),
            )
        finally:
            api.close()

    def clean(self) -> None:
        """Undo what the scenario made and wait for the quota to count it gone; InfrastructureError (an
        ERROR of the scenario, never a product failure) naming every step that failed."""
        errors = unwind(self._undo)
        for tenant in sorted(self._claim_tenants):
            try:
                self.wait_quota_settled(tenant)
            except Exception as exc:
                errors.append(str(exc))
        if errors:
            raise InfrastructureError("storage clean-up left errors: " + "; ".join(errors))


@contextlib.contextmanager
def workspace(tenancy: ProvisionedTenancy, timeout: float, keep: bool) -> Iterator[Workspace]:
    """A scenario's workspace (`timeout`: seconds a pod may take to run); everything it made is removed
    when the scenario ends, unless `keep` (InfrastructureError when that fails: see `Workspace.clean`)."""
    ws = Workspace(tenancy, timeout)
    try:
        yield ws
    finally:
        if not keep:
            ws.clean()


def default_storage_classes(tenancy: ProvisionedTenancy, tenant: str) -> list[str]:
    """Names of the StorageClasses marked default on the tenant's cluster (read as the operator)."""
    api = tenancy.admin_client(tenancy.cluster_of(tenant))
    try:
        classes = kube.call(api, "StorageV1Api", "list_storage_class").items
    finally:
        api.close()
    return [c.metadata.name for c in classes if (c.metadata.annotations or {}).get(DEFAULT_CLASS) == "true"]


def read_volume(tenancy: ProvisionedTenancy, tenant: str, name: str) -> Any | None:
    """The PersistentVolume `name` as the operator sees it, or None once it is gone."""
    api = tenancy.admin_client(tenancy.cluster_of(tenant))
    try:
        return kube.call(api, "CoreV1Api", "read_persistent_volume", name)
    except kube.ApiFailure as exc:
        if exc.status == 404:
            return None
        raise
    finally:
        api.close()


@dataclass(frozen=True)
class WrittenVolume:
    """A tenant's bound claim with a pod that wrote a secret token into it."""

    tenant: str
    claim: str
    pod: str
    volume: str
    storage_class: str
    size: str
    token: str


def claim_and_write(workspace: Workspace, tenant: str, bound_timeout: float) -> WrittenVolume:
    """As the tenant: claim a volume of the default class, mount it, write a fresh token into it."""
    run_id = workspace.tenancy.run_id
    claim = unique("sto-data")
    workspace.create_claim(tenant, claim_manifest(claim, tenant, run_id))
    bound = workspace.wait_bound(tenant, claim, bound_timeout)
    pod = unique("sto-writer")
    workspace.run_pod(tenant, volume_pod_manifest(pod, tenant, run_id, claim_volume(claim)))
    token = secrets.token_hex(16)
    workspace.run(tenant, pod, ["sh", "-c", f"echo {token} > {TOKEN_FILE} && sync"])
    return WrittenVolume(
        tenant,
        claim,
        pod,
        bound.spec.volume_name,
        bound.spec.storage_class_name or "",
        bound.status.capacity.get("storage", SMALL_CLAIM) if bound.status.capacity else SMALL_CLAIM,
        token,
    )


def mount_and_list(workspace: Workspace, tenant: str, claim: str) -> tuple[str, str]:
    """As the tenant: a new pod mounting `claim`; returns its name and the listing of the volume's files."""
    pod = unique("sto-reader")
    workspace.run_pod(tenant, volume_pod_manifest(pod, tenant, workspace.tenancy.run_id, claim_volume(claim)))
    return pod, workspace.run(tenant, pod, ["sh", "-c", f"ls -A {MOUNT}; cat {TOKEN_FILE} 2>/dev/null || true"])
