"""Private key material does not outlive a crash: a process's client keys (given as bytes, or inline in a
kubeconfig) go into its own key folder, a SIGKILLed process's folder is removed by `caas clean --run-id`,
a running process's stays, and a process that exits normally removes its own."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.wait import wait_until
from tests.support import ROOT, run_caas


def _throwaway_key() -> bytes:
    """A private key made for this test run only (PKCS#8 PEM): no key material lives in the repository."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


KEY = _throwaway_key()
INLINE_KEY = _throwaway_key()
CERT = b"-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n"

HOLDER = """\
import pathlib, sys
from provisioning.kube import client as kube
cluster = kube.Cluster("https://127.0.0.1:1", {cert!r})
kube.api_client(cluster, cert_pem={cert!r}, key_pem={key!r})
kube.from_kubeconfig(pathlib.Path({kubeconfig!r}))
pathlib.Path({ready!r}).write_text(str(kube.key_folder()))
sys.stdin.read()  # holds its keys until its stdin closes, then exits normally
"""


def _kubeconfig(path: Path) -> Path:
    data = {name: base64.b64encode(value).decode() for name, value in (("c", CERT), ("k", INLINE_KEY))}
    path.write_text(
        textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:1", certificate-authority-data: {data["c"]}}}}}]
        users: [{{name: u, user: {{client-certificate-data: {data["c"]}, client-key-data: {data["k"]}}}}}]
        contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
        current-context: x
        """)
    )
    return path


def _holder(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """A process holding client keys (its own and a kubeconfig's inline one): it and its key folder."""
    ready = tmp_path / f"{name}.ready"
    kubeconfig = str(_kubeconfig(tmp_path / f"{name}.kubeconfig"))
    code = HOLDER.format(cert=CERT, key=KEY, kubeconfig=kubeconfig, ready=str(ready))
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.PIPE)
    folder = wait_until(
        lambda: ready.read_text() if ready.exists() else "",
        bool,
        timeout=60,
        what=f"the {name} process to write its client keys",
    )
    return process, Path(folder)


def _contents(folder: Path) -> set[bytes]:
    return {path.read_bytes() for path in folder.iterdir()}


def test_a_killed_process_keys_are_removed_by_clean_and_a_running_one_keeps_its_own(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "CAAS_LAB_HOME": str(tmp_path / "lab")}
    killed, killed_folder = _holder(tmp_path, "killed", env)
    running, running_folder = _holder(tmp_path, "running", env)
    try:
        assert killed_folder.parent == temp
        assert killed_folder.stat().st_mode & 0o777 == 0o700
        assert {KEY, INLINE_KEY} <= _contents(killed_folder), "both keys are in the process's key folder"
        assert set(temp.iterdir()) == {killed_folder, running_folder}, "no key file is written loose"
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert {KEY, INLINE_KEY} <= _contents(killed_folder), "a SIGKILLed process leaves its keys"

        clean = run_caas("clean", "--run-id", "keys-killed", env=env, timeout=120)

        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert not killed_folder.exists(), clean.stdout
        assert f"removed client key folder {killed_folder} (its process was killed)" in clean.stdout
        assert "PRIVATE KEY" not in clean.stdout + clean.stderr
        assert {KEY, INLINE_KEY} <= _contents(running_folder), "a running process keeps its keys"
        running.communicate(timeout=60)  # stdin closed: it exits normally
        assert running.returncode == 0
        assert not running_folder.exists(), "a process that exits normally removes its own key folder"
    finally:
        for process in (killed, running):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
