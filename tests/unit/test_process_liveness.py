"""`host.is_running`: a process counts as running while any of its threads runs. A killed Go daemon's
leader thread is a zombie before its other threads are gone, and its listening socket closes only with
the last of them: a restart that trusted the leader alone found the API server's port still taken."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.wait import wait_until
from provisioning.lab import host

SYS_EXIT = {"x86_64": 60, "aarch64": 93}  # exit(2) of the calling thread only (not exit_group)
LEADER_EXITS = """
import ctypes, threading, time
threading.Thread(target=time.sleep, args=(60,)).start()
ctypes.CDLL(None).syscall({number}, 0)
"""


def _leader_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


@pytest.mark.skipif(platform.machine() not in SYS_EXIT, reason="exit(2) number known for x86_64 and aarch64")
def test_a_process_whose_leader_is_a_zombie_runs_while_another_thread_does() -> None:
    child = subprocess.Popen([sys.executable, "-c", LEADER_EXITS.format(number=SYS_EXIT[platform.machine()])])
    try:
        wait_until(lambda: _leader_state(child.pid), lambda s: s == "Z", timeout=10, what="the leader to exit")
        assert host.is_running(child.pid), "a thread still runs: its files are still open"
    finally:
        os.kill(child.pid, signal.SIGKILL)
    wait_until(lambda: host.is_running(child.pid), lambda alive: not alive, timeout=10, what="the process to die")
    child.wait(timeout=10)


def test_an_unreaped_dead_process_is_not_running() -> None:
    child = subprocess.Popen(["sleep", "60"])
    assert host.is_running(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    wait_until(lambda: host.is_running(child.pid), lambda alive: not alive, timeout=10, what="sleep to die")
    assert _leader_state(child.pid) == "Z", "not reaped yet: a zombie"
    child.wait(timeout=10)
    assert not host.is_running(child.pid)
