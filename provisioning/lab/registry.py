"""The lab's registry: a real registry server (Debian's `docker-registry`, distribution 2.8) beside the
lab, as a product's nodes would pull from one. TLS with a certificate from the lab registry's CA (made
once per lab home), basic auth from an htpasswd file (bcrypt, written by apache2-utils' `htpasswd -B`).

It listens on the lab bridge's address (BRIDGE_ADDRESS:REGISTRY_PORT), which every node host reaches
directly; the nodes' containerd trusts its CA through a hosts.toml (`containerd_hosts`). One registry
serves every cluster of the lab home. Files under <lab home>/registry: ca.crt/key, server.crt/key,
htpasswd, login.json (a Docker config with the lab's login, mode 0600), config.yml, data/, state.json
(the server's pid), registry.log.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from harness.redaction import register
from provisioning.http import HttpClient, HttpFailure
from provisioning.images.pull_secret import docker_config
from provisioning.lab import daemon, host
from provisioning.lab.layout import BRIDGE_ADDRESS

REGISTRY_PORT = 5043
HOST = f"{BRIDGE_ADDRESS}:{REGISTRY_PORT}"
LOCATION = f"{HOST}/caas"  # where the lab's products find the suite's images (images.registry)
USER = "caas"
PROGRAM = "docker-registry"


@dataclass(frozen=True)
class LabRegistry:
    """The lab registry's files under `home` (the lab home)."""

    home: Path

    @property
    def directory(self) -> Path:
        return self.home / "registry"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def login_file(self) -> Path:
        """A Docker config.json with the lab's login: the pull secret's `file` and `--authfile`."""
        return self.directory / "login.json"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    @property
    def log(self) -> Path:
        return self.directory / "registry.log"

    def pid(self) -> int:
        """The server's pid, 0 if it is not running: the state file's, else a running `docker-registry
        serve` of this home's config (one whose state file was lost, e.g. to a crash between start and
        write, is found and stopped by `down` instead of holding the address against the next `up`)."""
        pid = daemon.recorded_pid(self.state_file)
        if pid:
            return pid
        config = str(self.directory / "config.yml")
        for candidate in host.processes_of(self.directory, lambda _top: False):
            try:
                argv = Path(f"/proc/{candidate}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in argv if a]
            if words[:1] and Path(words[0]).name == PROGRAM and config in words:
                return candidate
        return 0

    def login(self) -> dict[str, object]:
        """The lab's login as a Docker config (its values registered with the redactor)."""
        config: dict[str, object] = json.loads(self.login_file.read_text())
        for entry in config["auths"].values():  # type: ignore[attr-defined]
            register(entry.get("auth"), entry.get("password"))
        return config


def _files(registry: LabRegistry) -> None:
    """CA, serving certificate, login and configuration, each made once (kept across restarts)."""
    directory = registry.directory
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    daemon.own_tls(directory, "caas-lab-registry", HOST)
    if not registry.login_file.exists():
        password = secrets.token_urlsafe(24)
        register(password)
        # htpasswd -i reads the password from stdin (never on a command line), -B bcrypt, -n prints the line
        line = host.run(["htpasswd", "-niB", USER], input_text=password + "\n", timeout=60)
        (directory / "htpasswd").write_text(line.strip() + "\n")
        registry.login_file.touch(mode=0o600)
        registry.login_file.write_text(json.dumps(docker_config(HOST, USER, password)))
    (directory / "config.yml").write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "version": 0.1,
                "log": {"level": "info"},
                "storage": {"filesystem": {"rootdirectory": str(directory / "data")}, "delete": {"enabled": True}},
                "http": {
                    "addr": HOST,
                    "tls": {"certificate": str(directory / "server.crt"), "key": str(directory / "server.key")},
                },
                "auth": {"htpasswd": {"realm": "caas-lab", "path": str(directory / "htpasswd")}},
            },
            indent=1,
        )
    )


def serving(registry: LabRegistry, timeout: float = 5.0) -> bool:
    """Whether the registry answers /v2/ over TLS with its CA (401 without a login: auth is on)."""
    client = HttpClient(f"https://{HOST}", service="the lab registry", timeout=timeout, ca_file=str(registry.ca_file))
    try:
        client.request("GET", "/v2/")
    except HttpFailure as failure:
        return failure.status == 401
    finally:
        client.close()
    return False  # answered without asking for a login: not the lab's registry


def up(home: Path, timeout: float = 60.0) -> LabRegistry:
    """Start the lab registry unless it runs; return when it serves. Idempotent. InfrastructureError
    naming the log's tail if it does not serve within `timeout` seconds."""
    registry = LabRegistry(home)
    _files(registry)
    if registry.pid() and serving(registry):
        return registry
    daemon.start(
        "the lab registry",
        [PROGRAM, "serve", str(registry.directory / "config.yml")],
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        registry.log,
        registry.state_file,
        lambda: serving(registry, timeout=2.0),
        f"the lab registry to serve at https://{HOST}/v2/",
        timeout,
    )
    return registry


def down(home: Path) -> bool:
    """Stop the lab registry (its images and login stay for the next `up`); whether it was running."""
    registry = LabRegistry(home)
    pid = registry.pid()
    if pid:
        host.kill_all([pid], timeout=5.0)
    registry.state_file.unlink(missing_ok=True)
    return bool(pid)


def containerd_hosts(ca_file: Path) -> str:
    """containerd's hosts.toml for the lab registry (certs.d/<HOST>/hosts.toml): pull and resolve over
    TLS, trusting the lab registry's CA (containerd docs/hosts.md)."""
    return (
        f'server = "https://{HOST}"\n\n'
        f'[host."https://{HOST}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        f'  ca = "{ca_file}"\n'
    )
