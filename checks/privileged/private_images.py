"""Private images on shared nodes (check_privileged_006, kubectl-mtb MTB-PL1-CC-DI-1), observation only.

Tenant A's admin pushes the suite's probe image into A's own repository of a private registry (one per
run: <registry>/<run id>/<product>-<tenant>-private, so no node holds it before A pulls it), makes a pull secret
for it in A's namespace and runs a pod from it (the positive control: "A's own pod runs"). Tenant B's
admin, on the same shared cluster and without any pull secret, then starts pods naming the same image
on A's pod's node (spec.nodeName), asking for pull policy IfNotPresent and Never. B's pod is refused
(its pull gets 401, or an admission policy refuses the pod) where the product forces pulls, and runs
A's image from the node's cache where it does not: the check fails.

The private registry is a RegistrySource (provisioning.backends.services) that the product's backend
offers (provisioning.backends.product_services.registry_source): the product's own (its `images` section
with a pull secret: the registry the nodes pull the suite's images from), else on the embedded lab the lab
registry, else there is none and the check is not applicable. The engine never names the lab. The cells
and the rule are provisioning.model.image_pulls'; a pull error of A's pod is ERROR, never a pass nor a
failure.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.matrix import Cell, Comparison
from checks.verdicts import Observed, holds, requirement_comparison, requirement_row, stacked
from harness.errors import InfrastructureError
from harness.settings import Settings
from harness.wait import WaitTimeout
from provisioning.backends import product_services
from provisioning.backends.services import PrivateRegistry
from provisioning.images import products, refs, skopeo
from provisioning.images.pull_secret import secret_manifest
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed, create_pod, delete_selected, wait_running
from provisioning.model import image_pulls
from provisioning.model.image_pulls import Observation, Start
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import compliant_pod
from provisioning.model.tenancy import Placement, Tenant
from provisioning.tenancy import ProvisionedTenancy

CHECK_LABEL = "caas-conformance.io/check"
CHECK = "private-images"
SECRET = "caas-private-image"  # noqa: S105 (a name): the owner's pull Secret for its private repository
IMAGE = "probe"  # the suite image pushed as the owner's private image
OTHER_POLICIES = ("IfNotPresent", "Never")


def private_registry(tenancy: ProvisionedTenancy, settings: Settings) -> PrivateRegistry | None:
    """The product's private registry, serving, where its backend offers one (product_services.registry_source;
    else None): its `images` registry when that needs a login, else on the embedded lab the lab registry
    (started if it is not serving). InfrastructureError when the registry does not serve;
    filelock.Timeout when another process holds the lab registry's lock longer than its start may take."""
    spec = settings.targets.product_spec(tenancy.product.name)
    login = products.of(spec.name).login  # None without a pull_secret (and for the lab's images)
    source = product_services.registry_source(
        spec.backend, spec.images, login, settings.targets.source.parent, settings.lab_home
    )
    return None if source is None else source.serve()


def forced_pulls(settings: Settings, product: str) -> bool | None:
    """Whether the product's API server forces pulls (image_pulls.forces_pulls): known where its backend
    knows the admission plugins its clusters start with (on the embedded lab: the lab profile), None
    (unknown) elsewhere (product_services.admission_plugins)."""
    spec = settings.targets.product_spec(product)
    plugins = product_services.admission_plugins(spec.backend, spec.lab, settings.mutation)
    return None if plugins is None else image_pulls.forces_pulls(plugins)


def shared_pairs(tenancy: ProvisionedTenancy, placement: Placement = Placement.SHARED) -> list[tuple[Tenant, Tenant]]:
    """(owner, other): the first two tenants of `placement` of each cluster that has two (a dedicated
    cluster has one tenant: no other tenant shares its nodes, so it gives no pair)."""
    pairs = []
    for provisioned in tenancy.clusters:
        shared = [t for t in provisioned.tenants if t.placement is placement]
        if len(shared) >= 2:
            pairs.append((shared[0], shared[1]))
    return pairs


@dataclass(frozen=True)
class PrivateImageObservation:
    """One pair's observation: the owner's pod and the other tenant's pods by pull policy."""

    registry: PrivateRegistry
    owner: str
    other: str
    image: str
    owner_start: Observation
    others: Mapping[str, Observation]
    left: tuple[str, ...] = ()  # what the cleanup could not remove (the run's namespace deletion may)

    @property
    def row(self) -> str:
        return f"{self.owner}'s private image, {self.other}'s pods"

    def cells(self) -> dict[str, Observed]:
        """The requirement row's cells: each requirement that holds ALLOWED, contradicted DENIED,
        unobserved ERROR (image_pulls.requirements)."""
        return {
            column: (Cell.ERROR, evidence) if ok is None else holds(ok, evidence)
            for column, (ok, evidence) in image_pulls.requirements(self.owner_start, self.others).items()
        }

    def describe(self) -> str:
        lines = [
            f"{self.row}: {self.image}",
            f"  {self.owner}: {self.owner_start.start.value}: {self.owner_start.evidence}",
        ]
        lines += [f"  {self.other} ({p}): {o.start.value}: {o.evidence}" for p, o in self.others.items()]
        lines += [f"  NOT REMOVED: {problem}" for problem in self.left]
        return "\n".join(lines)


def push_private_image(where: PrivateRegistry, image_dir: Path, run_id: str, owner: str) -> str:
    """Push the suite's probe image into the tenant's private repository; its reference by digest.
    InfrastructureError when skopeo fails (the registry refused the login, is down, ...)."""
    repository = where.repository(run_id, owner)
    access = skopeo.Access(login=where.login, ca_file=where.ca_file)
    skopeo.copy(f"oci-archive:{refs.archives(image_dir)[IMAGE]}", f"docker://{repository}:latest", dest=access)
    return f"{repository}@{refs.digests(image_dir)[IMAGE]}"


def _pod(name: str, labels: Mapping[str, str], image: str, policy: str, node: str = "", secret: str = "") -> Any:
    pod = compliant_pod(name, labels, image)
    pod["spec"]["containers"][0]["imagePullPolicy"] = policy
    if node:  # the owner's node: its cache holds the owner's image when the other tenant's pod starts
        pod["spec"]["nodeName"] = node
    if secret:
        pod["spec"]["imagePullSecrets"] = [{"name": secret}]
    return pod


def _start(api: Any, namespace: str, manifest: dict[str, Any], timeout: float) -> tuple[Observation, str]:
    """Create the pod and follow it: its Observation and its node ("" when it was not scheduled)."""
    name, asked = manifest["metadata"]["name"], manifest["spec"]["containers"][0]["imagePullPolicy"]
    where = f"pod {namespace}/{name} ({asked})"
    try:
        created = create_pod(api, namespace, manifest)
    except kube.ApiFailure as exc:
        start = image_pulls.start_of_refusal(exc.status, exc.body or exc.message, exc.reason)
        return Observation(start, f"{where} not created: {exc.status}: {exc.message}"), ""
    admitted = created.spec.containers[0].image_pull_policy
    policy = f"admitted with pull policy {admitted}" if admitted != asked else "admitted as asked"
    try:
        pod = wait_running(api, namespace, name, timeout=timeout)
    except PodFailed as failed:
        return Observation(image_pulls.start_of(str(failed)), f"{where}, {policy}: {failed}"), ""
    except (WaitTimeout, kube.ApiFailure) as exc:
        return Observation(Start.FAILED, f"{where}, {policy}: {exc}"), ""
    node = str(pod.spec.node_name or "")
    return Observation(Start.RAN, f"{where}, {policy}: Running on {node}"), node


def observe_private_image(
    tenancy: ProvisionedTenancy,
    pair: tuple[Tenant, Tenant],
    where: PrivateRegistry,
    image_dir: Path,
    run_id: str,
    timeout: float,
) -> PrivateImageObservation:
    """As the owner's admin, push and run the owner's private image; as the other tenant's admin, start
    pods naming it on the owner's node without credentials. Never raises for what the product answers:
    a failed push or start is an Observation (FAILED). Afterwards the pods and the owner's secret are
    deleted and waited for (`timeout` seconds); what could not be removed is in the observation's `left`."""
    owner, other = pair
    owner_api = tenancy.client_for(f"{owner.name}-admin")
    other_api = tenancy.client_for(f"{other.name}-admin")
    try:
        # the products of one run share a registry (the lab's): each owner's repository names its product
        repository = f"{tenancy.product.name}-{owner.name}"
        owner_start, image, others = _observe(
            owner_api, other_api, pair, where, (image_dir, run_id, repository), timeout
        )
    finally:
        left = [
            *_remove(owner_api, owner.namespace, timeout, secret=True),
            *_remove(other_api, other.namespace, timeout),
        ]
        owner_api.close()
        other_api.close()
    return PrivateImageObservation(where, owner.name, other.name, image, owner_start, others, tuple(left))


def _observe(
    owner_api: Any,
    other_api: Any,
    pair: tuple[Tenant, Tenant],
    where: PrivateRegistry,
    push: tuple[Path, str, str],
    timeout: float,
) -> tuple[Observation, str, dict[str, Observation]]:
    """The owner's start, its image and the other tenant's starts; `push`: the image directory, the run
    id and the owner's repository name (push_private_image)."""
    owner, other = pair
    image_dir, run_id, repository = push
    token = secrets.token_hex(3)
    try:
        image = push_private_image(where, image_dir, run_id, repository)
    except InfrastructureError as exc:
        failed = Observation(Start.FAILED, f"{owner.name}'s push to {where.what}: {exc}")
        return failed, where.repository(run_id, repository), _not_tried(failed)
    owner_start, node = _owner_runs(owner_api, owner, where, image, run_id, token, timeout)
    if owner_start.start is not Start.RAN:
        return owner_start, image, _not_tried(owner_start)
    labels = {**run_labels(run_id, other.name), CHECK_LABEL: CHECK}
    others = {}
    for policy in OTHER_POLICIES:
        pod = _pod(f"borrowed-{policy.lower()}-{token}", labels, image, policy, node)
        others[policy] = _start(other_api, other.namespace, pod, timeout)[0]
    return owner_start, image, others


def _owner_runs(
    api: Any, owner: Tenant, where: PrivateRegistry, image: str, run_id: str, token: str, timeout: float
) -> tuple[Observation, str]:
    labels = {**run_labels(run_id, owner.name), CHECK_LABEL: CHECK}
    secret = secret_manifest(owner.namespace, where.login, labels)
    secret["metadata"]["name"] = SECRET
    try:
        kube.request(api, "POST", f"/api/v1/namespaces/{owner.namespace}/secrets", body=secret)
    except kube.ApiFailure as exc:
        if exc.status != 409:
            return Observation(Start.FAILED, f"{owner.name}'s pull secret not created: {exc.status}: {exc.message}"), ""
    pod = _pod(f"private-{token}", labels, image, "IfNotPresent", secret=SECRET)
    return _start(api, owner.namespace, pod, timeout)


def _not_tried(owner: Observation) -> dict[str, Observation]:
    why = f"not tried: the owner's pod did not run ({owner.start.value})"
    return {policy: Observation(Start.FAILED, why) for policy in OTHER_POLICIES}


def _remove(api: Any, namespace: str, timeout: float, secret: bool = False) -> list[str]:
    """Delete this check's pods (and the owner's secret) in `namespace` and wait until the pods are gone
    (a provider's namespace outlives the run); what could not be removed, as problems."""
    selector = f"{CHECK_LABEL}={CHECK}"
    try:
        if secret:
            kube.delete_if_present(api, f"/api/v1/namespaces/{namespace}/secrets/{SECRET}")
        delete_selected(api, namespace, selector, timeout, f"the private-image check's pods of {namespace}")
    except (kube.ApiFailure, WaitTimeout) as exc:
        return [f"{namespace}: {exc}"]
    return []


def comparison(observations: list[PrivateImageObservation]) -> Comparison:
    """One requirement row per pair, compared after each row's positive control (the owner's pod ran)."""
    table = stacked(requirement_row(o.row, o.cells()) for o in observations)
    return requirement_comparison(table, controls=[(o.row, image_pulls.OWNER_RUNS) for o in observations])


_FORCED = {
    True: "yes: AlwaysPullImages is among the admission plugins of the lab profile the cluster started with",
    False: "no: AlwaysPullImages is not among the admission plugins of the lab profile the cluster started with",
    None: "unknown: the API server's admission plugins are not observable through the API",
}


def heading(where: PrivateRegistry, forced: bool | None) -> str:
    """What the check used and what is known of the product, for the report: every other tenant's pod
    must be refused whatever the product promises; `forced` (`forced_pulls`) only predicts the verdict."""
    return (
        f"private registry: {where.what}\n"
        f"the product forces pulls: {_FORCED[forced]}\n"
        "required on a shared cluster: another tenant's pod without credentials cannot start the owner's "
        "private image from the node's cache (kubectl-mtb MTB-PL1-CC-DI-1)"
    )
