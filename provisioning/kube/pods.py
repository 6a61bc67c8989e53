"""Pods: create and wait until running, run a command inside, delete and wait until gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.stream import stream

from provisioning.errors import InfrastructureError
from provisioning.kube.client import ApiFailure, call, timeout_of
from provisioning.wait import wait_until


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container returned; `ok` only when it exited 0."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class PodFailed(InfrastructureError):
    """A pod reached a terminal phase or a state it cannot leave while we waited for Running."""


def pod_state(api: k8s.ApiClient, namespace: str, name: str) -> Any:
    return call(api, "CoreV1Api", "read_namespaced_pod", name, namespace)


def _summary(pod: Any) -> str:
    statuses = pod.status.container_statuses or []
    waiting = [f"{s.name}: {s.state.waiting.reason}" for s in statuses if s.state and s.state.waiting]
    return f"phase={pod.status.phase} ready={_is_ready(pod)} {' '.join(waiting)}".strip()


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def wait_running(api: k8s.ApiClient, namespace: str, name: str, timeout: float) -> Any:
    """Wait until the pod is Running and Ready; fail early if it can never get there."""

    def fetch() -> Any:
        pod = pod_state(api, namespace, name)
        if pod.status.phase in ("Failed", "Succeeded"):
            raise PodFailed(f"pod {namespace}/{name} ended ({_summary(pod)}) while waiting for it to run")
        for status in pod.status.container_statuses or []:
            reason = status.state.waiting.reason if status.state and status.state.waiting else ""
            if reason in ("ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"):
                raise PodFailed(f"pod {namespace}/{name} cannot start: {reason}")
        return pod

    return wait_until(
        fetch,
        lambda p: p.status.phase == "Running" and _is_ready(p),
        timeout=timeout,
        what=f"pod {namespace}/{name} to be Running and Ready",
        retry_on=(ApiFailure,),
    )


def create_pod(api: k8s.ApiClient, namespace: str, manifest: dict[str, Any]) -> Any:
    return call(api, "CoreV1Api", "create_namespaced_pod", namespace, manifest)


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
