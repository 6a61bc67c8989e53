"""The one place that waits: poll with a deadline, and on timeout say what was awaited,
the last state seen and the last error. `time.sleep` is used nowhere else. The suite's deadlines
are named in Timeouts (a run's are `Settings.timeouts`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from harness.errors import InfrastructureError

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Deadlines in seconds; named here so that no step or helper carries a literal."""

    api_call: float = 15.0  # one request to an API server
    pod_ready: float = 120.0  # a pod from creation to Running and Ready
    namespace_gone: float = 120.0  # a namespace from delete to gone
    probe: float = 2.0  # one connection attempt inside a probe batch
    enforce: float = 60.0  # a NetworkPolicy from creation to observed enforcement
    lab_ready: float = 180.0  # a lab cluster from start to Ready
    volume_bound: float = 90.0  # a PVC from creation to Bound


class WaitTimeout(InfrastructureError):
    """A wait ran out of time; the message names what, for how long, and what was last seen."""

    def __init__(self, what: str, timeout: float, last_state: object, last_error: BaseException | None) -> None:
        self.what = what
        self.last_state = last_state
        self.last_error = last_error
        detail = f"last seen: {last_state!r}" if last_error is None else f"last error: {last_error!r}"
        super().__init__(f"timed out after {timeout:g}s waiting for {what} ({detail})")


class StopTrying(InfrastructureError):
    """Raised by a wait's `fetch` or `ready` when what it waits for can no longer happen (a pod that
    cannot start, a claim refused for good): the wait ends at once with it, whatever `retry_on` says.
    The name is the Kubernetes e2e framework's (gomega.StopTrying) for the same early end."""


def wait_until(
    fetch: Callable[[], T],
    ready: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    max_interval: float = 2.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> T:
    """Call `fetch` until `ready(value)` holds and return that value.

    Exceptions of the `retry_on` types count as "not yet" and are remembered for
    the timeout message, except StopTrying, which ends the wait at once; the poll
    interval grows from `interval` to `max_interval`.
    """
    deadline = time.monotonic() + timeout
    last_state: object = None
    last_error: BaseException | None = None
    delay = interval
    while True:
        try:
            value = fetch()
            last_state, last_error = value, None
            if ready(value):
                return value
        except StopTrying:
            raise
        except retry_on as exc:
            last_error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, last_state, last_error)
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_interval)
