"""What the project's tests share: the checkout's root, and the one way a test spawns the `caas` command
(the installed entry point's module run by this interpreter from the root, so that a test runs the checkout
it is in).

`run_caas` runs a command to its end, always within a timeout and with stdin closed; `spawn_caas` starts one
and hands back its process, for the tests that signal, kill or read a command while it runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
CAAS = (sys.executable, "-m", "harness.cli.main")

Sink = int | IO[Any] | None  # subprocess.DEVNULL / PIPE / STDOUT, an open file, or the test's own


def run_caas(
    *args: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    inside: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """`caas <args>` run from ROOT to its end, its stdout and stderr captured as text, stdin closed.

    `timeout` is in seconds (subprocess.TimeoutExpired past it, the process killed); `env` replaces the
    environment (None: this process's); `check` raises subprocess.CalledProcessError on a non-zero exit;
    `inside` is a command prefix to run caas through (e.g. a lab outside client's `ip netns exec ...`)."""
    return subprocess.run(
        [*inside, *CAAS, *args],
        cwd=ROOT,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def spawn_caas(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdout: Sink = subprocess.DEVNULL,
    stderr: Sink = subprocess.DEVNULL,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """`caas <args>` started from ROOT with stdin closed, its process handed back (bytes streams): for
    crash and interrupt tests that signal or kill it, and for servers read while they run. The caller
    waits for it with a timeout. `new_session` gives it a process group of its own (as a shell starts a
    foreground job), so that os.killpg reaches the pytest it starts too; `stdout`/`stderr` as Popen's."""
    return subprocess.Popen(
        [*CAAS, *args],
        cwd=ROOT,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=new_session,
    )
