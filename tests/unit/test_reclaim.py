"""When a deleted claim's volume counts as reclaimed, per reclaim policy (issue 18: the storage step's rule)."""

from __future__ import annotations

from types import SimpleNamespace

from checks.storage.reclaim import reclaim_goal, reclaimed


def _volume(phase: str) -> SimpleNamespace:
    return SimpleNamespace(status=SimpleNamespace(phase=phase))


def test_delete_is_reclaimed_once_the_volume_is_gone() -> None:
    assert reclaimed("Delete")(None)
    assert not reclaimed("Delete")(_volume("Released"))


def test_retain_is_reclaimed_once_the_volume_is_released_or_failed_and_still_there() -> None:
    done = reclaimed("Retain")
    assert done(_volume("Released"))
    assert done(_volume("Failed"))
    assert not done(_volume("Bound"))
    assert not done(None)  # a retained volume that vanished is not what Retain says


def test_the_goal_names_the_volume_and_the_policy() -> None:
    assert reclaim_goal("Delete", "pv-1") == "volume pv-1 (reclaim policy Delete) to be deleted"
    assert reclaim_goal("Retain", "pv-1") == "volume pv-1 (reclaim policy Retain) to be released"
