"""Progress lines: a live status line on a terminal (rich), plain timestamped lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Progress:
    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.interactive = sys.stderr.isatty()
        self.started = time.monotonic()
        self._status: object | None = None

    def __call__(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.interactive and self._status is not None:
            self._status.update(f"[bold]{message}[/] ({elapsed:.0f}s)")  # type: ignore[attr-defined]
        else:
            sys.stderr.write(f"[{elapsed:6.1f}s] {message}\n")
            sys.stderr.flush()

    @contextmanager
    def live(self, title: str) -> Iterator[Progress]:
        if self.interactive:
            with self.console.status(title) as status:
                self._status = status
                try:
                    yield self
                finally:
                    self._status = None
        else:
            self(title)
            yield self
