"""A pytest plugin for a whole run under test: one fault hits the scenarios of one check.

Loaded into the run's pytest with `-p tests.lab.fault_injection --fault FAULT@CHECK --fault-log FILE`
(e.g. through PYTEST_ADDOPTS under `caas run`). When a scenario tagged CHECK reaches its first When
(or Then) step, once its Given steps have set up what it needs (probe pods, services), FAULT starts on the
product's shared lab cluster; when the scenario ends, whatever its outcome, the fault is healed and the
lab is healthy again before the next scenario starts. Each start and heal is appended to FILE as a JSON
line with what was done (pids, timings, connections dropped), so that a test can prove the fault hit.

Faults:
  api-restart       the API server killed (SIGKILL) at the scenario's 50th API request, and started again
  kubelet-stopped   the worker's kubelet killed; the scenario starts once its node is NotReady
  hung-exec         the worker's kubelet frozen (SIGSTOP): execs and pod starts hang
  probe-pod-killed  the probe container of the first tenant's pod "a" killed (SIGKILL); the kubelet restarts it
  slow-api          new connections to the API server go through a local proxy that adds 0.5 s and drops
                    every other connection (iptables REDIRECT on this host; the proxy's own upstream
                    connections carry a socket mark the rule skips)
  stuck-namespace   a ConfigMap with a finalizer nobody removes in the first tenant's namespace: the
                    namespace stays Terminating when the run releases it
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from harness.settings import Settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.state import DaemonRecord
from provisioning.model.onboarding import labels
from provisioning.tenancy import ProvisionedTenancy
from tests.lab.flaky_proxy import FlakyProxy

HEAL_TIMEOUT = 180.0
KILL_AFTER_REQUESTS = 50  # into the scenario's observation
# the suite's API requests go through these
ADAPTER_CALLS = ("call", "request", "create_with_warnings", "post_raw", "send")
NOT_READY_TIMEOUT = 90.0  # the controller manager's node-monitor grace period is 20 s
PROXY_DELAY = 0.5
PROXY_MARK = 0xCA45  # SO_MARK of the proxy's upstream connections: the REDIRECT rule skips them
FINALIZER = "caas-conformance.io/test-fault"


class Fault(Protocol):
    details: dict[str, Any]

    def start(self) -> None: ...

    def heal(self) -> None: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("caas-fault", "fault injection into a run under test")
    group.addoption("--fault", default="", help="FAULT@CHECK: inject FAULT into the scenarios tagged CHECK")
    group.addoption("--fault-log", default="", help="append what the fault did here (JSON lines)")


class Injector:
    """Starts the fault at the first step after the Given steps of each targeted scenario; heals it when
    the scenario ends."""

    def __init__(self, fault: str, check: str, log: Path) -> None:
        if fault not in FAULTS:
            raise pytest.UsageError(f"--fault: unknown fault {fault!r} (one of: {', '.join(FAULTS)})")
        self.fault, self.check, self.log = fault, check, log
        self.active: Fault | None = None
        self.started = 0.0

    def _targeted(self, feature: Any, scenario: Any) -> bool:
        return self.check in (set(getattr(scenario, "tags", ())) | set(getattr(feature, "tags", ())))

    def _write(self, event: str, scenario: Any, **fields: Any) -> None:
        line = {"event": event, "fault": self.fault, "check": self.check, "scenario": scenario.name, **fields}
        with self.log.open("a") as out:
            out.write(json.dumps(line, default=str) + "\n")

    @pytest.hookimpl
    def pytest_bdd_before_step(self, request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any) -> None:
        if self.active is not None or step.type == "given" or not self._targeted(feature, scenario):
            return
        fault = FAULTS[self.fault](request)
        self.started = time.monotonic()
        try:
            fault.start()
        finally:
            self.active = fault
            self._write("started", scenario, step=step.name, details=fault.details)

    @pytest.hookimpl
    def pytest_bdd_after_scenario(self, request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
        fault, self.active = self.active, None
        if fault is None:
            return
        healed = time.monotonic()
        try:
            fault.heal()
        except BaseException as exc:
            self._write("heal failed", scenario, error=repr(exc), details=fault.details)
            raise
        self._write(
            "healed",
            scenario,
            scenario_seconds_under_fault=round(healed - self.started, 1),
            heal_seconds=round(time.monotonic() - healed, 1),
            details=fault.details,
        )


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--fault")
    if not spec:
        return
    fault, _, check = spec.partition("@")
    if not check:
        raise pytest.UsageError(f"--fault: {spec!r} is not FAULT@CHECK (e.g. api-restart@check_rbac_003)")
    log = Path(config.getoption("--fault-log") or os.devnull)
    config.pluginmanager.register(Injector(fault, check, log), "caas-fault-injector")


# --- where the fault goes: the product's shared lab cluster --------------------------------------------


def _settings(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue("settings")
    return settings


def _shared_lab(request: pytest.FixtureRequest) -> LabCluster:
    settings = _settings(request)
    product: str = request.getfixturevalue("product_name")
    return cluster.attach(LabPaths(settings.lab_home), f"{settings.cluster_prefix}{product}-shared")


def _daemon(lab: LabCluster, component: str) -> DaemonRecord:
    return next(d for d in lab.state.daemons if d.component == component)


def _node_ready(lab: LabCluster, node: str) -> bool:
    api = lab.admin_api(timeout=5)
    try:
        conditions = kube.call(api, "CoreV1Api", "read_node", node).status.conditions or []
    finally:
        api.close()
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _wait_node(lab: LabCluster, node: str, ready: bool, timeout: float) -> float:
    started = time.monotonic()
    wait_until(
        lambda: _node_ready(lab, node),
        lambda now: now is ready,
        timeout=timeout,
        what=f"node {node} to be {'Ready' if ready else 'NotReady'}",
        retry_on=(kube.ApiFailure,),
    )
    return round(time.monotonic() - started, 1)


class ApiServerRestart:
    """Once the scenario has made KILL_AFTER_REQUESTS requests through the suite's API adapter (so: in
    the middle of its observation), SIGKILL the API server and start it again at once; it takes seconds
    to serve again, and the requests meanwhile fail. A scenario that makes fewer requests is not hit."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name, "killed": False, "requests": 0}
        self.restarting = threading.Thread(target=self._restart, daemon=True)
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []
        self.originals = {name: getattr(kube, name) for name in ADAPTER_CALLS}

    def _counted(self, name: str) -> Callable[..., Any]:
        original = self.originals[name]

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.details["requests"] += 1
                due = self.details["requests"] == KILL_AFTER_REQUESTS
            if due:
                self._kill()
            return original(*args, **kwargs)

        return counted

    def _kill(self) -> None:
        pid = _daemon(self.lab, "kube-apiserver").pid
        os.kill(pid, signal.SIGKILL)
        self.killed_at = time.monotonic()
        self.details.update(killed=True, killed_pid=pid)
        self.restarting.start()

    def _restart(self) -> None:
        try:
            pid = self.details["killed_pid"]
            wait_until(lambda: host.is_running(pid), lambda alive: not alive, timeout=10, what="the API server to die")
            self.lab.restart("kube-apiserver", HEAL_TIMEOUT)
        except BaseException as exc:
            self.errors.append(exc)
        self.details["down_seconds"] = round(time.monotonic() - self.killed_at, 1)

    def start(self) -> None:
        for name in ADAPTER_CALLS:
            setattr(kube, name, self._counted(name))

    def heal(self) -> None:
        for name, original in self.originals.items():
            setattr(kube, name, original)
        if self.restarting.is_alive() or self.details["killed"]:
            self.restarting.join(HEAL_TIMEOUT)
        if self.errors:
            raise self.errors[0]
        self.lab.wait_api_ready(HEAL_TIMEOUT)
        self.details["pid_after"] = _daemon(self.lab, "kube-apiserver").pid


class KubeletStopped:
    """Kill the worker's kubelet and wait until its node is NotReady; start it again to heal."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        self.node = self.lab.layout.worker_nodes[0].name
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name, "node": self.node}

    def start(self) -> None:
        pid = _daemon(self.lab, f"kubelet-{self.node}").pid
        host.kill_all([pid])
        self.details["killed_pid"] = pid
        self.details["not_ready_after"] = _wait_node(self.lab, self.node, False, NOT_READY_TIMEOUT)

    def heal(self) -> None:
        self.lab.restart(f"kubelet-{self.node}", HEAL_TIMEOUT)
        self.details["ready_again_after"] = _wait_node(self.lab, self.node, True, HEAL_TIMEOUT)


class HungExec:
    """Freeze the worker's kubelet (SIGSTOP): the API server's exec streams to it hang. SIGCONT heals."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        self.node = self.lab.layout.worker_nodes[0].name
        self.pid = _daemon(self.lab, f"kubelet-{self.node}").pid
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name, "node": self.node, "frozen_pid": self.pid}

    def start(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def heal(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.details["ready_again_after"] = _wait_node(self.lab, self.node, True, HEAL_TIMEOUT)


class ProbePodKilled:
    """SIGKILL the probe container of the first tenant's pod "a" (the pod, its address and sandbox stay);
    heal: wait until the kubelet has restarted it and it is Ready."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        tenancy: ProvisionedTenancy = request.getfixturevalue("tenancy")
        shared = next(c for c in tenancy.clusters if c.handle.name == self.lab.layout.name)
        self.namespace, self.pod = shared.tenants[0].namespace, "probe-a"
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name, "pod": f"{self.namespace}/{self.pod}"}

    def _read(self) -> Any:
        api = self.lab.admin_api(timeout=5)
        try:
            return kube.call(api, "CoreV1Api", "read_namespaced_pod", self.pod, self.namespace)
        finally:
            api.close()

    def start(self) -> None:
        pod = self._read()
        status = pod.status.container_statuses[0]
        self.details["restarts_before"] = status.restart_count
        node = next(n for n in self.lab.layout.worker_nodes if n.name == pod.spec.node_name)
        container = status.container_id.split("://", 1)[1]
        ctr = ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io"]
        host.run([*ctr, "task", "kill", "--signal", "SIGKILL", container])
        self.details["killed_container"] = container[:12]

    def heal(self) -> None:
        before = int(self.details.get("restarts_before", 0))

        def restarted_and_ready(pod: Any) -> bool:
            status = (pod.status.container_statuses or [None])[0]
            return bool(status and status.restart_count > before and status.ready)

        started = time.monotonic()
        wait_until(
            self._read,
            restarted_and_ready,
            timeout=HEAL_TIMEOUT,
            what=f"probe pod {self.namespace}/{self.pod} to be restarted and Ready",
            retry_on=(kube.ApiFailure,),
        )
        self.details["ready_again_after"] = round(time.monotonic() - started, 1)


class SlowApi:
    """Every new connection from this host to the API server goes through FlakyProxy."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        self.address = self.lab.layout.control_plane.ip
        self.comment = f"caas-{_settings(request).cluster_prefix}test-fault"
        self.proxy: FlakyProxy | None = None
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name}

    def _rule(self, action: str) -> list[str]:
        assert self.proxy is not None
        return [
            *("iptables", "-w", "-t", "nat", action, "OUTPUT", "-p", "tcp", "-d", self.address, "--dport", "6443"),
            *("-m", "mark", "!", "--mark", str(PROXY_MARK), "-m", "comment", "--comment", self.comment),
            *("-j", "REDIRECT", "--to-ports", str(self.proxy.port)),
        ]

    def start(self) -> None:
        self.proxy = FlakyProxy((self.address, 6443), PROXY_DELAY, mark=PROXY_MARK)
        host.run(self._rule("-A"))
        # connections the run already holds would bypass the proxy: close them (best effort)
        killed = host.run(["ss", "-K", "dst", self.address, "dport", "=", ":6443"], check=False)
        self.details["existing_connections_closed"] = max(0, len(killed.splitlines()) - 1)

    def heal(self) -> None:
        if self.proxy is None:
            return
        host.run(self._rule("-D"), check=False)
        self.proxy.close()
        self.details.update(connections=self.proxy.connections, dropped=self.proxy.dropped)


class StuckNamespace:
    """A ConfigMap whose finalizer nobody removes, in the first tenant's namespace of the shared cluster:
    when the run releases its tenancy, that namespace stays Terminating. Nothing to heal within the run."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.lab = _shared_lab(request)
        tenancy: ProvisionedTenancy = request.getfixturevalue("tenancy")
        shared = next(c for c in tenancy.clusters if c.handle.name == self.lab.layout.name)
        self.tenant = shared.tenants[0]
        self.run_id = tenancy.run_id
        self.details: dict[str, Any] = {"cluster": self.lab.layout.name, "namespace": self.tenant.namespace}

    def start(self) -> None:
        held = {
            "metadata": {
                "name": "held-by-a-finalizer",
                "finalizers": [FINALIZER],
                "labels": labels(self.run_id, self.tenant.name),
            },
            "data": {"k": "v"},
        }
        api = self.lab.admin_api()
        try:
            kube.call(api, "CoreV1Api", "create_namespaced_config_map", self.tenant.namespace, held)
        finally:
            api.close()

    def heal(self) -> None:
        pass


FAULTS: dict[str, Callable[[pytest.FixtureRequest], Fault]] = {
    "api-restart": ApiServerRestart,
    "kubelet-stopped": KubeletStopped,
    "hung-exec": HungExec,
    "probe-pod-killed": ProbePodKilled,
    "slow-api": SlowApi,
    "stuck-namespace": StuckNamespace,
}
