"""Undo after a failed create, without hiding why the create failed."""

from __future__ import annotations

from collections.abc import Callable


def undo(step: Callable[[], None], cause: BaseException, what: str) -> None:
    """Run `step`; if it fails too, add a note to `cause` (which the caller re-raises) naming what is left."""
    try:
        step()
    except Exception as exc:
        cause.add_note(f"{what} failed as well, remove it by hand: {exc}")
