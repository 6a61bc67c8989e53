"""Remove what runs left on clusters the suite does not own (kubeconfig targets): the tenant
namespaces it labelled and its labelled cluster-scoped objects (onboarding's admission policy),
chosen by run id, by age, or all of them. Deleting a namespace deletes everything onboarding
and the checks created in it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provisioning.kube import client as kube
from provisioning.model.onboarding import MANAGED_BY, RUN_ID


@dataclass(frozen=True)
class Selection:
    """Which runs' objects to remove: one run id, those older than `older_than` seconds, or all."""

    run_id: str | None = None
    older_than: float | None = None

    def chooses(self, labels: dict[str, str], created: float, now: float) -> bool:
        if self.run_id is not None:
            return labels.get(RUN_ID) == self.run_id
        if self.older_than is not None:
            return now - created > self.older_than
        return True


def sweep_namespaces(api: Any, selection: Selection) -> list[str]:
    """Delete the suite's labelled namespaces that `selection` chooses; return their names."""
    listed = kube.call(api, "CoreV1Api", "list_namespace", label_selector=f"{MANAGED_BY}=caas-conformance")
    now = time.time()
    removed = []
    for ns in listed.items:
        created = ns.metadata.creation_timestamp.timestamp()
        if selection.chooses(dict(ns.metadata.labels or {}), created, now):
            try:
                kube.call(api, "CoreV1Api", "delete_namespace", ns.metadata.name)
            except kube.ApiFailure as exc:
                if exc.status != 404:
                    raise
            removed.append(ns.metadata.name)
    return removed


# Cluster-scoped kinds the suite creates: onboarding's admission policy, and a mutation's ClusterRoleBinding.
CLUSTER_COLLECTIONS = (
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
)


def sweep_cluster_objects(api: Any, selection: Selection) -> list[str]:
    """Delete the suite's labelled cluster-scoped objects that `selection` chooses; return kind/name of each."""
    now = time.time()
    removed = []
    for collection in CLUSTER_COLLECTIONS:
        try:
            listed = kube.request(api, "GET", collection, query={"labelSelector": f"{MANAGED_BY}=caas-conformance"})
        except kube.ApiFailure as exc:
            if exc.status == 404:  # an older cluster that does not serve the kind
                continue
            raise
        for item in listed.get("items", []):
            meta = item["metadata"]
            created = datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")).timestamp()
            if selection.chooses(dict(meta.get("labels") or {}), created, now):
                kube.delete_if_present(api, f"{collection}/{meta['name']}")
                removed.append(f"{collection.rsplit('/', 1)[1]}/{meta['name']}")
    return removed


def namespaced_collections(api: Any) -> list[str]:
    """The list paths of every namespaced resource the API serves (read from discovery)."""
    paths = []
    groups = [("/api/v1", "")]
    for group in kube.request(api, "GET", "/apis")["groups"]:
        groups.append((f"/apis/{group['preferredVersion']['groupVersion']}", group["name"]))
    for base, _ in groups:
        for resource in kube.request(api, "GET", base)["resources"]:
            verbs = set(resource.get("verbs", []))
            if resource["namespaced"] and "/" not in resource["name"] and {"list", "patch"} <= verbs:
                paths.append(f"{base}/namespaces/{{namespace}}/{resource['name']}")
    return paths


def release_finalizers(api: Any, namespace: str) -> list[str]:
    """Clear the finalizers that keep a deleted namespace Terminating (objects whose controller is
    gone, e.g. with the run that created them); return what was released."""
    released = []
    for collection in namespaced_collections(api):
        path = collection.format(namespace=namespace)
        try:
            items = kube.request(api, "GET", path)["items"]
        except kube.ApiFailure:
            continue  # a resource the admin may not list, or an aggregated API that is down
        for item in items:
            if item["metadata"].get("finalizers"):
                name = item["metadata"]["name"]
                kube.request(
                    api,
                    "PATCH",
                    f"{path}/{name}",
                    body={"metadata": {"finalizers": None}},
                    content_type="application/merge-patch+json",
                )
                released.append(f"{path.rsplit('/', 1)[-1]}/{name}")
    return released


def stuck_terminating(api: Any, names: list[str]) -> list[str]:
    """The namespaces among `names` that still exist."""
    remaining = []
    for name in names:
        try:
            kube.call(api, "CoreV1Api", "read_namespace", name)
            remaining.append(name)
        except kube.ApiFailure as exc:
            if exc.status != 404:
                raise
    return remaining
