"""Pods: create and wait until running (ending early when one cannot start), run a command inside,
delete and wait until gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes.stream import stream

from harness.wait import StopTrying, WaitTimeout, wait_until
from provisioning.kube.client import ApiFailure, call, timeout_of
from provisioning.kube.pod_start import PullAttempts, StartWatch, pull_attempts

T = TypeVar("T")


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container returned; `ok` only when it exited 0."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class PodFailed(StopTrying):
    """A pod ended, or reached a state it cannot leave, while we waited for it to run; the message
    names the pod and the reason (see provisioning/kube/pod_start.py for which reasons end a wait)."""


def pod_state(api: k8s.ApiClient, namespace: str, name: str) -> Any:
    return call(api, "CoreV1Api", "read_namespaced_pod", name, namespace)


def _summary(pod: Any) -> str:
    statuses = pod.status.container_statuses or []
    waiting = [f"{s.name}: {s.state.waiting.reason}" for s in statuses if s.state and s.state.waiting]
    return f"phase={pod.status.phase} ready={_is_ready(pod)} {' '.join(waiting)}".strip()


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def running_and_ready(pod: Any) -> bool:
    return bool(pod.status.phase == "Running" and _is_ready(pod))


def start_watch(api: k8s.ApiClient, namespace: str) -> StartWatch:
    """A StartWatch for pods of `namespace` that reads the kubelet's pull attempts from each pod's events
    (as `api`'s user, who may list events in its namespace); unreadable events leave the time rule."""

    def pulls(pod: Any) -> dict[str, PullAttempts] | None:
        try:
            events = call(
                api,
                "CoreV1Api",
                "list_namespaced_event",
                namespace,
                field_selector=f"involvedObject.uid={pod.metadata.uid}",
            ).items
        except ApiFailure:
            return None
        return pull_attempts(events)

    return StartWatch(pulls=pulls)


def check_can_start(pod: Any, watch: StartWatch) -> Any:
    """Return `pod` if it may still run; raise PodFailed naming why it never will: it ended (phase
    Failed or Succeeded: the suite's pods serve until deleted) or its status shows a terminal reason."""
    where = f"pod {pod.metadata.namespace}/{pod.metadata.name}"
    if pod.status.phase in ("Failed", "Succeeded"):
        raise PodFailed(f"{where} ended ({_summary(pod)}) while waiting for it to run")
    reason = watch.failure(pod)
    if reason:
        raise PodFailed(f"{where} cannot start: {reason}")
    return pod


def wait_running(api: k8s.ApiClient, namespace: str, name: str, timeout: float) -> Any:
    """Wait until the pod is Running and Ready; end at once (PodFailed, naming the reason) when it
    never will: see `check_can_start`, and a pod that no longer exists (404)."""
    watch = start_watch(api, namespace)

    def fetch() -> Any:
        try:
            pod = pod_state(api, namespace, name)
        except ApiFailure as exc:
            if exc.status == 404:
                raise PodFailed(f"pod {namespace}/{name} no longer exists while waiting for it to run") from None
            raise
        return check_can_start(pod, watch)

    return wait_until(
        fetch,
        running_and_ready,
        timeout=timeout,
        what=f"pod {namespace}/{name} to be Running and Ready",
        retry_on=(ApiFailure,),
    )


def selected_may_start(api: k8s.ApiClient, namespace: str, selector: str, watch: StartWatch) -> list[Any]:
    """One look at the pods matching the label `selector` (a workload's pods, created by its controller):
    them, or PodFailed when one never will run (`check_can_start`). Pods being deleted are left out: the
    controller replaces them."""
    pods = call(api, "CoreV1Api", "list_namespaced_pod", namespace, label_selector=selector).items
    return [check_can_start(p, watch) for p in pods if p.metadata.deletion_timestamp is None]


def wait_selected_running(
    api: k8s.ApiClient, namespace: str, selector: str, count: int, timeout: float, what: str
) -> list[Any]:
    """Wait until `count` pods matching the label `selector` run and are ready; end at once (PodFailed)
    when one of them never will (`selected_may_start`)."""
    watch = start_watch(api, namespace)
    return wait_until(
        lambda: selected_may_start(api, namespace, selector, watch),
        lambda pods: sum(1 for p in pods if running_and_ready(p)) >= count,
        timeout=timeout,
        what=what,
        retry_on=(ApiFailure,),
    )


# ResourceQuota admission updates the quota's usage optimistically; when the quota controller or another
# create changed it first the create is answered 409 with this text, no answer about the pod itself
QUOTA_CONFLICT = "Operation cannot be fulfilled on resourcequotas"
QUOTA_CONFLICT_SECONDS = 15.0


def create_pod(api: k8s.ApiClient, namespace: str, manifest: dict[str, Any]) -> Any:
    """Create the pod (`retry_quota_conflicts`). Raises ApiFailure with the API server's answer."""
    return retry_quota_conflicts(lambda: call(api, "CoreV1Api", "create_namespaced_pod", namespace, manifest))


class _QuotaConflict(Exception):
    """A create answered QUOTA_CONFLICT: try again."""

    def __init__(self, failure: ApiFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def retry_quota_conflicts(create: Callable[[], T], timeout: float = QUOTA_CONFLICT_SECONDS) -> T:
    """`create()`, repeated while it is answered 409 by ResourceQuota admission's optimistic update
    (QUOTA_CONFLICT), for up to `timeout` seconds, as client-go's retry.RetryOnConflict repeats an update
    (k8s.io/client-go/util/retry); any other answer ends at once. Raises the last ApiFailure."""

    def attempt() -> T:
        try:
            return create()
        except ApiFailure as exc:
            if exc.status == 409 and QUOTA_CONFLICT in exc.message:
                raise _QuotaConflict(exc) from None
            raise

    try:
        return wait_until(
            attempt, lambda _: True, timeout=timeout, what="a create past quota conflicts", retry_on=(_QuotaConflict,)
        )
    except WaitTimeout as timeout_error:
        last = timeout_error.last_error
        if isinstance(last, _QuotaConflict):
            raise last.failure from None
        raise


def run_pod(api: k8s.ApiClient, namespace: str, manifest: dict[str, Any], timeout: float) -> Any:
    create_pod(api, namespace, manifest)
    return wait_running(api, namespace, manifest["metadata"]["name"], timeout)


def delete_pod(api: k8s.ApiClient, namespace: str, name: str, timeout: float) -> None:
    """Delete a pod now and wait until it is gone."""
    try:
        call(api, "CoreV1Api", "delete_namespaced_pod", name, namespace, grace_period_seconds=0)
    except ApiFailure as exc:
        if exc.status == 404:
            return
        raise

    def gone() -> bool:
        try:
            pod_state(api, namespace, name)
        except ApiFailure as exc:
            if exc.status == 404:
                return True
            raise
        return False

    wait_until(gone, bool, timeout=timeout, what=f"pod {namespace}/{name} to be deleted", retry_on=())


def delete_selected(api: k8s.ApiClient, namespace: str, selector: str, timeout: float, what: str) -> None:
    """Delete every pod of `namespace` that the label `selector` selects, now, and wait until none is left
    (`timeout` in seconds; `what` names the pods in the wait's message).

    Raises ApiFailure when the delete is refused, WaitTimeout when pods remain at the deadline."""
    call(
        api, "CoreV1Api", "delete_collection_namespaced_pod", namespace, label_selector=selector, grace_period_seconds=0
    )
    wait_until(
        lambda: call(api, "CoreV1Api", "list_namespaced_pod", namespace, label_selector=selector).items,
        lambda pods: not pods,
        timeout=timeout,
        what=f"{what} to be gone",
        retry_on=(ApiFailure,),
    )


def exec_in_pod(
    api: k8s.ApiClient,
    namespace: str,
    pod: str,
    command: list[str],
    container: str | None = None,
    timeout: float | None = None,
) -> ExecResult:
    """Run a command in a container and return its exit code and output.

    The `stream` helper swaps the ApiClient's request function, so callers give
    each concurrent exec its own ApiClient. Transport failures raise ApiFailure.
    """
    deadline = timeout if timeout is not None else timeout_of(api)
    kwargs: dict[str, Any] = {
        "command": command,
        "stderr": True,
        "stdout": True,
        "stdin": False,
        "tty": False,
        "_preload_content": False,
        "_request_timeout": deadline,
    }
    if container:
        kwargs["container"] = container
    started = time.monotonic()
    what = f"exec in {namespace}/{pod}"
    try:
        response = _open_bounded(
            lambda: stream(k8s.CoreV1Api(api).connect_get_namespaced_pod_exec, pod, namespace, **kwargs),
            deadline,
            what,
        )
        response.run_forever(timeout=max(0.1, deadline - (time.monotonic() - started)))
        stdout = response.read_stdout() if response.peek_stdout() else ""
        stderr = response.read_stderr() if response.peek_stderr() else ""
        if response.is_open():
            response.close()
            raise ApiFailure(0, f"{what} did not finish within {deadline:g}s")
        code = response.returncode
        response.close()
    except ApiFailure:
        raise
    except Exception as exc:  # websocket and transport errors
        status = int(getattr(exc, "status", 0) or 0)
        raise ApiFailure(status, f"exec in {namespace}/{pod} failed: {exc.__class__.__name__}: {exc}"[:300]) from None
    return ExecResult(int(code if code is not None else -1), stdout, stderr)


def _open_bounded(open_stream: Callable[[], Any], deadline: float, what: str) -> Any:
    """Open an exec's websocket within `deadline`. The client library opens it without a timeout, so an
    API server that accepts the connection and never answers the upgrade (e.g. while the node's kubelet
    hangs) would block forever: the handshake runs in a daemon thread, given up at the deadline, and a
    stream that opens after that is closed at once."""
    opened: dict[str, Any] = {}
    done, given_up = threading.Event(), threading.Event()

    def handshake() -> None:
        try:
            opened["stream"] = open_stream()
        except BaseException as exc:  # re-raised in the caller's thread
            opened["error"] = exc
        done.set()
        if given_up.is_set() and "stream" in opened:
            opened["stream"].close()

    threading.Thread(target=handshake, name=f"handshake {what}", daemon=True).start()
    if not done.wait(deadline):
        given_up.set()
        if done.is_set() and "stream" in opened:  # it opened between the deadline and now
            opened["stream"].close()
        raise ApiFailure(0, f"{what} did not start within {deadline:g}s (no answer to the websocket upgrade)")
    if "error" in opened:
        raise opened["error"]
    return opened["stream"]
