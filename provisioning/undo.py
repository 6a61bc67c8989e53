"""Undo stacks: what was created is removed newest first, past individual failures."""

from __future__ import annotations

from collections.abc import Callable


def unwind(steps: list[Callable[[], None]]) -> list[str]:
    """Pop and run every step, newest first; return the errors of those that failed."""
    errors = []
    while steps:
        step = steps.pop()
        try:
            step()
        except Exception as exc:
            errors.append(str(exc))
    return errors
