"""A pod that cannot start is known at the first terminal reason in its status, named, and every wait for
a pod ends there instead of running out its timeout; a pod that may still start is waited for
(the rules: provisioning/kube/pod_start.py)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.wait import StopTrying, WaitTimeout, wait_until
from provisioning.kube import pod_start, pods
from provisioning.kube.client import ApiFailure
from provisioning.kube.pod_start import (
    PullAttempts,
    StartWatch,
    pull_attempts,
    unschedulable_for_good,
    unschedulable_reasons,
)
from provisioning.kube.pods import PodFailed, wait_running, wait_selected_running
from tests.unit.pod_states import NEVER_PULL, model, pod

SELECTOR = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
PREEMPTION = " preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        NEVER_PULL,
        ("InvalidImageName", 'couldn\'t parse image name "caas.local/lab/Probe:1.0": invalid reference format'),
        ("CreateContainerConfigError", "container has runAsNonRoot and image will run as root"),
        ("CreateContainerError", "failed to reserve container name"),
        ("RunContainerError", "exec: no such file or directory"),
        ("CrashLoopBackOff", "back-off 10s restarting failed container=probe"),
        ("ImageInspectError", "failed to inspect image"),
    ],
)
def test_a_reason_the_kubelet_never_retries_past_ends_at_once_and_is_named(reason: str, message: str) -> None:
    said = StartWatch().failure(pod(waiting=(reason, message)))
    assert said == f"container probe: {reason} ({message})"


@pytest.mark.parametrize(
    "message",
    [
        'failed to pull and unpack image "docker.io/library/nosuch:1": failed to resolve reference: '
        "docker.io/library/nosuch:1: not found",
        'Back-off pulling image "caas.local/lab/probe:1.0": ErrImagePull: failed to do request: Head '
        '"https://caas.local/v2/lab/probe/manifests/1.0": dial tcp: lookup caas.local: no such host',
        "pull access denied, repository does not exist or may require authorization",
        "failed to authorize: failed to fetch anonymous token: 401 Unauthorized",
        "failed to resolve reference: manifest unknown",
    ],
)
@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_a_pull_the_registry_refused_for_good_ends_at_once(reason: str, message: str) -> None:
    said = StartWatch(clock=Clock()).failure(pod(waiting=(reason, message)))
    assert said.startswith(f"container probe: {reason} (")
    assert message in said


def test_a_pull_failure_that_may_pass_ends_only_after_the_grace_of_two_kubelet_attempts() -> None:
    clock = Clock()
    watch = StartWatch(clock=clock)
    timeout = ("ErrImagePull", "dial tcp 10.0.0.5:443: i/o timeout")
    backoff = ("ImagePullBackOff", 'Back-off pulling image "r/x:1": ErrImagePull: dial tcp 10.0.0.5:443: i/o timeout')
    assert watch.failure(pod(waiting=timeout)) == ""
    clock.now = pod_start.PULL_GRACE - 1
    assert watch.failure(pod(waiting=backoff)) == ""
    clock.now = pod_start.PULL_GRACE
    said = watch.failure(pod(waiting=backoff))
    assert said.startswith("container probe: ImagePullBackOff (")
    assert said.endswith(f"still failing {pod_start.PULL_GRACE:g}s after the first failed pull seen")


def test_the_grace_starts_again_when_a_pull_gets_through() -> None:
    clock = Clock()
    watch = StartWatch(clock=clock)
    flaky = ("ErrImagePull", "received unexpected HTTP status: 503 Service Unavailable")
    watch.failure(pod(waiting=flaky))
    clock.now = 20
    assert watch.failure(pod(waiting=("ContainerCreating", ""))) == ""
    clock.now = 40
    assert watch.failure(pod(waiting=flaky)) == "", "a new failure, seen for the first time at 40 s"
    clock.now = 40 + pod_start.PULL_GRACE
    assert watch.failure(pod(waiting=flaky))


def _event(reason: str, message: str, count: int, container: str = "probe") -> Any:
    involved = {"kind": "Pod", "name": "probe-a", "fieldPath": f"spec.containers{{{container}}}"}
    return model(
        {"metadata": {"name": "e"}, "involvedObject": involved, "reason": reason, "message": message, "count": count},
        "CoreV1Event",
    )


def test_the_kubelets_pull_attempts_are_read_from_its_events() -> None:
    events = [
        _event("Pulling", 'Pulling image "caas.local/lab/probe:1.0"', 3),
        _event("Failed", 'Failed to pull image "caas.local/lab/probe:1.0": lookup caas.local: i/o timeout', 2),
        _event("Failed", "Error: ErrImagePull", 2),
        _event("BackOff", 'Back-off pulling image "caas.local/lab/probe:1.0"', 2),
        _event("Pulling", 'Pulling image "caas.local/lab/busybox:1.0"', 1, container="init"),
    ]
    assert pull_attempts(events) == {"probe": PullAttempts(3, 2), "init": PullAttempts(1, 0)}


def test_a_pull_failure_that_may_pass_ends_after_the_kubelets_second_failed_pull() -> None:
    clock = Clock()
    counted = {"probe": PullAttempts(1, 1)}
    watch = StartWatch(clock=clock, pulls=lambda _pod: counted)
    dns = ("ErrImagePull", "dial tcp: lookup caas.local: Temporary failure in name resolution")
    assert watch.failure(pod(waiting=dns)) == ""
    counted["probe"] = PullAttempts(2, 1)
    clock.now = pod_start.PULL_GRACE + 60
    assert watch.failure(pod(waiting=dns)) == "", "the second pull is under way"
    counted["probe"] = PullAttempts(2, 2)
    said = watch.failure(pod(waiting=("ImagePullBackOff", dns[1])))
    assert said.endswith("the kubelet failed to pull it 2 times")


@pytest.mark.parametrize("waiting", [("ContainerCreating", ""), ("PodInitializing", ""), None])
def test_a_pod_on_its_way_is_waited_for(waiting: tuple[str, str] | None) -> None:
    assert StartWatch().failure(pod(waiting=waiting)) == ""


def test_an_init_container_that_cannot_start_is_named() -> None:
    said = StartWatch().failure(pod(init_waiting=NEVER_PULL, waiting=("PodInitializing", "")))
    assert said.startswith("container init: ErrImageNeverPull")


def test_a_pod_being_deleted_will_not_start() -> None:
    assert StartWatch().failure(pod(deleting=True)) == "it is being deleted"


@pytest.mark.parametrize(
    "message",
    [
        SELECTOR + PREEMPTION,
        '0/1 nodes are available: persistentvolumeclaim "sto-data-1a2b3c" not found.' + PREEMPTION,
        "0/3 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity, "
        "2 node(s) didn't match Pod's node affinity/selector." + PREEMPTION,
    ],
)
def test_unschedulable_for_a_reason_only_configuration_lifts_ends_at_once(message: str) -> None:
    assert unschedulable_for_good(message)
    assert StartWatch().failure(pod(unschedulable=message)) == f"unschedulable: {message}"


@pytest.mark.parametrize(
    "message",
    [
        "0/1 nodes are available: 1 Insufficient cpu." + PREEMPTION,
        "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) didn't match Pod's node "
        "affinity/selector." + PREEMPTION,
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims." + PREEMPTION,
        "0/1 nodes are available: 1 node(s) were unschedulable." + PREEMPTION,
        "0/0 nodes are available: no nodes available to schedule pods.",
        "no nodes available to schedule pods",
    ],
)
def test_unschedulable_for_a_reason_that_may_pass_is_waited_for(message: str) -> None:
    assert not unschedulable_for_good(message)
    assert StartWatch().failure(pod(unschedulable=message)) == ""


def test_a_scheduling_gate_is_no_failure() -> None:
    assert StartWatch().failure(pod(unschedulable=SELECTOR, scheduling_reason="SchedulingGated")) == ""


def test_the_schedulers_reasons_are_read_without_their_counts() -> None:
    message = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s)." + PREEMPTION
    assert unschedulable_reasons(message) == ["Insufficient cpu", "node(s) had untolerated taint(s)"]
    assert unschedulable_reasons('0/1 nodes are available: persistentvolumeclaim "a.b" not found.') == [
        'persistentvolumeclaim "a.b" not found'
    ]


# --- the waits -------------------------------------------------------------------------------------------


def _answers(monkeypatch: pytest.MonkeyPatch, states: list[Any]) -> list[int]:
    """Make `pods.pod_state` answer the given states in turn (the last one again and again); an
    exception in the list is raised instead. Returns the list of calls made (its length counts them)."""
    calls: list[int] = []
    feed: Iterator[Any] = iter(states)
    last: list[Any] = [None]

    def pod_state(_api: object, _namespace: str, _name: str) -> Any:
        calls.append(1)
        last[0] = next(feed, last[0])
        if isinstance(last[0], Exception):
            raise last[0]
        return last[0]

    monkeypatch.setattr(pods, "pod_state", pod_state)
    return calls


def test_wait_running_ends_at_the_first_terminal_reason_within_seconds_and_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _answers(monkeypatch, [pod(waiting=("ContainerCreating", "")), pod(waiting=NEVER_PULL)])
    started = time.monotonic()
    with pytest.raises(PodFailed) as failed:
        wait_running(object(), "tenant-blue", "probe-a", timeout=120)
    assert time.monotonic() - started < 5
    assert len(calls) == 2
    assert str(failed.value).startswith("pod tenant-blue/probe-a cannot start: container probe: ErrImageNeverPull (")
    assert isinstance(failed.value, StopTrying)


def test_wait_running_ends_when_the_pod_ended_or_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, [pod(phase="Failed")])
    with pytest.raises(PodFailed, match="ended"):
        wait_running(object(), "tenant-blue", "probe-a", timeout=120)
    _answers(monkeypatch, [ApiFailure(404, "Not Found")])
    with pytest.raises(PodFailed, match="no longer exists"):
        wait_running(object(), "tenant-blue", "probe-a", timeout=120)


def test_wait_running_waits_through_a_passing_pull_failure_and_api_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = ("ErrImagePull", "received unexpected HTTP status: 503 Service Unavailable")
    _answers(monkeypatch, [pod(waiting=flaky), ApiFailure(503, "unavailable"), pod(running=True)])
    assert wait_running(object(), "tenant-blue", "probe-a", timeout=10).status.phase == "Running"


def test_wait_running_gives_a_pull_failure_that_may_pass_its_grace_then_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pods, "StartWatch", functools.partial(StartWatch, pull_grace=0.5))
    _answers(monkeypatch, [pod(waiting=("ErrImagePull", "dial tcp 10.0.0.5:443: i/o timeout"))])
    started = time.monotonic()
    with pytest.raises(PodFailed, match=r"still failing 0\.5s"):
        wait_running(object(), "tenant-blue", "probe-a", timeout=120)
    assert 0.5 <= time.monotonic() - started < 5


def test_wait_selected_running_ends_when_a_pod_of_the_workload_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = [pod("web-1", deleting=True, waiting=NEVER_PULL), pod("web-2", waiting=NEVER_PULL, uid="uid-2")]

    def call(_api: object, _group: str, method: str, *_args: object, **_kwargs: object) -> Any:
        assert method == "list_namespaced_pod"
        return type("PodList", (), {"items": listed})()

    monkeypatch.setattr(pods, "call", call)
    with pytest.raises(PodFailed, match="pod tenant-blue/web-2 cannot start: container probe: ErrImageNeverPull"):
        wait_selected_running(object(), "tenant-blue", "app=web", 1, timeout=120, what="web to run")
    listed[1] = pod("web-2", running=True, uid="uid-2")
    assert len(wait_selected_running(object(), "tenant-blue", "app=web", 1, timeout=5, what="web to run")) == 1


def test_stop_trying_ends_a_wait_whatever_it_retries() -> None:
    def fetch() -> None:
        raise StopTrying("the claim was refused for good")

    started = time.monotonic()
    with pytest.raises(StopTrying, match="refused for good"):
        wait_until(fetch, bool, timeout=60, what="a claim", retry_on=(Exception,))
    assert time.monotonic() - started < 1
    with pytest.raises(WaitTimeout, match="last error: ValueError"):
        wait_until(lambda: int("x"), bool, timeout=0.3, what="a number", retry_on=(Exception,))


def test_wait_running_reads_the_kubelets_pull_attempts_of_the_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = ("ErrImagePull", "dial tcp: lookup caas.local: Temporary failure in name resolution")
    _answers(monkeypatch, [pod(waiting=dns)])
    asked: list[str] = []

    def call(_api: object, _group: str, method: str, namespace: str, **kwargs: str) -> Any:
        assert method == "list_namespaced_event"
        asked.append(f"{namespace} {kwargs['field_selector']}")
        failed = _event("Failed", "Failed to pull image: Temporary failure in name resolution", 2)
        return type("EventList", (), {"items": [_event("Pulling", "Pulling image", 2), failed]})()

    monkeypatch.setattr(pods, "call", call)
    with pytest.raises(PodFailed, match="the kubelet failed to pull it 2 times"):
        wait_running(object(), "tenant-blue", "probe-a", timeout=120)
    assert asked == ["tenant-blue involvedObject.uid=uid-1"]
