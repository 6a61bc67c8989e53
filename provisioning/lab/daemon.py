"""What the lab's services beside the clusters (the registry, the identity broker) share: a CA and
serving certificate of their own made once per lab home, a state file with the server's pid, and a start
that waits until the server answers or names why it exited."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.errors import InfrastructureError
from harness.wait import wait_until
from provisioning.lab import host, pki
from provisioning.lab.layout import BRIDGE_ADDRESS


def own_tls(directory: Path, ca_name: str, server_name: str) -> None:
    """directory/ca.crt|key and server.crt|key (keys mode 0600), made once: a CA named `ca_name` and a
    serving certificate for `server_name` with the lab bridge's address."""
    if (directory / "ca.crt").exists():
        return
    ca = pki.new_ca(ca_name)
    server = pki.issue(ca, server_name, ip_addresses=(BRIDGE_ADDRESS,), server=True, client=False)
    for name, pair in (("ca", ca), ("server", server)):
        (directory / f"{name}.key").write_bytes(pair.key_pem)
        (directory / f"{name}.key").chmod(0o600)
        (directory / f"{name}.crt").write_bytes(pair.cert_pem)


def recorded_pid(state_file: Path) -> int:
    """The pid state_file records if that process runs, else 0."""
    try:
        pid = int(json.loads(state_file.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return 0
    return pid if host.is_running(pid) else 0


def start(
    name: str,
    argv: Sequence[str],
    environment: Mapping[str, str],
    log: Path,
    state_file: Path,
    answers: Callable[[], bool],
    what: str,
    timeout: float,
    max_interval: float = 2.0,
) -> None:
    """Start the service `name` (e.g. "the lab registry"): `argv` in a session of its own (output
    appended to `log`, pid into `state_file`), then wait until `answers()`; InfrastructureError naming the
    log's last lines if it exits first, WaitTimeout (saying `what`) after `timeout` seconds."""
    host.ensure_bridge()  # the address the services listen on
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(environment),
        )
    state_file.write_text(json.dumps({"pid": process.pid}))

    def serving() -> bool:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-5:]
            raise InfrastructureError(f"{name} exited ({process.returncode}): {' | '.join(tail)}")
        return answers()

    wait_until(serving, bool, timeout=timeout, what=what, max_interval=max_interval)
