"""VMware's vCenter simulator (vcsim, built by `caas lab build` from the govmomi module), run on loopback.

`Vcsim.start` picks a free port (the simulator binds 127.0.0.1:0 and prints its
URL), waits until the SDK answers, and keeps the simulator's datastore
directories under `work_dir`; `stop` ends the process and checks that the
simulator removed them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InfrastructureError
from harness.wait import wait_until

BINARY = "vcsim"
USERNAME = "caas"


@dataclass
class Vcsim:
    """A running simulator: its SDK URL, login and process."""

    url: str
    process: subprocess.Popen[str] = field(repr=False)
    work_dir: Path
    username: str = USERNAME
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12), repr=False)

    @classmethod
    def start(cls, bin_dir: Path, work_dir: Path, timeout: float = 30.0, datastores: int = 2) -> Vcsim:
        binary = bin_dir / BINARY
        if not binary.exists():
            raise InfrastructureError(f"{binary} is missing (fix: caas lab build)")
        work_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)  # a fresh login per simulator, passed in its environment
        environment = {"PATH": os.environ.get("PATH", ""), "TMPDIR": str(work_dir)}
        process = subprocess.Popen(
            [str(binary), "-listen", "127.0.0.1:0", "-datastores", str(datastores)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environment, "VCSIM_USERNAME": USERNAME, "VCSIM_PASSWORD": password},
        )
        try:
            url = _announced_url(process, timeout)
            simulator = cls(url, process, work_dir, USERNAME, password)
            wait_until(simulator.about, bool, timeout=timeout, what=f"vcsim at {url} to answer", retry_on=(OSError,))
        except BaseException:
            _end(process, timeout)
            raise
        return simulator

    def about(self) -> dict[str, object]:
        """The simulator's /about answer (raises OSError while it does not answer)."""
        base = self.url.rsplit("/sdk", 1)[0]
        with urllib.request.urlopen(f"{base}/about", timeout=5) as response:  # noqa: S310 - loopback http URL we started
            return dict(json.loads(response.read()))

    def stop(self, timeout: float = 30.0) -> None:
        """End the simulator; raise if it had to be killed or left files behind in its work directory."""
        clean_exit = _end(self.process, timeout)
        left = sorted(p.name for p in self.work_dir.iterdir()) if self.work_dir.exists() else []
        if not clean_exit:
            raise InfrastructureError(f"vcsim did not stop within {timeout:g}s after SIGTERM and was killed")
        if left:
            raise InfrastructureError(f"vcsim left files in {self.work_dir}: {', '.join(left)}")


def _announced_url(process: subprocess.Popen[str], timeout: float) -> str:
    """Read the simulator's "ready <url>" line, within `timeout`."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], remaining)
        if not readable:
            break
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            raise InfrastructureError(f"vcsim exited ({process.wait()}) before serving: {stderr.strip()[-300:]}")
        if line.startswith("ready "):
            return line.split(" ", 1)[1].strip()
    raise InfrastructureError(f"vcsim did not announce its address within {timeout:g}s")


def _end(process: subprocess.Popen[str], timeout: float) -> bool:
    """SIGTERM, then wait; SIGKILL if it does not end in time. True if it ended on SIGTERM."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        clean = True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
        clean = False
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    return clean
