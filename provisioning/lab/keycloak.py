"""The lab's identity broker: Keycloak (the Quarkus distribution published on Maven Central), beside the lab.

One broker serves every cluster of a lab home, as the lab registry does: it listens with TLS on the lab
bridge's address (BRIDGE_ADDRESS:PORT, which every node host reaches), its serving certificate issued by a
CA of its own made once per lab home, and its health endpoints on MANAGEMENT_PORT. `install` fetches the
distribution once with Maven (`mvn dependency:copy`, checksums strict) into a versioned folder of the lab
home and runs Keycloak's build step there (H2 file database, health on), so each start is `start
--optimized`. `up` starts it unless it serves and waits for /health/ready; `down` stops it. The
bootstrap admin's password is a file of mode 0600 handed to Keycloak in its environment, never on a
command line. Files under <lab home>/broker: ca.crt/key, server.crt/key, admin-password, state.json (the
server's pid), keycloak.log. Keycloak's own data (the H2 database) stays in its versioned folder.

Measured on this machine (2 cores shared with other helpers' clusters, load average 12 to 20): the archive
is 176 MB (190 MB unpacked), the build step 68 to 72 s, a start to ready 62 s (first start, new
database) to 140 s (a restart), about 26 s of CPU; resident memory 410 to 590 MB (heap capped at 512
MB); making the three realms anew 29 s; a user's browser login through the broker 2 to 3 s (OIDC
and SAML alike). Keycloak 26.7.3 also starts on Java 17 (start-dev: 64 s to ready, 513 MB).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin

from harness.errors import InfrastructureError
from harness.redaction import register
from harness.wait import wait_until
from provisioning.http import HttpClient, HttpFailure
from provisioning.lab import configs, daemon, host, oidc
from provisioning.lab.home_env import lab_home
from provisioning.lab.keycloak_realms import (
    PROVIDER_REALM,
    Customer,
    customer_realm,
    jwt_authenticator,
    provider_realm,
    realm_url,
    user_profile,
)
from provisioning.lab.layout import BRIDGE_ADDRESS, ClusterLayout

VERSION = "26.7.3"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{VERSION}:tar.gz"
PORT = 8443
MANAGEMENT_PORT = 9000
URL = f"https://{BRIDGE_ADDRESS}:{PORT}"
ADMIN_USER = "caas-admin"
# Seconds an admin REST call may take: deleting a realm took more than 30 s on 2 busy cores.
ADMIN_TIMEOUT = 180
# Keycloak 26 runs on Java 17 or later (measured: 26.7.3 starts on both); the newest JDK found is used.
JAVA_HOMES = (Path("/usr/lib/jvm/temurin-25-jdk-amd64"), Path("/usr/lib/jvm/java-21-openjdk-amd64"))
# Without it the JVM takes 70 % of the machine's memory as its heap when it believes it runs in a container.
HEAP = "-Xms64m -Xmx512m"
BUILD_OPTIONS = ("--db=dev-file", "--health-enabled=true")
Report = Callable[[str], None]


@dataclass(frozen=True)
class Broker:
    """The broker's files under `home` (the lab home)."""

    home: Path

    @property
    def directory(self) -> Path:
        return self.home / "broker"

    @property
    def distribution(self) -> Path:
        """The unpacked distribution (bin/kc.sh, lib/, data/), one folder a version."""
        return self.home / "keycloak" / VERSION / f"keycloak-{VERSION}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    @property
    def log(self) -> Path:
        return self.directory / "keycloak.log"

    @property
    def admin_password_file(self) -> Path:
        return self.directory / "admin-password"

    def admin_password(self) -> str:
        password = self.admin_password_file.read_text().strip()
        register(password)
        return password

    def pid(self) -> int:
        """The server's pid, 0 if it is not running."""
        return daemon.recorded_pid(self.state_file)

    def admin(self, realm: str = "master") -> KeycloakAdmin:
        """An admin REST client (python-keycloak) logged in as the bootstrap admin, working on `realm`."""
        client = KeycloakAdmin(
            server_url=URL,
            username=ADMIN_USER,
            password=self.admin_password(),
            realm_name=realm,
            user_realm_name="master",
            verify=str(self.ca_file),
            timeout=ADMIN_TIMEOUT,
            max_retries=0,  # a retried POST or DELETE that the server had done fails on the second try
        )
        return client


def java_home() -> Path:
    """The JDK Keycloak runs on: the first of JAVA_HOMES present, else the one `java` on PATH belongs to."""
    for candidate in JAVA_HOMES:
        if (candidate / "bin" / "java").exists():
            return candidate
    java = shutil.which("java")
    if java is None:
        raise InfrastructureError("the identity broker needs Java 17 or later (fix: apt-get install -y openjdk-17-jre)")
    return Path(java).resolve().parent.parent


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "JAVA_HOME": str(java_home()),
        "JAVA_OPTS_KC_HEAP": HEAP,
        **(extra or {}),
    }


def installed(broker: Broker) -> bool:
    stamp = broker.distribution / ".caas-built"
    return stamp.exists() and stamp.read_text() == " ".join(BUILD_OPTIONS)


def install(home: Path, report: Report = lambda _msg: None) -> Broker:
    """Fetch and build the distribution unless its folder holds a finished build. Idempotent; a partial
    folder (an interrupted install) is removed and made again. InfrastructureError naming the command
    and its output's tail when Maven, the archive or Keycloak's build step fails."""
    broker = Broker(home)
    if installed(broker):
        return broker
    if shutil.which("mvn") is None:
        raise InfrastructureError("installing the identity broker needs Maven (fix: apt-get install -y maven)")
    version_dir = broker.distribution.parent
    shutil.rmtree(version_dir, ignore_errors=True)
    version_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="caas-keycloak-") as download:
        report(f"mvn dependency:copy {ARTIFACT}")
        host.run(
            ["mvn", "-q", "-B", "-C", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={download}"],
            timeout=1800,
        )
        archive = Path(download) / f"keycloak-quarkus-dist-{VERSION}.tar.gz"
        with tarfile.open(archive) as tar:
            tar.extractall(version_dir, filter="data")
    if not (broker.distribution / "bin" / "kc.sh").exists():
        raise InfrastructureError(f"{archive.name} did not hold keycloak-{VERSION}/bin/kc.sh")
    report(f"kc.sh build {' '.join(BUILD_OPTIONS)}")
    _run_kc(broker, ["build", *BUILD_OPTIONS], timeout=900)
    (broker.distribution / ".caas-built").write_text(" ".join(BUILD_OPTIONS))
    return broker


def _run_kc(broker: Broker, arguments: list[str], timeout: float) -> None:
    command = [str(broker.distribution / "bin" / "kc.sh"), *arguments]
    result = subprocess.run(  # noqa: PLW1510 - checked below with the output in the error
        command, env=_environment(), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise InfrastructureError(f"{' '.join(command)} failed ({result.returncode}): {tail}")


def _files(broker: Broker) -> None:
    """CA, serving certificate and admin password, each made once (kept across restarts: the admin
    exists in Keycloak's database from its first start on)."""
    directory = broker.directory
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    daemon.own_tls(directory, "caas-lab-broker", BRIDGE_ADDRESS)
    if not broker.admin_password_file.exists():
        broker.admin_password_file.touch(mode=0o600)
        broker.admin_password_file.write_text(secrets.token_urlsafe(24))


def start_argv(broker: Broker) -> list[str]:
    """Keycloak's command line: production mode on the build of `install`, TLS only, outgoing HTTPS
    (the broker's calls to customers' IdPs) trusting the broker's CA besides the system's."""
    directory = broker.directory
    return [
        str(broker.distribution / "bin" / "kc.sh"),
        "start",
        "--optimized",
        f"--hostname={URL}",
        f"--http-host={BRIDGE_ADDRESS}",
        "--http-enabled=false",
        f"--https-port={PORT}",
        f"--https-certificate-file={directory / 'server.crt'}",
        f"--https-certificate-key-file={directory / 'server.key'}",
        f"--http-management-port={MANAGEMENT_PORT}",
        f"--truststore-paths={broker.ca_file}",
    ]


def ready(broker: Broker, timeout: float = 5.0) -> bool:
    """Whether the broker's /health/ready answers 200 over TLS with its CA."""
    client = HttpClient(
        f"https://{BRIDGE_ADDRESS}:{MANAGEMENT_PORT}",
        service="the identity broker",
        timeout=timeout,
        ca_file=str(broker.ca_file),
    )
    try:
        client.request("GET", "/health/ready")
    except HttpFailure:
        return False
    finally:
        client.close()
    return True


def up(home: Path, timeout: float = 300.0) -> Broker:
    """Start the broker unless its recorded process runs; return when /health/ready answers. Idempotent.
    Needs `install` first (InfrastructureError naming the fix otherwise); InfrastructureError when a
    broker without a recorded pid serves at URL (a second one would fail to bind, while its start saw the
    first one's answers as its own), or naming the log's tail if it exits; WaitTimeout (with what it last
    saw) if it is not ready within `timeout` seconds."""
    broker = Broker(home)
    if not installed(broker):
        raise InfrastructureError(f"Keycloak {VERSION} is not installed in {home} (fix: make broker)")
    _files(broker)
    if broker.pid():
        # running: a slow answer (a busy machine) is waited for, never a reason to start a second one
        wait_until(lambda: ready(broker), bool, timeout=timeout, what=f"the identity broker to be ready at {URL}")
        return broker
    if ready(broker):
        raise InfrastructureError(
            f"an identity broker this lab home did not start (no pid in {broker.state_file}) serves at {URL} "
            "(fix: stop that process; its command line names keycloak)"
        )
    environment = _environment(
        {"KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "KC_BOOTSTRAP_ADMIN_PASSWORD": broker.admin_password()}
    )
    try:
        daemon.start(
            "the identity broker",
            start_argv(broker),
            environment,
            broker.log,
            broker.state_file,
            lambda: ready(broker, timeout=2.0),
            f"the identity broker to be ready at {URL}",
            timeout,
            max_interval=1.0,
        )
    except BaseException:
        down(home)
        raise
    return broker


def down(home: Path, timeout: float = 30.0) -> bool:
    """Stop the broker (its database stays for the next `up`); whether it was running. kc.sh runs Java
    as its child: the whole session is signalled."""
    broker = Broker(home)
    pid = broker.pid()
    if pid:
        pids = [pid, *_children(pid)]
        host.kill_all(pids, timeout=timeout)
    broker.state_file.unlink(missing_ok=True)
    return bool(pid)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def resident_kib(broker: Broker) -> int:
    """Resident memory of the broker's processes (kc.sh and its Java), in KiB; 0 if it is not running."""
    pid = broker.pid()
    total = 0
    for process in [pid, *_children(pid)] if pid else []:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total


def configure(broker: Broker, customers: tuple[Customer, ...]) -> None:
    """Make the provider's realm and one realm a customer anew (a realm of the same name is deleted
    first, with its users), through the admin REST API (python-keycloak). Customers' realms come first:
    the provider's SAML IdPs name their realm's signing certificate. KeycloakError on a refused call."""
    admin = broker.admin()
    existing = {realm["realm"] for realm in admin.get_realms()}
    for realm in (PROVIDER_REALM, *(customer.realm for customer in customers)):
        if realm in existing:
            admin.delete_realm(realm)
    certificates: dict[str, str] = {}
    for customer in customers:
        admin.create_realm(customer_realm(customer, URL))
        if customer.protocol == "saml":
            admin.change_current_realm(customer.realm)
            keys = admin.get_keys()["keys"]
            certificates[customer.alias] = next(
                key["certificate"] for key in keys if key.get("algorithm") == "RS256" and key.get("use") == "SIG"
            )
            admin.change_current_realm("master")
    admin.create_realm(provider_realm(customers, URL, certificates))
    admin.change_current_realm(PROVIDER_REALM)
    admin.update_realm_users_profile(user_profile(admin.get_realm_users_profile()))


def trust(
    layout: ClusterLayout,
    broker: Broker,
    authenticator: Mapping[str, Any] | None = None,
    tenants: Sequence[str] = (),
    tenant_prefix: bool = True,
) -> None:
    """Make the API server of the `pks` cluster at `layout` trust the broker's provider realm besides the
    cluster's own issuer: its structured authentication file gets the broker's JWT authenticator
    (`authenticator`, by default keycloak_realms.jwt_authenticator; the mutation tests hand one without
    the per-customer prefix; with `tenants`, the tenants the cluster serves, tokens of any other tenant
    refused; `tenant_prefix=False`: the mutation broker-unprefixed), written whole and renamed
    into place, as the API server reloads the file as soon as it changes (it logs "reloaded
    authentication config"; a half-written file would be refused as "empty config data")."""
    ca = (layout.pki / "ca.crt").read_bytes()
    issuers = [
        oidc.jwt_authenticator(oidc.issuer_url(layout), ca),
        dict(
            authenticator
            or jwt_authenticator(
                realm_url(URL, PROVIDER_REALM),
                broker.ca_file.read_bytes(),
                tenants=tenants,
                tenant_prefix=tenant_prefix,
            )
        ),
    ]
    written = layout.directory / ".authentication.yaml.tmp"
    written.write_text(configs.authentication_config(issuers))
    written.replace(layout.directory / "authentication.yaml")


def main() -> None:
    """`python -m provisioning.lab.keycloak install|up|down` (the Makefile's `broker` target installs)."""
    import sys

    home = lab_home(dict(os.environ))
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    if action == "install":
        install(home, report=lambda message: print(f"caas: {message}", flush=True))
    elif action == "up":
        up(home)
    elif action == "down":
        down(home)
    else:
        sys.exit("caas: error: provisioning.lab.keycloak: unknown action (fix: install, up or down)")


if __name__ == "__main__":
    main()
