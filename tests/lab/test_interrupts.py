"""`caas run` interrupted by SIGINT (a terminal's Ctrl-C: caas's process group) or SIGTERM (a CI job
cancelled: caas's process only) at three points of a real run: while a cluster is being provisioned,
once a tenant is onboarded, during the scenarios. The run stops, releases what it provisioned, names
what it removed and exits 130 / 143; nothing of the run is left (lab cluster, process, network
namespace, link, mount, cgroup, host rule). A second signal stops at once and prints the exact
`caas clean --run-id` that then leaves nothing.

CI runs two cases on a one-cluster tenancy; the others (and the full `pks` tenancy of the example,
with its dedicated cluster) are nightly.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.cli.interrupts import TEARDOWN_GRACE
from harness.settings import DEFAULT_TARGETS, Timeouts
from harness.wait import WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster, host
from provisioning.lab.cluster import ClusterState, LabPaths
from tests.lab.inventory import cluster_prefix, leaked_since, run_cluster_indices, suite_run_id
from tests.support import run_caas, spawn_caas

pytestmark = pytest.mark.lab
PRODUCT = "pks"
SCENARIOS = "network"  # seven network scenarios on pks: the signal lands during the second or later
STOP_BUDGET = TEARDOWN_GRACE + 150.0  # seconds from the signal to caas's end: teardown, then the sweep
AT_ONCE = 10.0  # seconds from a second signal to caas's end
CLEAN_BUDGET = 300.0

PROVISIONING = "a cluster is being provisioned"
ONBOARDED = "a tenant is onboarded"
SCENARIO_DONE = "a scenario has finished"
CASES = [(s, p) for p in (PROVISIONING, ONBOARDED, SCENARIO_DONE) for s in (signal.SIGINT, signal.SIGTERM)]
CI_CASES = {(signal.SIGINT, PROVISIONING), (signal.SIGTERM, SCENARIO_DONE)}


def _one_cluster_targets(directory: Path) -> Path:
    """The example's pks product with its two shared tenants only: one lab cluster of one worker."""
    spec = yaml.safe_load(DEFAULT_TARGETS.read_text())
    spec["products"] = [p for p in spec["products"] if p["name"] == PRODUCT]
    spec["tenancy"] = [
        {"product": PRODUCT, "tenants": [t for t in entry["tenants"] if t.get("placement", "shared") == "shared"]}
        for entry in spec["tenancy"]
        if entry["product"] == PRODUCT
    ]
    spec["expectations"] = [e for e in spec.get("expectations", []) if e["product"] == PRODUCT]
    path = directory / "targets.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@dataclass
class Run:
    """A `caas run` started by a test, and what the test saw of it."""

    process: subprocess.Popen[bytes]
    run_id: str
    output: Path  # caas's stdout and stderr
    pytest_log: Path
    paths: LabPaths
    targets: Path
    indices: set[int]
    names: set[str]

    def watch(self) -> list[ClusterState]:
        """The run's lab clusters now (their names and indices are remembered for the leak check)."""
        states = [s for s in cluster.list_clusters(self.paths) if s.run_id == self.run_id]
        self.indices.update(run_cluster_indices(self.paths, self.run_id))
        self.names.update(s.name for s in states)
        return states

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def signal(self, signum: int) -> None:
        """SIGINT as a terminal sends it (to caas's process group), SIGTERM as CI does (to caas only)."""
        if signum == signal.SIGINT:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)

    def wait_end(self, budget: float, what: str) -> int:
        code: int | None = wait_until(
            lambda: (self.watch(), self.process.poll())[1],
            lambda rc: rc is not None,
            timeout=budget,
            what=what,
            max_interval=0.5,
        )
        assert code is not None
        return code


def _start(run_id: str, targets: Path, lab_paths: LabPaths, tmp_path: Path) -> Run:
    output = tmp_path / "caas-run.out"
    with output.open("wb") as out:
        process = spawn_caas(
            *("run", "--targets", str(targets)),
            *("--run-id", run_id, "--output", str(tmp_path / "out"), "--product", PRODUCT, "-k", SCENARIOS),
            stdout=out,
            stderr=subprocess.STDOUT,
            new_session=True,  # as a shell starts a foreground job: a process group of its own
        )
    return Run(process, run_id, output, tmp_path / "out" / run_id / "pytest.log", lab_paths, targets, set(), set())


def _reached(point: str, run: Run) -> bool:
    states = run.watch()
    if point == PROVISIONING:
        return any(s.status == "starting" for s in states)
    if point == ONBOARDED:
        return any(_has_tenant_namespace(run, s.name) for s in states if s.status == "ready")
    log = run.pytest_log.read_text(errors="replace") if run.pytest_log.exists() else ""
    return bool(re.search(r" (PASSED|FAILED)\b", log))  # a skipped scenario may end before provisioning


def _has_tenant_namespace(run: Run, name: str) -> bool:
    try:
        api = kube.from_kubeconfig(run.paths.cluster_dir(name) / "kubeconfigs" / "admin.kubeconfig", timeout=5)
    except Exception:  # the run may be removing the cluster right now
        return False
    try:
        selector = f"caas-conformance.io/run-id={run.run_id}"
        return bool(kube.call(api, "CoreV1Api", "list_namespace", label_selector=selector).items)
    except kube.ApiFailure:
        return False
    finally:
        api.close()


def _wait_point(point: str, run: Run) -> None:
    try:
        wait_until(
            lambda: _reached(point, run) or run.process.poll() is not None,
            bool,
            timeout=Timeouts().lab_ready * 3,
            what=f"run {run.run_id} to reach the point: {point}",
        )
    except WaitTimeout:
        _kill_and_clean(run)
        raise
    assert run.process.poll() is None, f"the run ended before {point}: {run.text()[-3000:]}"


def _processes_of(run_id: str) -> list[str]:
    """Command lines of processes that carry the run id (caas, its pytest, pytest-xdist workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if run_id in words or f"--run-id={run_id}" in words:
            found.append(" ".join(words))
    return found


def _caas_clean(command: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    assert words[:2] == ["caas", "clean"], command
    return run_caas(*words[1:], timeout=CLEAN_BUDGET)


def _kill_and_clean(run: Run) -> None:
    """After a failed test: leave nothing of the run on the shared lab."""
    if run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=30)
    _caas_clean(f"caas clean --run-id {run.run_id} --targets {run.targets}")


def _assert_nothing_left(run: Run, before: host.Inventory, when: str) -> None:
    run.watch()
    assert not [s.name for s in cluster.list_clusters(run.paths) if s.run_id == run.run_id], when
    assert not _processes_of(run.run_id), f"{when}: processes of the run are left: {_processes_of(run.run_id)}"
    leaked = leaked_since(run.paths, before, run.indices)
    assert leaked.empty, f"{when}: {leaked}"


def _name(signum: int) -> str:
    return signal.Signals(signum).name


@pytest.mark.parametrize(
    ("signum", "point"),
    [pytest.param(s, p, marks=() if (s, p) in CI_CASES else pytest.mark.nightly) for s, p in CASES],
    ids=[f"{_name(s)}-{p.replace(' ', '-')}" for s, p in CASES],
)
def test_a_signal_stops_the_run_and_leaves_nothing(
    signum: int, point: str, lab_paths: LabPaths, tmp_path: Path
) -> None:
    run_id = suite_run_id(f"{_name(signum).lower()}-{CASES.index((signum, point))}")
    targets = _one_cluster_targets(tmp_path) if (signum, point) in CI_CASES else DEFAULT_TARGETS
    before = host.inventory(lab_paths.home)
    run = _start(run_id, targets, lab_paths, tmp_path)
    _wait_point(point, run)
    sent = time.monotonic()
    try:
        run.signal(signum)
        code = run.wait_end(STOP_BUDGET, f"run {run_id} to stop after {_name(signum)}")
    except WaitTimeout:
        _kill_and_clean(run)
        raise
    seconds = time.monotonic() - sent
    output = run.text()
    print(f"{_name(signum)} when {point}: stopped in {seconds:.1f} s, exit code {code}\n{output[-2000:]}")
    try:
        assert code == 128 + signum, output[-3000:]
        assert "Traceback" not in output
        assert run.names, f"the run had created no cluster when {point}"
        for name in run.names:
            assert f"removed lab cluster {name}" in output, f"the output names the removed cluster {name}: {output}"
        summary = (
            rf"caas: interrupted by {_name(signum)}: removed \d+ lab cluster\(s\) of run {run_id}: .*; none is left"
        )
        assert re.search(summary, output), output
        _assert_nothing_left(run, before, f"after {_name(signum)} when {point}")
    finally:
        _kill_and_clean(run)


def test_a_second_signal_stops_at_once_and_names_the_clean_that_finishes(lab_paths: LabPaths, tmp_path: Path) -> None:
    run_id = suite_run_id("int-twice")
    targets = _one_cluster_targets(tmp_path)
    before = host.inventory(lab_paths.home)
    run = _start(run_id, targets, lab_paths, tmp_path)
    _wait_point(ONBOARDED, run)
    try:
        run.signal(signal.SIGTERM)
        wait_until(
            run.text, lambda text: "stopping the checks" in text, timeout=30, what="caas to start stopping the checks"
        )
        again = time.monotonic()
        run.signal(signal.SIGINT)
        code = run.wait_end(AT_ONCE, "caas to stop at once after the second signal")
    except WaitTimeout:
        _kill_and_clean(run)
        raise
    seconds = time.monotonic() - again
    output = run.text()
    print(f"second signal: stopped in {seconds:.1f} s, exit code {code}\n{output[-2000:]}")
    try:
        assert code == 130, output
        assert "Traceback" not in output
        expected = f"caas clean --run-id {run_id} --targets {targets}"
        assert output.rstrip().endswith(
            f"second signal (SIGINT): stopped at once; to remove what is left: {expected}"
        ), output
        assert not _processes_of(run_id), f"the checks are stopped: {_processes_of(run_id)}"
        left = [s.name for s in cluster.list_clusters(lab_paths) if s.run_id == run_id]
        clean = _caas_clean(expected)
        print(f"left after the second signal: {left}; {expected}:\n{clean.stdout}")
        assert clean.returncode == 0, clean.stdout + clean.stderr
        _assert_nothing_left(run, before, "after the printed caas clean")
    finally:
        _kill_and_clean(run)


def test_sigterm_to_lab_up_removes_its_half_started_cluster(lab_paths: LabPaths) -> None:
    """`timeout` or a cancelled CI job sends SIGTERM to `caas lab up`: the cluster it was starting goes."""
    name = f"{cluster_prefix()}lab-term"
    env = {**os.environ, "CAAS_LAB_HOME": str(lab_paths.home)}
    up = spawn_caas(
        "lab", "up", "--name", name, "--nodes", "1", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until(  # its node hosts exist: the cluster is half-started
            lambda: [n for n in host.inventory(lab_paths.home).netns if n.startswith(f"caas-{name}-")],
            bool,
            timeout=60,
            what=f"`caas lab up` to create the network namespaces of {name}",
        )
        up.send_signal(signal.SIGTERM)
        output = up.communicate(timeout=60)[0].decode()
    finally:
        if up.poll() is None:
            up.kill()
        cluster.down(lab_paths, name)
    assert up.returncode == 143, output
    assert "Traceback" not in output
    assert f"caas: interrupted by SIGTERM; if `caas lab status` still lists {name}: caas lab down {name}" in output
    assert not lab_paths.cluster_dir(name).exists(), output
    now = host.inventory(lab_paths.home)
    assert not [n for n in now.netns if n.startswith(f"caas-{name}-")], now.netns
    roots = {node.cgroup_root.lstrip("/") for node in cluster.ClusterLayout(name, 1, 3, Path("/")).nodes}
    left = [pid for pid in host.processes_of(lab_paths.cluster_dir(name), roots.__contains__) if host.is_running(pid)]
    assert not left, f"processes of {name} are left: {left}"
