"""The Kubernetes API side of `caas run --on-cluster`: create a product's objects, wait for its Job,
read its pod's log, remove everything of a run (every call through provisioning.kube.client, each with
the client's timeout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import InfrastructureError
from harness.wait import StopTrying, wait_until
from provisioning.kube.client import ApiFailure, delete_if_present, request
from provisioning.model.onboarding import COMPONENT, RUN_ID, Manifest

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
# a container that waits for one of these will not start by itself: the wait ends at once
_STUCK = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError")


def _path(manifest: Manifest) -> str:
    kind, namespace = manifest["kind"], manifest["metadata"].get("namespace")
    plural = {"Namespace": "namespaces", "Secret": "secrets", "Job": "jobs"}[kind]
    base = "/apis/batch/v1" if kind == "Job" else "/api/v1"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def create(api: Any, objects: list[Manifest]) -> None:
    """Create `objects` (Namespace, Secret, Job: manifests.job_objects) in order. Raises
    InfrastructureError naming the object the API server refused (a Secret's data is never shown)."""
    for manifest in objects:
        try:
            request(api, "POST", _path(manifest), manifest)
        except ApiFailure as exc:
            raise InfrastructureError(
                f"the management cluster refused {manifest['kind']} {manifest['metadata']['name']}: {exc.message} "
                "(fix: a kubeconfig that may create namespaces, secrets and jobs)"
            ) from None


@dataclass(frozen=True)
class JobState:
    """A Job as last seen: done (Complete or Failed), whether it failed, what its pod was doing, and the
    reason of its Failed condition (e.g. DeadlineExceeded past activeDeadlineSeconds, BackoffLimitExceeded)."""

    done: bool
    failed: bool
    pod: str  # the pod's name, "" before it exists
    seen: str  # e.g. "pod caas-run-x: Pending (ImagePullBackOff: ...)"
    reason: str = ""  # the Failed condition's reason, "" while it has none


def job_state(api: Any, namespace: str, name: str) -> JobState:
    """The Job `name` and its pod; StopTrying when the pod waits for something that will not come by
    itself (its image cannot be pulled, its configuration is refused)."""
    job = request(api, "GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    conditions = {c["type"]: c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    done = "Complete" in conditions or "Failed" in conditions
    reason = str(conditions.get("Failed", {}).get("reason", ""))
    pods = request(
        api, "GET", f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": f"{JOB_NAME_LABEL}={name}"}
    )["items"]
    if not pods:
        failed = conditions.get("Failed", {})
        return JobState(done, "Failed" in conditions, "", f"no pod yet {failed.get('message', '')}".strip(), reason)
    pod = pods[-1]
    status = pod.get("status") or {}
    waiting = [
        (s.get("state") or {}).get("waiting") or {} for s in status.get("containerStatuses") or [] if s.get("state")
    ]
    reasons = [f"{w.get('reason', '')}: {w.get('message', '')}"[:300] for w in waiting if w]
    seen = f"pod {pod['metadata']['name']}: {status.get('phase', '?')}" + (
        f" ({'; '.join(reasons)})" if reasons else ""
    )
    if any(w.get("reason") in _STUCK for w in waiting):
        raise StopTrying(f"Job {name} in {namespace} cannot start: {seen}")
    return JobState(done, "Failed" in conditions, pod["metadata"]["name"], seen, reason)


def wait_done(api: Any, namespace: str, name: str, timeout: float) -> JobState:
    """Wait until the Job is Complete or Failed; WaitTimeout saying what its pod last did, StopTrying
    when it cannot start."""
    return wait_until(
        lambda: job_state(api, namespace, name),
        lambda state: state.done,
        timeout=timeout,
        what=f"Job {name} in namespace {namespace} to finish",
        interval=1.0,
        max_interval=5.0,
        retry_on=(ApiFailure,),
    )


def pod_log(api: Any, namespace: str, pod: str, container: str) -> str:
    """The whole log of `container` of `pod` (its results are at its end)."""
    text = request(
        api, "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query={"container": container}, raw=True
    )
    return str(text)


def namespaces_of_run(api: Any, run_id: str, component: str) -> list[str]:
    """The namespaces labelled with `run_id` and `component` (what `--on-cluster` created for the run)."""
    selector = f"{RUN_ID}={run_id},{COMPONENT}={component}"
    listed = request(api, "GET", "/api/v1/namespaces", query={"labelSelector": selector})
    return [n["metadata"]["name"] for n in listed["items"]]


def remove_namespaces(api: Any, names: list[str], timeout: float) -> None:
    """Delete the namespaces `names` and wait until they are gone (WaitTimeout naming those left)."""
    for name in names:
        delete_if_present(api, f"/api/v1/namespaces/{name}")

    def left() -> list[str]:
        found = []
        for name in names:
            try:
                request(api, "GET", f"/api/v1/namespaces/{name}")
                found.append(name)
            except ApiFailure as exc:
                if exc.status != 404:
                    raise
        return found

    wait_until(
        left, lambda remaining: not remaining, timeout=timeout, what="the run's namespaces to be gone", interval=1.0
    )
