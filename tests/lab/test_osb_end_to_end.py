"""End to end through the Open Service Broker: `caas broker serve` in front of the lab, the `osb` backend,
the Provisioner and the provisioning features; afterwards no lab cluster of the broker is left.

Cost: one 1-worker `pks` lab cluster (about a minute in all). The features run in a child pytest with a
targets file whose product has `backend: osb`: its tenancy fixture provisions through the Provisioner.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from tests.lab.inventory import suite_run_id
from tests.support import ROOT, spawn_caas

pytestmark = pytest.mark.lab

BROKER_USER = "osb-e2e"
BROKER_PASSWORD = "osb-e2e-Pw-41d7"  # a test credential: it must not appear in any log
PREFIX = os.environ.get("CAAS_CLUSTER_PREFIX", "")


@dataclass
class Broker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.log.read_text()


def _broker_targets(directory: Path) -> Path:
    path = directory / "broker-targets.yaml"
    path.write_text(
        textwrap.dedent("""\
        version: 1
        products:
          - name: pks
            backend: lab
            lab: {profile: pks, nodes: 1}
            plans:
              - name: small
                workers: 1
                pod_security: restricted
                quota: {hard: {pods: "10"}, default_requests: {cpu: 50m, memory: 64Mi},
                        default_limits: {cpu: 250m, memory: 128Mi}}
        tenancy:
          - product: pks
            tenants: [{name: blue, plan: small}]
        """)
    )
    return path


def _client_targets(directory: Path, broker_url: str) -> Path:
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: pks-osb
            backend: osb
            osb: {{broker_url: "{broker_url}", username_env: OSB_USER, password_env: OSB_PASSWORD,
                   originating_user: nightly, operation_timeout: 300, poll_seconds: 1}}
            plans:
              - name: small
                pod_security: restricted
                quota: {{hard: {{pods: "10"}}, default_requests: {{cpu: 50m, memory: 64Mi}},
                        default_limits: {{cpu: 250m, memory: 128Mi}}}}
        tenancy:
          - product: pks-osb
            tenants: [{{name: blue, plan: small}}, {{name: green, plan: small}}]
        """)
    )
    return path


def _environment() -> dict[str, str]:
    return {**os.environ, "OSB_USER": BROKER_USER, "OSB_PASSWORD": BROKER_PASSWORD, "CAAS_CLUSTER_PREFIX": PREFIX}


@pytest.fixture
def broker(tmp_path: Path, lab_paths: LabPaths) -> Iterator[Broker]:
    log = tmp_path / "broker.log"
    env = {**_environment(), "CAAS_BROKER_USERNAME": BROKER_USER, "CAAS_BROKER_PASSWORD": BROKER_PASSWORD}
    process = spawn_caas(
        *("broker", "serve", "--targets", str(_broker_targets(tmp_path)), "--port", "0"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
    assert match, f"the broker did not start: {line!r} {log.read_text()}"
    running = Broker(match.group(1), process, log)
    try:
        yield running
    finally:
        running.stop()
        for name in _created(log.read_text()):  # never leave a cluster behind, even when the test failed
            if lab_paths.cluster_dir(name).exists():
                cluster.down(lab_paths, name)


def _created(log: str) -> list[str]:
    return re.findall(r"creating cluster (\S+) on plan", log)


def test_tenancy_provisioned_through_the_broker_passes_the_provisioning_features(
    broker: Broker, tmp_path: Path, lab_paths: LabPaths
) -> None:
    targets = _client_targets(tmp_path, broker.url)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "steps",
            "-k",
            "provisioning",
            "--targets",
            str(targets),
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            "--run-id",
            suite_run_id("osb-e2e"),
        ],
        check=False,
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "PASSED steps/test_provisioning.py::test_each_tenants_namespace_carries_its_plans_fences[pks-osb]" in (
        run.stdout
    ), run.stdout[-3000:]
    assert re.search(r"\b1 passed\b", run.stdout), (
        "the shared-cluster feature passed (no dedicated tenant: one cluster)"
    )

    log = broker.stop()
    created = _created(log)
    assert len(created) == 1, log
    assert created[0].startswith(f"{PREFIX}osb-")
    binds = re.findall(r'"PUT /v2/service_instances/[^/ ]+/service_bindings/[^ ]+ HTTP/1.1" 201', log)
    assert len(binds) == 1 + 6, "one binding for the admin, one per tenant identity (2 tenants x 3 roles)"
    assert re.search(r'"DELETE /v2/service_instances/[^/ ]+\?[^ ]*accepts_incomplete=true[^ ]* HTTP/1.1" 202', log)
    assert f"cluster {created[0]} is deleted" in log
    assert not lab_paths.cluster_dir(created[0]).exists(), "no lab cluster of the broker is left"
    for secret in (BROKER_PASSWORD, "PRIVATE KEY"):
        assert secret not in log + output
