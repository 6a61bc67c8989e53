"""SIGINT and SIGTERM during `caas run`: stop the checks, release what the run provisioned, say what went.

A terminal's Ctrl-C sends SIGINT to its foreground process group; a CI system that cancels a job or
hits its time limit sends SIGTERM to the job's process only. Either way caas alone receives it:
pytest runs in a session of its own (`start_checks`), so a Ctrl-C never kills it halfway through
its teardown, and it dies with caas if caas is killed (the kernel's parent-death signal, prctl(2)
PR_SET_PDEATHSIG), so a killed caas leaves no provisioning going on behind `caas clean`.

The first signal raises `Interrupted` in caas's main thread; `caas run` then forwards one SIGINT to
pytest (pytest turns it into KeyboardInterrupt and tears its session fixtures down, which releases
the tenancy), waits up to TEARDOWN_GRACE seconds, kills pytest's process group if it is still
there, and sweeps the run by its run id as `caas clean --run-id` does. The exit code is 128 + the
signal's number, as a shell reports a process ended by that signal: 130 for SIGINT, 143 for SIGTERM.
A second signal raises `StopAtOnce`: pytest's process group is killed, the `caas clean --run-id`
command that finishes the job is printed, and caas ends; signals after that are ignored.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
TEARDOWN_GRACE = 90.0  # seconds pytest gets to release the tenancy after the forwarded SIGINT
_PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal this process gets when its parent thread ends


def exit_code(signum: int) -> int:
    """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM (the shells' convention)."""
    return 128 + signum


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class Interrupted(BaseException):
    """The first SIGINT or SIGTERM: stop the checks and release what the run provisioned."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


class StopAtOnce(BaseException):
    """A second signal while the run releases what it provisioned: stop now, print how to finish."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


class SignalGuard:
    """Context manager: SIGINT and SIGTERM raise `Interrupted`, then `StopAtOnce`, then nothing.

    The previous handlers come back on exit. Only for the main thread (Python runs signal handlers
    there, and only there may they be installed).
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            raise Interrupted(signum)
        if len(self.received) == 2:
            raise StopAtOnce(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold SIGINT and SIGTERM back while a child is being started: a signal that arrives then is
        delivered right after, when the caller already knows the child's pid."""
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def _prepare_child(parent: int, prctl: Any) -> None:
    """In the forked child before exec: take the signals again, die with the parent (SIGKILL)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # the parent died before prctl: no death signal will come
        os._exit(1)


def start_checks(guard: SignalGuard, command: Sequence[str], cwd: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start pytest in a session (and process group) of its own, its output to `log`.

    It dies with caas: when caas ends, even by SIGKILL, the kernel sends it SIGKILL (Linux only).
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    with guard.held():
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # caas runs no other thread while it starts pytest (the one case preexec_fn is unsafe)
            preexec_fn=functools.partial(_prepare_child, os.getpid(), prctl),  # noqa: PLW1509
        )


def stop_checks(checks: subprocess.Popen[bytes], grace: float = TEARDOWN_GRACE) -> str:
    """Forward one SIGINT to pytest, give it `grace` seconds to tear down, then kill what is left of
    its process group (pytest-xdist workers, commands it started). Returns one line on how it ended."""
    if checks.poll() is not None:
        return f"the checks had ended (pytest exit code {checks.returncode})"
    started = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.kill(checks.pid, signal.SIGINT)
    try:
        checks.wait(timeout=grace)
        outcome = f"the checks stopped and tore down in {time.monotonic() - started:.1f} s"
    except subprocess.TimeoutExpired:
        outcome = f"the checks did not tear down within {grace:g} s: killed"
    kill_checks(checks)
    return outcome


REAP_TIMEOUT = 10.0  # seconds for a killed pytest to be reaped (it may be in an uninterruptible call)


def kill_checks(checks: subprocess.Popen[bytes]) -> None:
    """SIGKILL pytest's process group (pytest leads it: its xdist workers, the commands it started)
    and reap pytest. Only for a pytest that was running a moment ago: the group id is pytest's pid,
    which the system may give to another process some time after pytest is reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(checks.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        checks.wait(timeout=REAP_TIMEOUT)


def say(line: str) -> None:
    """One line to stderr, at once (the caller may be about to end)."""
    sys.stderr.write(f"caas: {line}\n")
    sys.stderr.flush()
