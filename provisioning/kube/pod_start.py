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
_PERMANENT_PULL = re.compile(
    r"not found|manifest unknown|unauthorized|authentication required|access denied|denied:|forbidden"
    r"|no such host|invalid reference format|repository does not exist",
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


@dataclass(frozen=True)
class PullAttempts:
    """How often the kubelet started and failed to pull one container's image, from its events
    (reason Pulling, and reason Failed with "Failed to pull image", each with its count)."""

    started: int
    failed: int

    @property
    def under_way(self) -> bool:
        return self.started > self.failed


def pull_attempts(events: Iterable[Any]) -> dict[str, PullAttempts]:
    """Container name -> its pull attempts, from a pod's core/v1 events (involvedObject.fieldPath
    "spec.containers{probe}" names the container; the kubelet's recorder counts repeats in `count`)."""
    started: dict[str, int] = {}
    failed: dict[str, int] = {}
    for event in events:
        found = re.search(r"[{](.+)[}]$", (event.involved_object.field_path if event.involved_object else "") or "")
        if not found:
            continue
        container, count = found.group(1), event.count or 1
        if event.reason == "Pulling":
            started[container] = started.get(container, 0) + count
        elif event.reason == "Failed" and (event.message or "").startswith("Failed to pull image"):
            failed[container] = failed.get(container, 0) + count
    return {c: PullAttempts(started.get(c, 0), failed.get(c, 0)) for c in {*started, *failed}}


@dataclass
class StartWatch:
    """Follows one pod (or the pods of one workload) across polls; `failure(pod)` is "" while the pod
    may still start, else the first terminal reason, named: "container probe: ErrImageNeverPull
    (Container image ... is not present with pull policy of Never)". For a pull failure that may pass
    it asks `pulls(pod)` (the kubelet's attempts per container, None when they cannot be read) and
    remembers when each container's failure was first seen, for the `PULL_GRACE` rule."""

    pull_grace: float = PULL_GRACE
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
            return named
        since = self._pull_failing_since.setdefault(key, self.clock())
        attempts = (self.pulls(pod) or {}).get(container.name)
        if attempts is not None and attempts.under_way:
            return ""
        if attempts is not None and attempts.failed >= PULL_ATTEMPTS:
            return f"{named}, the kubelet failed to pull it {attempts.failed} times"
        if self.clock() - since >= self.pull_grace:
            return f"{named}, still failing {self.pull_grace:g}s after the first failed pull seen"
        return ""
