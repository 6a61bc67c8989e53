"""Commands that take a cluster name, and those that remove clusters, act only on what they name and what
CAAS_CLUSTER_PREFIX gives them: a bad name is one `caas: error:` line and exit code 2 with nothing touched,
and a removal takes exactly the named cluster (or the prefix's), never another suite's.

Most tests run against a temporary lab home (CAAS_LAB_HOME) holding state-only fakes of two clusters of
different prefixes, each with a stand-in process whose command line names its directory (as a lab daemon's
does). They start no cluster: network namespaces, links and cgroups are machine-wide, and indices are
allocated per lab home, so a real cluster there could collide with the real lab's. The fakes have lab
index 0 (no host links) and no network namespace; every test checks that the machine's namespaces
(`ip netns list`) did not change. One `lab` test starts one small real cluster in the real lab home.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.cli.main import main
from harness.names import InvalidName, check_cluster_name, check_run_id
from harness.settings import Timeouts, lab_home
from harness.wait import WaitTimeout, wait_until
from provisioning.lab import cluster, home, host
from provisioning.lab.cluster import LabPaths
from provisioning.lab.layout import NETNS_PREFIX
from tests.lab.inventory import cluster_prefix
from tests.support import run_caas

OURS, THEIRS = "tq-", "tz-"  # two suites' prefixes; no real cluster of the machine carries them
MINE, OTHER = f"{OURS}fake", f"{THEIRS}fake"
HOURS_AGO = 7 * 3600  # older than `caas clean --expired`'s 6 h


@dataclass
class FakeLab:
    """A temporary lab home with two fake clusters (MINE and OTHER), each with a stand-in daemon."""

    home: Path
    daemons: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def paths(self) -> LabPaths:
        return LabPaths(self.home)

    def environment(self, prefix: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "CAAS_CLUSTER_PREFIX"}
        env["CAAS_LAB_HOME"] = str(self.home)
        return env | ({"CAAS_CLUSTER_PREFIX": prefix} if prefix is not None else {})

    def caas(self, *argv: str, prefix: str | None = OURS) -> subprocess.CompletedProcess[str]:
        return run_caas(*argv, env=self.environment(prefix), timeout=120)

    def alive(self, name: str) -> bool:
        return self.daemons[name].poll() is None


def make_fake_lab(home: Path) -> FakeLab:
    lab = FakeLab(home)
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "kube").write_text("a lab binary")
    (home / "clusters" / "Foo").mkdir(parents=True)  # not a name the lab gives: no command touches it
    (home / "clusters" / "Foo" / "keep").write_text("not the lab's")
    outside = home.parent / f"{home.name}-outside"
    outside.mkdir()
    (outside / "keep").write_text("outside the lab home")
    (home / "clusters" / f"{OURS}link").symlink_to(outside)  # a valid name, but a symlink: not the lab's
    for name in (MINE, OTHER):
        directory = home / "clusters" / name
        for sub in ("nodes/cp", "logs", "kubeconfigs"):
            (directory / sub).mkdir(parents=True)
        (directory / "logs" / "kube-apiserver.log").write_text("log line\n")
        (directory / "kubeconfigs" / "admin.kubeconfig").write_text("apiVersion: v1\n")
        daemon = subprocess.Popen(  # its command line names the cluster's directory, as a lab daemon's does
            [sys.executable, "-c", "import signal; signal.pause()", str(directory / "nodes" / "cp" / "daemon")],
            start_new_session=True,
        )
        lab.daemons[name] = daemon
        state = {
            "name": name,
            "index": 0,
            "workers": 1,
            "profile": "pks",
            "authorization": "rbac",
            "status": "ready",
            "daemons": [{"component": "kube-apiserver", "pid": daemon.pid, "node": 0, "argv": []}],
            "created": time.time() - HOURS_AGO,
            "server": "https://10.213.0.10:6443",
            "run_id": name.replace("fake", "run"),
        }
        (directory / "state.json").write_text(json.dumps(state))
    return lab


@contextlib.contextmanager
def fake_lab(home: Path) -> Iterator[FakeLab]:
    lab = make_fake_lab(home)
    try:
        yield lab
    finally:
        for daemon in lab.daemons.values():
            daemon.kill()
            daemon.wait(timeout=30)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeLab]:
    with fake_lab(tmp_path / "lab") as lab:
        yield lab


def tree(home: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under `home` and beside it (its parent's other entries): kind, size, modification time."""
    entries: dict[str, tuple[str, int, int]] = {}
    for root, dirs, files in os.walk(home.parent, followlinks=False):
        for entry in (*dirs, *files):
            path = Path(root, entry)
            info = path.lstat()
            kind = "link:" + os.readlink(path) if path.is_symlink() else "dir" if path.is_dir() else "file"
            entries[str(path)] = (kind, 0 if kind == "dir" else info.st_size, info.st_mtime_ns)
    return entries


def namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def assert_namespaces_kept(before: set[str]) -> None:
    """The machine's network namespaces are those of `before`, except what other suites did meanwhile on
    the machine's lab: a namespace may go with its cluster's directory and come with it, an outside client's
    with its run. Any other change is this test's doing (in CI, where nothing else runs, none is allowed)."""
    machine_lab = LabPaths(lab_home({k: v for k, v in os.environ.items() if k == "CAAS_LAB_HOME"}))

    def cluster_exists(netns: str) -> bool:
        name = netns.removeprefix(NETNS_PREFIX).rsplit("-", 1)[0]
        return name in cluster.cluster_names(machine_lab)

    def unexplained() -> set[str]:
        now = namespaces()
        gone = {n for n in before - now if not n.startswith(host.OUTSIDE) and cluster_exists(n)}
        came = {n for n in now - before if not n.startswith(host.OUTSIDE) and not cluster_exists(n)}
        return gone | came

    try:
        wait_until(unexplained, lambda left: not left, timeout=30, what="network namespaces to match the lab's")
    except WaitTimeout:
        pytest.fail(f"network namespaces changed: {sorted(unexplained())}")


def without_lab_bookkeeping(entries: dict[str, tuple[str, int, int]], lab: FakeLab) -> dict[str, tuple[str, int, int]]:
    """`entries` less what a removal changes besides the cluster: `clusters/` (its modification time) and
    the allocation lock that guards the bridge check."""
    clusters = str(lab.home / "clusters")
    return {k: v for k, v in entries.items() if k not in (clusters, f"{clusters}/.allocation.lock")}


def one_error_line(stderr: str) -> list[str]:
    """The `caas: error:` lines of a refusal (argparse's own refusals also print a usage line)."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("caas: error: ")]


# --- the inputs of the issue, each against the fake lab ------------------------------------------------------


@pytest.mark.parametrize("prefix", [None, OURS], ids=["no-prefix", "prefix"])
@pytest.mark.parametrize(
    "argv",
    [
        ("lab", "down", ""),  # what `caas lab down "$NAME"` becomes with NAME unset
        ("lab", "down", "x/../x"),
        ("lab", "down", f"{MINE}/../{MINE}"),
        ("lab", "down", "../bin"),
        ("lab", "down", ".."),
        ("lab", "down", "."),
        ("lab", "down", MINE.upper()),
        ("lab", "down", "Foo"),
        ("lab", "kubeconfig", f"../clusters/{MINE}"),
        ("lab", "logs", MINE, "../../../bin/kube"),
        ("lab", "up", "--name", ""),
        ("lab", "up", "--name", "../bin"),
        ("clean", "--run-id", ""),
        ("clean", "--run-id", "../x"),
        ("clean", "--run-id", "Run-1"),
    ],
    ids=lambda argv: " ".join(map(repr, argv)),
)
def test_a_bad_name_is_refused_and_touches_nothing(fake: FakeLab, argv: tuple[str, ...], prefix: str | None) -> None:
    before, netns = tree(fake.home), namespaces()
    code, out, err = run_in_process(list(argv), fake.environment(prefix))
    assert code == 2, (out, err)
    assert len(one_error_line(err)) == 1, err
    assert out == ""
    assert tree(fake.home) == before
    assert_namespaces_kept(netns)
    assert fake.alive(MINE)
    assert fake.alive(OTHER)


def test_down_removes_the_named_cluster_only_and_says_what_it_removed(fake: FakeLab) -> None:
    before, netns = tree(fake.home), namespaces()
    result = fake.caas("lab", "down", MINE)
    assert result.returncode == 0, result.stderr
    directory = fake.home / "clusters" / MINE
    assert result.stdout == f"lab cluster {MINE} removed: 1 processes; directory {directory}\n"
    assert not directory.exists()
    assert not fake.alive(MINE)
    assert fake.alive(OTHER)
    kept = {k: v for k, v in before.items() if not k.startswith(f"{directory}/") and k != str(directory)}
    assert without_lab_bookkeeping(tree(fake.home), fake) == without_lab_bookkeeping(kept, fake)
    assert_namespaces_kept(netns)
    again = fake.caas("lab", "down", MINE)
    assert again.returncode == 2
    assert one_error_line(again.stderr) == [f'caas: error: NAME: no lab cluster "{MINE}" (see caas lab status)']


def test_down_refuses_a_cluster_of_another_prefix(fake: FakeLab) -> None:
    before = tree(fake.home)
    result = fake.caas("lab", "down", OTHER)
    assert result.returncode == 2
    assert one_error_line(result.stderr) == [
        f'caas: error: NAME: "{OTHER}" does not start with CAAS_CLUSTER_PREFIX "{OURS}", which keeps this '
        f"suite's clusters apart from other suites' (fix: \"{OURS}{OTHER}\", or unset CAAS_CLUSTER_PREFIX)"
    ]
    assert tree(fake.home) == before
    assert fake.alive(OTHER)


@pytest.mark.parametrize("argv", [("lab", "down", "--all"), ("clean", "--all"), ("clean", "--expired")], ids=" ".join)
def test_removing_all_or_expired_clusters_takes_only_the_prefixs(fake: FakeLab, argv: tuple[str, ...]) -> None:
    netns = namespaces()
    result = fake.caas(*argv)
    assert result.returncode == 0, result.stderr
    removed = [line for line in result.stdout.splitlines() if "removed" in line]
    assert removed[0].startswith((f"lab cluster {MINE} removed: ", f"removed lab cluster {MINE} of run {OURS}run: "))
    assert removed[0].endswith(f": 1 processes; directory {fake.home / 'clusters' / MINE}")
    assert not [line for line in removed[1:] if OTHER in line]
    assert not (fake.home / "clusters" / MINE).exists()
    assert not fake.alive(MINE)
    assert fake.alive(OTHER)
    assert (fake.home / "clusters" / OTHER / "state.json").exists()
    assert (fake.home / "clusters" / "Foo" / "keep").exists()
    assert (fake.home / "clusters" / f"{OURS}link" / "keep").exists()  # the symlink and what it points to
    assert (fake.home / "bin" / "kube").exists()
    assert_namespaces_kept(netns)


def test_clean_of_a_run_of_another_prefix_says_what_it_left(fake: FakeLab) -> None:
    before = tree(fake.home)
    result = fake.caas("clean", "--run-id", f"{THEIRS}run")
    assert result.returncode == 0, result.stderr
    assert f"left lab cluster {OTHER} of run {THEIRS}run: its name lacks CAAS_CLUSTER_PREFIX {OURS}" in result.stdout
    assert "caas clean: 0 lab clusters removed" in result.stdout
    assert tree(fake.home) == before
    assert fake.alive(OTHER)


def test_status_lists_only_the_prefixs_clusters(fake: FakeLab) -> None:
    mine = fake.caas("lab", "status", "--json")
    every = fake.caas("lab", "status", "--json", prefix=None)
    assert [c["name"] for c in json.loads(mine.stdout)] == [MINE]
    assert [c["name"] for c in json.loads(every.stdout)] == [MINE, OTHER]
    text = fake.caas("lab", "status")
    assert f"(1 other lab clusters not shown: their names lack CAAS_CLUSTER_PREFIX {OURS})" in text.stdout


def test_up_with_a_prefix_refuses_a_name_without_it(fake: FakeLab) -> None:
    before = tree(fake.home)
    for name in ("x", f"{THEIRS}x"):
        result = fake.caas("lab", "up", "--name", name)
        assert result.returncode == 2
        assert f'(fix: "{OURS}{name}", or unset CAAS_CLUSTER_PREFIX)' in one_error_line(result.stderr)[0]
    assert tree(fake.home) == before


def test_down_all_without_a_prefix_takes_every_cluster_of_the_lab_and_nothing_else(
    fake: FakeLab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process, with the machine's bridge left out: this lab home is not the machine's lab."""
    bridge_checks: list[bool] = []
    monkeypatch.setattr(host, "remove_bridge_if_unused", lambda: bridge_checks.append(True) or False)
    monkeypatch.setenv("CAAS_LAB_HOME", str(fake.home))
    monkeypatch.delenv("CAAS_CLUSTER_PREFIX", raising=False)
    netns = namespaces()
    assert main(["lab", "down", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"lab cluster {MINE} removed" in out
    assert f"lab cluster {OTHER} removed" in out
    assert sorted(p.name for p in (fake.home / "clusters").iterdir()) == [".allocation.lock", "Foo", f"{OURS}link"]
    assert (fake.home / "clusters" / f"{OURS}link" / "keep").exists()
    assert bridge_checks, "the bridge goes only when no cluster is left: checked once none is"
    assert_namespaces_kept(netns)


# --- every command that takes a name, fed generated names ----------------------------------------------------

NAMED = [
    "",
    ".",
    "..",
    "../bin",
    "x/../x",
    "/",
    f"{MINE}/..",
    f"{MINE}/../{OTHER}",
    "-",
    "-x",
    "x-",
    OURS,
    f"{OURS}x-",
    MINE.upper(),
    f"{OURS}Fake",
    f"{OURS}fäke",
    f"{MINE}\n",
    f" {MINE}",
    f"{OURS}x.y",
    f"{OURS}x_y",
    "x" * 300,
    OTHER,
    "Foo",
    f"{OURS}link",
]
names = st.one_of(
    st.sampled_from(NAMED),
    st.text(max_size=40),  # any Unicode, control characters, line separators
    st.from_regex(r"\A[a-z0-9.\-/]{1,30}\Z"),  # dots, slashes, dashes at either end
    st.from_regex(r"\A[a-z0-9][-a-z0-9]{20,300}\Z"),  # too long
    st.from_regex(r"\A[a-z0-9][-a-z0-9]{0,18}[a-z0-9]\Z").map(str.upper),  # upper case
    st.from_regex(r"\A[a-z0-9][-a-z0-9]{0,18}[a-z0-9]\Z"),  # valid, but (mostly) without the prefix
)


@pytest.fixture(scope="module")
def shared_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeLab]:
    with fake_lab(tmp_path_factory.mktemp("names") / "lab") as lab:
        yield lab


def run_in_process(argv: list[str], environment: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environment, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def refused(check: Callable[..., str], *args: str) -> bool:
    try:
        check(*args)
    except InvalidName:
        return True
    return False


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(name=names)
def test_every_command_that_takes_a_name_refuses_generated_bad_names(shared_fake: FakeLab, name: str) -> None:
    """Each name that the prefix does not allow is refused by every command, with exit code 2 and one
    `caas: error:` line, and nothing of the lab home or the machine's namespaces changes."""
    fake = shared_fake
    # Names the prefix allows are not bad names (and some would start a real cluster in the temporary home).
    assume(refused(check_cluster_name, name, OURS))
    commands = [["lab", "up", f"--name={name}"], ["lab", "down", name]]
    if name != OTHER:  # reading another suite's cluster is allowed; any other name is refused
        commands += [["lab", "kubeconfig", name], ["lab", "logs", name, "kube-apiserver"]]
    if refused(check_run_id, name):
        commands.append(["clean", f"--run-id={name}"])
    before, netns = tree(fake.home), namespaces()
    for argv in commands:
        code, out, err = run_in_process(argv, fake.environment(OURS))
        assert code == 2, (argv, out, err)
        assert len(one_error_line(err)) == 1, (argv, err)
        assert out == "", (argv, out)
    assert tree(fake.home) == before
    assert_namespaces_kept(netns)
    assert fake.alive(MINE)
    assert fake.alive(OTHER)


# --- one real cluster: `caas lab down NAME` removes exactly its namespaces and processes ---------------------


@pytest.mark.lab
def test_a_real_lab_down_removes_exactly_its_namespaces_and_processes(lab_paths: LabPaths) -> None:
    name = f"{cluster_prefix()}down"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    lab = cluster.up(lab_paths, name, "cfcr", 1, Timeouts().lab_ready)
    try:
        ours = [node.netns for node in lab.layout.nodes]
        roots = {node.cgroup_root.lstrip("/") for node in lab.layout.nodes}
        pids = host.processes_of(lab.layout.directory, roots.__contains__)
        before = namespaces()
        assert set(ours) <= before
        others_before = {n: before & _netns_of(lab_paths, n) for n in cluster.cluster_names(lab_paths) if n != name}
        result = run_caas("lab", "down", name, timeout=300)
        assert result.returncode == 0, result.stderr
        assert f"network namespaces {', '.join(ours)}" in result.stdout
        assert f"directory {lab.layout.directory}" in result.stdout
        after = namespaces()
        assert not set(ours) & after
        assert not [pid for pid in pids if host.is_running(pid)]
        for other, netns in others_before.items():  # a cluster still there has all it had
            if lab_paths.cluster_dir(other).exists():
                assert netns <= after, other
    finally:
        if lab_paths.cluster_dir(name).exists():
            cluster.down(lab_paths, name)


def _netns_of(paths: LabPaths, name: str) -> set[str]:
    return {f"caas-{name}-cp", *(f"caas-{name}-w{j}" for j in range(1, 4))}


def test_destructive_options_cannot_be_abbreviated(fake: FakeLab) -> None:
    """`caas lab down --a` is a typo, never `--all`: without a prefix it would take every suite's clusters."""
    for argv in (("lab", "down", "--a"), ("clean", "--al"), ("clean", "--exp")):
        result = fake.caas(*argv, prefix=None)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert fake.alive(MINE), argv
        assert fake.alive(OTHER), argv


def test_kubeconfig_of_a_cluster_without_one_is_one_line(fake: FakeLab) -> None:
    (fake.paths.cluster_dir(MINE) / "kubeconfigs" / "admin.kubeconfig").unlink()
    result = fake.caas("lab", "kubeconfig", MINE)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result.stderr) == [
        f'caas: error: NAME: lab cluster "{MINE}" has no admin kubeconfig yet (status ready; fix: wait for '
        f"`caas lab up` to finish, or caas lab down {MINE} and start it again)"
    ]


@pytest.fixture
def foreign_link() -> Iterator[str]:
    """A host link `caas49n0` that another lab home's cluster owns (its alias names that cluster's node)."""
    link = "caas49n0"
    if host.link_exists(link):
        pytest.skip(f"{link} exists on this machine")
    subprocess.run(["ip", "link", "add", link, "type", "veth", "peer", "name", "tqpeer49"], check=True)
    subprocess.run(["ip", "link", "set", link, "alias", "caas-xx-other-cp"], check=True)
    try:
        yield link
    finally:
        host.delete_link(link)


def test_down_takes_no_link_of_another_lab_home_and_up_skips_its_index(fake: FakeLab, foreign_link: str) -> None:
    """Links are machine-wide and named by index: a stale or copied state with index 49 must not delete the
    link another lab home's cluster holds, and a new cluster must not pick that index."""
    state_file = fake.paths.cluster_dir(MINE) / "state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "index": 49}))
    result = fake.caas("lab", "down", MINE)
    assert result.returncode == 0, result.stderr
    assert host.link_exists(foreign_link), result.stdout
    assert "host links" not in result.stdout, result.stdout
    for index in range(1, 49):  # indices of clusters of this lab home, so that the next free one is 49
        (fake.home / "clusters" / f"tq-{index}").mkdir()
        (fake.home / "clusters" / f"tq-{index}" / "state.json").write_text(
            json.dumps({**state, "name": f"tq-{index}", "index": index})
        )
    assert home.free_index(fake.paths) == 50  # 49's link is another lab home's
