"""What the project's tests share: the checkout's root, the one way a test spawns the `caas` command
(the installed entry point's module run by this interpreter from the root, so that a test runs the checkout
it is in), and the files a targets file of an existing cluster needs without a cluster.

`run_caas` runs a command to its end, always within a timeout and with stdin closed; `spawn_caas` starts one
and hands back its process, for the tests that signal, kill or read a command while it runs.
`offline_kubeconfig` and `write_targets` write a kubeconfig no cluster answers and a targets file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
CAAS = (sys.executable, "-m", "harness.cli.main")

Sink = int | IO[Any] | None  # subprocess.DEVNULL / PIPE / STDOUT, an open file, or the test's own


def _caas_process(args: Sequence[str], env: Mapping[str, str] | None, inside: Sequence[str] = ()) -> dict[str, Any]:
    """What run_caas and spawn_caas start alike: the command line, from ROOT, `env` (None: this process's),
    stdin closed (keyword arguments of subprocess.run and Popen)."""
    return {
        "args": [*inside, *CAAS, *args],
        "cwd": ROOT,
        "env": None if env is None else dict(env),
        "stdin": subprocess.DEVNULL,
    }


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
        **_caas_process(args, env, inside), capture_output=True, text=True, timeout=timeout, check=check
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
    return subprocess.Popen(**_caas_process(args, env), stdout=stdout, stderr=stderr, start_new_session=new_session)


def offline_kubeconfig(path: Path, *, server: str = "https://127.0.0.1:1", contexts: Sequence[str] = ("c",)) -> Path:
    """Write to `path` a kubeconfig no cluster answers: cluster `c` at `server` (nothing listens there),
    user `u` with a token that is no secret, and a context of each name in `contexts` over them, the first
    current. Its path."""
    listed = ", ".join(f"{{name: {name}, context: {{cluster: c, user: u}}}}" for name in contexts)
    path.write_text(
        "apiVersion: v1\n"
        "kind: Config\n"
        f'clusters: [{{name: c, cluster: {{server: "{server}"}}}}]\n'
        "users: [{name: u, user: {token: not-a-secret}}]\n"
        f"contexts: [{listed}]\n"
        f"current-context: {contexts[0]}\n"
    )
    return path


def write_targets(folder: Path, text: str) -> Path:
    """Write `text` (a targets file, dedented here) to folder/targets.yaml; its path."""
    path = folder / "targets.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def existing_product_targets(folder: Path, kubeconfig: str | Path, tenants: tuple[str, ...] = ("blue",)) -> Path:
    """folder/targets.yaml with one product `existing` on the kubeconfig backend (`kubeconfig`, missing
    identities impersonated by the admin, plan `default` at baseline) and `tenants` on that plan: no lab
    build, nothing provisioned before pytest starts."""
    listed = ", ".join(f"{{name: {t}, plan: default}}" for t in tenants)
    return write_targets(
        folder,
        f"""\
        version: 1
        products:
          - name: existing
            backend: kubeconfig
            kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}
            plans: [{{name: default, pod_security: baseline}}]
        tenancy:
          - product: existing
            tenants: [{listed}]
        """,
    )
