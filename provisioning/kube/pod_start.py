"""Whether a pod that does not run yet ever will: the first terminal reason in its status (pure).

Read from the pod's deletion mark, its PodScheduled condition and its (init) containers' waiting states,
the way `kubectl describe` shows them. Every pod the suite awaits serves until it is deleted, so a reason
below ends the wait at once instead of letting it run out its timeout. The rules:

- At once (`AT_ONCE`): the kubelet reports these when retrying cannot help: ErrImageNeverPull,
  InvalidImageName, ImageInspectError, SignatureValidationFailed (pkg/kubelet/images/types.go, the CRI
  errors), CreateContainerConfigError, CreateContainerError, RunContainerError and CrashLoopBackOff
  (pkg/kubelet/kuberuntime, container/sync_result.go). The suite's pods reference no ConfigMap or
  Secret, so a CreateContainerConfigError cannot be one that waits for such an object.
- Image pulls (ErrImagePull, ImagePullBackOff, RegistryUnavailable): the kubelet's message carries the
  runtime's error, also while it backs off ("Back-off pulling image ...: ErrImagePull: <error>",
  pkg/kubelet/images/image_manager.go). A message that says the registry answered for good (not found,
  manifest unknown, unauthorized, denied, forbidden, invalid reference) or that the registry's name does
  not exist (no such host: an NXDOMAIN answer) is terminal at once. Any other pull failure (a DNS server
  that does not answer, a timeout, a refused or reset connection, a 5xx, rate limiting) may pass: the
  kubelet retries after its back-off (10 s, doubling to 300 s: imageBackOffPeriod, MaxImageBackOff in
  pkg/kubelet/kubelet.go), so it is terminal once the kubelet's own events count `PULL_ATTEMPTS` failed
  pulls of the image with none under way (its events "Pulling" and "Failed to pull image"; on the lab
  the second failure comes 12 s after the first). Where the events cannot be read (or were dropped) it is
  terminal when still failing `PULL_GRACE` seconds after the first failure seen, unless a pull is under way.
- An unauthorized pull (401, "authentication required", "pull access denied") of a pod that names image
  pull secrets is not final while the kubelet has not read them: each time it syncs the pod it reads
  the pod's pull secrets first and, for any it cannot get (its secret manager's cache of a Secret just
  created, e.g. on a new node, not yet synced), records the pod's Warning event
  FailedToRetrieveImagePullSecret ("Unable to retrieve some image pull secrets (<names>); attempting to
  pull the image may not succeed.") and pulls without them, anonymously (Kubelet.getPullSecretsForPod in
  pkg/kubelet/kubelet_pods.go, called by SyncPod before the runtime pulls; the event since 1.28,
  kubernetes/kubernetes#117927). A sync that pulls thus records that event before its "Pulling", so
  while the kubelet's "Pulling" events are no more than its FailedToRetrieveImagePullSecret events
  (`PullAttempts.secrets_unread`) every pull may have gone without the secret, and the failure is waited
  for, at most `SECRET_GRACE` seconds after it was first seen (bounded by the pod's own start deadline).
  Once a pull started with the secrets read (more "Pulling" than that event), or without events to
  read, an unauthorized pull is final: the secret's login is wrong.
- Unschedulable (PodScheduled=False, reason Unschedulable): terminal when every reason the scheduler
  lists ("0/N nodes are available: <reasons>. preemption: ...", FitError in pkg/scheduler/framework) is
  one only a change to the pod or to the cluster's configuration lifts: the pod's node selector or
  affinity, a PersistentVolume's node affinity, a claim or class that does not exist. Shortages
  (Insufficient cpu), taints (the 1.34 scheduler no longer names them, and a node that becomes Ready
  loses its not-ready taint), ports, pod (anti-)affinity, unbound claims, cordoned nodes and "0/0 nodes"
  can change as pods end or nodes join, so they are waited for. A cluster autoscaler could add a node
  that matches a selector; the suite's pods are pinned only to nodes that exist.
- A pod marked for deletion will not start either.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

AT_ONCE = frozenset(
    {
        "ErrImageNeverPull",
        "InvalidImageName",
        "ImageInspectError",
        "SignatureValidationFailed",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable"})
PULL_ATTEMPTS = 2  # failed pulls of one image (the kubelet's events) after which a failure that may pass is terminal
PULL_GRACE = 30.0  # seconds such a failure may last when the kubelet's events do not tell (two attempts at least)
SECRET_GRACE = 60.0  # seconds an unauthorized pull may last while the kubelet has not read the pod's pull secrets
# the kubelet's pod event for pull secrets it could not read (pkg/kubelet/kubelet_pods.go)
SECRET_UNREAD = "FailedToRetrieveImagePullSecret"  # noqa: S105 (an event reason, no password)
_PERMANENT_PULL = re.compile(
    r"not found|manifest unknown|unauthorized|authentication required|access denied|denied:|forbidden"
    r"|no such host|invalid reference format|repository does not exist",
    re.IGNORECASE,
)
# of those, the registry asking for a login: what a pull without the pod's pull secrets (anonymous) gets
_UNAUTHORIZED_PULL = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|pull access denied|may require authorization",
    re.IGNORECASE,
)
_PERMANENT_UNSCHEDULABLE = (
    "didn't match Pod's node affinity/selector",
    "didn't match PersistentVolume's node affinity",
    "volume node affinity conflict",
    " not found",
)


def unschedulable_reasons(message: str) -> list[str]:
    """The reasons a scheduler FitError lists, without their node counts:
    '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). preemption: ...'
    -> ['Insufficient cpu', 'node(s) had untolerated taint(s)']; [] if the message is no FitError."""
    _, found, listed = message.split(" preemption:", 1)[0].partition("nodes are available:")
    if not found:
        return []
    parts = re.split(r"[.,] ", listed.strip().rstrip("."))
    return [re.sub(r"^\d+ ", "", part.strip()) for part in parts if part.strip()]


def unschedulable_for_good(message: str) -> bool:
    """True when every reason the scheduler gives is one waiting does not change (see the module)."""
    reasons = unschedulable_reasons(message)
    return bool(reasons) and all(any(p in reason for p in _PERMANENT_UNSCHEDULABLE) for reason in reasons)


def permanent_pull_failure(message: str) -> bool:
    """True when a pull failure's message says the image cannot be had by retrying (see the module)."""
    return bool(_PERMANENT_PULL.search(message))


def unauthorized_pull(message: str) -> bool:
    """True when a pull failure's message is the registry asking for a login (see the module)."""
    return bool(_UNAUTHORIZED_PULL.search(message))


@dataclass(frozen=True)
class PullAttempts:
    """How often the kubelet started and failed to pull one container's image, from its events
    (reason Pulling, and reason Failed with "Failed to pull image", each with its count), and how often
    it could not read the pod's image pull secrets (its pod event FailedToRetrieveImagePullSecret)."""

    started: int
    failed: int
    secrets_unread: int = 0

    @property
    def under_way(self) -> bool:
        return self.started > self.failed


def pull_attempts(events: Iterable[Any]) -> dict[str, PullAttempts]:
    """Container name -> its pull attempts, from a pod's core/v1 events (involvedObject.fieldPath
    "spec.containers{probe}" names the container; the kubelet's recorder counts repeats in `count`).
    The pod's FailedToRetrieveImagePullSecret events (no fieldPath) count for each container listed."""
    started: dict[str, int] = {}
    failed: dict[str, int] = {}
    unread = 0
    for event in events:
        count = event.count or 1
        if event.reason == SECRET_UNREAD:
            unread += count
            continue
        found = re.search(r"[{](.+)[}]$", (event.involved_object.field_path if event.involved_object else "") or "")
        if not found:
            continue
        container = found.group(1)
        if event.reason == "Pulling":
            started[container] = started.get(container, 0) + count
        elif event.reason == "Failed" and (event.message or "").startswith("Failed to pull image"):
            failed[container] = failed.get(container, 0) + count
    return {c: PullAttempts(started.get(c, 0), failed.get(c, 0), unread) for c in {*started, *failed}}


@dataclass
class StartWatch:
    """Follows one pod (or the pods of one workload) across polls; `failure(pod)` is "" while the pod
    may still start, else the first terminal reason, named: "container probe: ErrImageNeverPull
    (Container image ... is not present with pull policy of Never)". For a pull failure that may pass
    it asks `pulls(pod)` (the kubelet's attempts per container, None when they cannot be read) and
    remembers when each container's failure was first seen, for the `PULL_GRACE` rule; so too for an
    unauthorized pull of a pod with image pull secrets, for the `SECRET_GRACE` rule."""

    pull_grace: float = PULL_GRACE
    secret_grace: float = SECRET_GRACE
    clock: Callable[[], float] = time.monotonic
    pulls: Callable[[Any], Mapping[str, PullAttempts] | None] = lambda _pod: None
    _pull_failing_since: dict[tuple[str, str], float] = field(default_factory=dict)

    def failure(self, pod: Any) -> str:
        metadata, status = pod.metadata, pod.status
        if metadata is not None and metadata.deletion_timestamp is not None:
            return "it is being deleted"
        for condition in (status.conditions if status else None) or []:
            unschedulable = condition.type == "PodScheduled" and condition.status == "False"
            if (
                unschedulable
                and condition.reason == "Unschedulable"
                and unschedulable_for_good(condition.message or "")
            ):
                return f"unschedulable: {condition.message}"
        containers = [*((status.init_container_statuses if status else None) or [])]
        containers += (status.container_statuses if status else None) or []
        for container in containers:
            reason = self._container_failure(pod, container)
            if reason:
                return reason
        return ""

    def _container_failure(self, pod: Any, container: Any) -> str:
        key = ((pod.metadata.uid if pod.metadata else "") or "", container.name)
        waiting = container.state.waiting if container.state else None
        reason = (waiting.reason or "") if waiting else ""
        message = (waiting.message or "") if waiting else ""
        named = f"container {container.name}: {reason}" + (f" ({message})" if message else "")
        if reason not in PULL_FAILURES:
            self._pull_failing_since.pop(key, None)
            return named if reason in AT_ONCE else ""
        if permanent_pull_failure(message):
            return self._unauthorized_failure(pod, container.name, key, named, message)
        since = self._pull_failing_since.setdefault(key, self.clock())
        attempts = (self.pulls(pod) or {}).get(container.name)
        if attempts is not None and attempts.under_way:
            return ""
        if attempts is not None and attempts.failed >= PULL_ATTEMPTS:
            return f"{named}, the kubelet failed to pull it {attempts.failed} times"
        if self.clock() - since >= self.pull_grace:
            return f"{named}, still failing {self.pull_grace:g}s after the first failed pull seen"
        return ""

    def _unauthorized_failure(self, pod: Any, container: str, key: tuple[str, str], named: str, message: str) -> str:
        """A permanent pull failure, named; "" while it is a pull without the pod's pull secrets the
        kubelet has not read yet (the module's rule), for up to `secret_grace` seconds."""
        secrets = (pod.spec.image_pull_secrets if pod.spec else None) or []
        if not secrets or not unauthorized_pull(message):
            return named
        readings = self.pulls(pod)
        if readings is None:
            return named  # no events to tell: the login is taken as read, and wrong
        attempts = readings.get(container, PullAttempts(0, 0))  # no event yet: the kubelet's are on their way
        if attempts.started > attempts.secrets_unread:
            return named
        since = self._pull_failing_since.setdefault(key, self.clock())
        if self.clock() - since < self.secret_grace:
            return ""
        return (
            f"{named}, the kubelet had still not read the pod's image pull secrets {self.secret_grace:g}s after "
            f"the first failed pull seen ({SECRET_UNREAD} {attempts.secrets_unread} times, "
            f"{attempts.started} pulls started)"
        )
