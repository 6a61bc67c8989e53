"""An unauthorized pull of a pod with image pull secrets is waited for while the kubelet's events say it
has not read them yet (it pulled anonymously: FailedToRetrieveImagePullSecret before each such pull), and
final once it pulled with them read: the login is wrong (provisioning/kube/pod_start.py)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from provisioning.kube import pod_start
from provisioning.kube.pod_start import PullAttempts, StartWatch, pull_attempts
from tests.unit.pod_states import model, pod

ANONYMOUS = (
    "ErrImagePull",
    'failed to pull and unpack image "10.213.0.1:5043/caas/probe@sha256:ab": failed to resolve reference '
    '"10.213.0.1:5043/caas/probe@sha256:ab": unexpected status from HEAD request to '
    "https://10.213.0.1:5043/v2/caas/probe/manifests/sha256:ab: 401 Unauthorized",
)
UNREAD = "Unable to retrieve some image pull secrets (caas-images); attempting to pull the image may not succeed."


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _with_pull_secret(waiting: tuple[str, str]) -> Any:
    named = pod(waiting=waiting)
    named.spec.image_pull_secrets = [client.V1LocalObjectReference(name="caas-images")]
    return named


def _event(reason: str, message: str, count: int, field_path: str = "spec.containers{probe}") -> Any:
    involved = {"kind": "Pod", "name": "probe-a", "fieldPath": field_path} if field_path else {"kind": "Pod"}
    return model(
        {"metadata": {"name": "e"}, "involvedObject": involved, "reason": reason, "message": message, "count": count},
        "CoreV1Event",
    )


def _watch(clock: Clock, events: list[Any]) -> StartWatch:
    return StartWatch(clock=clock, pulls=lambda _pod: pull_attempts(events))


def test_the_pods_secret_retrieval_failures_count_for_each_of_its_containers() -> None:
    events = [
        _event(pod_start.SECRET_UNREAD, UNREAD, 2, field_path=""),
        _event("Pulling", 'Pulling image "r/probe@sha256:ab"', 2),
        _event("Failed", 'Failed to pull image "r/probe@sha256:ab": 401 Unauthorized', 1),
        _event("Pulling", 'Pulling image "r/busybox@sha256:cd"', 1, field_path="spec.initContainers{init}"),
    ]
    assert pull_attempts(events) == {"probe": PullAttempts(2, 1, 2), "init": PullAttempts(1, 0, 2)}


def test_an_anonymous_pull_before_the_kubelet_read_the_secret_is_waited_for_and_then_runs() -> None:
    clock = Clock()
    events = [
        _event(pod_start.SECRET_UNREAD, UNREAD, 1, field_path=""),
        _event("Pulling", 'Pulling image "r/probe@sha256:ab"', 1),
        _event("Failed", f"Failed to pull image: {ANONYMOUS[1]}", 1),
    ]
    watch = _watch(clock, events)
    assert watch.failure(_with_pull_secret(ANONYMOUS)) == "", "its only pull went without the secret"
    clock.now = 20
    backoff = ("ImagePullBackOff", f'Back-off pulling image "r/probe@sha256:ab": ErrImagePull: {ANONYMOUS[1]}')
    events[0] = _event(pod_start.SECRET_UNREAD, UNREAD, 3, field_path="")  # syncs in the back-off read it neither
    assert watch.failure(_with_pull_secret(backoff)) == ""
    assert watch.failure(pod(running=True)) == "", "the next pull, with the secret read, got the image"


def test_the_status_before_the_kubelets_events_arrive_is_waited_for() -> None:
    assert _watch(Clock(), []).failure(_with_pull_secret(ANONYMOUS)) == ""


def test_a_401_with_the_secret_read_is_final_at_once() -> None:
    events = [
        _event("Pulling", 'Pulling image "r/probe@sha256:ab"', 1),
        _event("Failed", f"Failed to pull image: {ANONYMOUS[1]}", 1),
    ]
    said = _watch(Clock(), events).failure(_with_pull_secret(ANONYMOUS))
    assert said == f"container probe: ErrImagePull ({ANONYMOUS[1]})"


def test_a_401_is_final_once_a_pull_started_after_the_secret_was_read() -> None:
    events = [
        _event(pod_start.SECRET_UNREAD, UNREAD, 1, field_path=""),
        _event("Pulling", 'Pulling image "r/probe@sha256:ab"', 2),  # the second sync read the secret
        _event("Failed", f"Failed to pull image: {ANONYMOUS[1]}", 2),
    ]
    said = _watch(Clock(), events).failure(_with_pull_secret(ANONYMOUS))
    assert said == f"container probe: ErrImagePull ({ANONYMOUS[1]})"


def test_a_401_is_final_at_once_for_a_pod_without_pull_secrets_or_without_events() -> None:
    events = [_event(pod_start.SECRET_UNREAD, UNREAD, 1, field_path="")]
    assert _watch(Clock(), events).failure(pod(waiting=ANONYMOUS)), "no pull secret to wait for"
    unreadable = StartWatch(clock=Clock(), pulls=lambda _pod: None)
    assert unreadable.failure(_with_pull_secret(ANONYMOUS)), "no events to tell"


def test_a_refusal_other_than_a_login_is_final_even_with_the_secret_unread() -> None:
    events = [_event(pod_start.SECRET_UNREAD, UNREAD, 1, field_path="")]
    not_found = ("ErrImagePull", "failed to resolve reference: manifest unknown")
    assert (
        _watch(Clock(), events).failure(_with_pull_secret(not_found))
        == f"container probe: ErrImagePull ({not_found[1]})"
    )


def test_a_secret_never_read_ends_after_the_grace_naming_what_was_waited_for_and_last_seen() -> None:
    clock = Clock()
    events = [
        _event(pod_start.SECRET_UNREAD, UNREAD, 4, field_path=""),
        _event("Pulling", 'Pulling image "r/probe@sha256:ab"', 3),
        _event("Failed", f"Failed to pull image: {ANONYMOUS[1]}", 3),
    ]
    watch = _watch(clock, events)
    assert watch.failure(_with_pull_secret(ANONYMOUS)) == ""
    clock.now = pod_start.SECRET_GRACE - 1
    assert watch.failure(_with_pull_secret(ANONYMOUS)) == ""
    clock.now = pod_start.SECRET_GRACE
    said = watch.failure(_with_pull_secret(ANONYMOUS))
    assert said.startswith(f"container probe: ErrImagePull ({ANONYMOUS[1]}), ")
    assert said.endswith(
        f"the kubelet had still not read the pod's image pull secrets {pod_start.SECRET_GRACE:g}s after the first "
        "failed pull seen (FailedToRetrieveImagePullSecret 4 times, 3 pulls started)"
    )
