"""The wait for a deleted claim's volume to be reclaimed (checks.storage.reclaim.wait_reclaimed), which
check_storage_007's precondition (delete_reclaimed), the Block remnants' delete_device and the reclaim
table share: an API failure is "not yet", the wait ends when the policy's state is read."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from checks.storage import block_remnants, reclaim
from checks.storage.block_remnants import WrittenDevice
from harness.wait import WaitTimeout
from provisioning.kube import client as kube


def _volume(phase: str, policy: str = "Retain") -> SimpleNamespace:
    return SimpleNamespace(
        status=SimpleNamespace(phase=phase), spec=SimpleNamespace(persistent_volume_reclaim_policy=policy)
    )


def _reads(monkeypatch: pytest.MonkeyPatch, *reads: Any) -> list[tuple[str, str]]:
    """Make reclaim.read_volume answer `reads` in turn (an exception is raised); the (tenant, name) read."""
    answers: Iterator[Any] = iter(reads)
    asked: list[tuple[str, str]] = []

    def read(_tenancy: object, tenant: str, name: str) -> Any:
        asked.append((tenant, name))
        answer = next(answers)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(reclaim, "read_volume", read)
    return asked


WS: Any = SimpleNamespace(tenancy=None)


def test_an_api_failure_is_not_yet_and_a_released_volume_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    released = _volume("Released")
    asked = _reads(monkeypatch, kube.ApiFailure(503, "Service Unavailable"), _volume("Bound"), released)
    assert reclaim.wait_reclaimed(WS, "blue", "pv-1", "Retain", 5.0) is released
    assert asked == [("blue", "pv-1")] * 3


def test_delete_waits_until_the_volume_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    _reads(monkeypatch, _volume("Released", "Delete"), None)
    assert reclaim.wait_reclaimed(WS, "blue", "pv-1", "Delete", 5.0) is None


def test_another_error_ends_the_wait_unless_the_caller_retries_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _reads(monkeypatch, ValueError("odd"))
    with pytest.raises(ValueError, match="odd"):
        reclaim.wait_reclaimed(WS, "blue", "pv-1", "Retain", 5.0)
    _reads(monkeypatch, ValueError("odd"), _volume("Failed"))
    assert reclaim.wait_reclaimed(WS, "blue", "pv-1", "Retain", 5.0, retry_on=(Exception,)) is not None


def test_a_volume_never_reclaimed_times_out_naming_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reclaim, "read_volume", lambda *_a: _volume("Bound"))
    with pytest.raises(WaitTimeout, match=r"volume pv-1 \(reclaim policy Retain\) to be released"):
        reclaim.wait_reclaimed(WS, "blue", "pv-1", "Retain", 0.3)


def test_delete_device_deletes_the_pod_then_the_claim_and_waits_for_the_reclaim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done: list[tuple[str, str, str]] = []
    ws: Any = SimpleNamespace(
        tenancy=None,
        delete_pod=lambda tenant, pod: done.append(("pod", tenant, pod)),
        delete_claim=lambda tenant, claim: done.append(("claim", tenant, claim)),
    )
    monkeypatch.setattr(block_remnants, "read_volume", lambda *_a: _volume("Bound", "Delete"))
    asked = _reads(monkeypatch, _volume("Released", "Delete"), None)
    written = WrittenDevice("blue", "c-1", "p-1", "pv-1", "standard", "m", "m")
    block_remnants.delete_device(ws, written, 5.0)
    assert done == [("pod", "blue", "p-1"), ("claim", "blue", "c-1")]
    assert asked == [("blue", "pv-1")] * 2
