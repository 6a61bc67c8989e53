"""A real HTTP proxy with basic auth (Debian's tinyproxy), started for a test and stopped after it."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.wait import wait_until

PROXY_USER = "proxyuser"
PROXY_PASSWORD = "proxy-pw-7781"


@dataclass(frozen=True)
class RunningProxy:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(0.5)
        return client.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def tinyproxy(directory: Path) -> Iterator[RunningProxy]:
    """tinyproxy on a free local port, requiring PROXY_USER/PROXY_PASSWORD, logging every request."""
    binary = shutil.which("tinyproxy")
    if binary is None:
        raise RuntimeError("tinyproxy is not installed (fix: make system, or apt-get install tinyproxy)")
    port = _free_port()
    log = directory / "tinyproxy.log"
    config = directory / "tinyproxy.conf"
    config.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile "{log}"\nLogLevel Info\nMaxClients 50\n'
        f'BasicAuth {PROXY_USER} {PROXY_PASSWORD}\nPidFile "{directory / "tinyproxy.pid"}"\n'
    )
    process = subprocess.Popen(
        [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=(directory / "stderr").open("wb")
    )
    try:
        wait_until(lambda: _accepts(port), bool, timeout=10, what=f"tinyproxy to listen on port {port}")
        yield RunningProxy(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        process.wait(timeout=10)
