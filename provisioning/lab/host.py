"""The machine the lab runs on: kernel checks, the lab bridge, node-host network namespaces,
daemons started inside them, and an inventory of everything the lab leaves on the host."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError
from harness.wait import wait_until
from provisioning.lab import tuning
from provisioning.lab.layout import BRIDGE, BRIDGE_ADDRESS, BRIDGE_PREFIX, CGROUP_PREFIX, NETNS_PREFIX, NodeLayout

REQUIRED_CGROUPS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")
CGROUP_BASE = Path("/sys/fs/cgroup")


def run(command: Sequence[str], *, timeout: float = 60, check: bool = True, input_text: str | None = None) -> str:
    """Run a host command; on failure raise one error with the command and its output tail."""
    try:
        result = subprocess.run(
            list(command), check=False, capture_output=True, text=True, timeout=timeout, input=input_text
        )
    except FileNotFoundError:
        raise InfrastructureError(f"{command[0]} is not installed (see `caas lab build` for the packages)") from None
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"`{' '.join(command)}` did not finish within {timeout:g}s") from None
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise InfrastructureError(f"`{' '.join(command)}` failed ({result.returncode}): {' | '.join(tail)}")
    return result.stdout


def check_kernel() -> None:
    """One line naming the missing kernel feature and the fix, before anything is started."""
    enabled = set()
    for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[3] == "1":
            enabled.add(fields[0])
    missing = [c for c in REQUIRED_CGROUPS if c not in enabled or not (CGROUP_BASE / c).is_dir()]
    if missing:
        raise InfrastructureError(
            f"cgroup v1 controllers missing or not mounted: {', '.join(missing)} "
            f"(fix: mount each under {CGROUP_BASE}, e.g. "
            f"mount -t cgroup -o {missing[0]} cgroup {CGROUP_BASE}/{missing[0]})"
        )
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise InfrastructureError("the kernel has no overlay filesystem (fix: modprobe overlay)")
    if os.geteuid() != 0:
        raise InfrastructureError("the lab needs root (network namespaces, cgroups, mounts): run as root")


def ensure_bridge() -> None:
    """The host side of the lab network: one bridge that all node hosts attach to, on a host sized for
    the lab (tuning.size_host)."""
    tuning.size_host()
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "replace", f"{BRIDGE_ADDRESS}/{BRIDGE_PREFIX}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def remove_bridge_if_unused() -> bool:
    """Remove the lab bridge if nothing is attached to it (no node host of any cluster, whatever lab
    home or prefix it belongs to, and no outside client); whether it was removed. The bridge is
    machine-wide: the caller also makes sure that its own lab has no cluster left."""
    device = Path(f"/sys/class/net/{BRIDGE}")
    ports = device / "brif"  # one entry per attached interface; none if the name is not a bridge
    if not ports.is_dir() or any(ports.iterdir()):
        return False
    run(["ip", "link", "del", BRIDGE], check=False)
    return not device.exists()


def create_node_host(node: NodeLayout) -> None:
    """A network namespace with one veth on the lab bridge, loopback up, forwarding on."""
    run(["ip", "netns", "add", node.netns])
    run(["ip", "link", "add", node.host_veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns])
    # the alias names the owner, so that removing a cluster never deletes another lab home's link
    run(["ip", "link", "set", node.host_veth, "alias", node.netns])
    run(["ip", "link", "set", node.host_veth, "master", BRIDGE, "up"])
    inside = ["ip", "netns", "exec", node.netns]
    run([*inside, "ip", "addr", "add", f"{node.ip}/{BRIDGE_PREFIX}", "dev", "eth0"])
    run([*inside, "ip", "link", "set", "eth0", "up"])
    run([*inside, "ip", "link", "set", "lo", "up"])
    for name, value in (
        ("net.ipv4.ip_forward", "1"),
        ("net.bridge.bridge-nf-call-iptables", "1"),
        ("net.ipv4.conf.all.route_localnet", "1"),
    ):
        run([*inside, "sysctl", "-q", "-w", f"{name}={value}"])


@contextlib.contextmanager
def outside_client() -> Iterator[list[str]]:
    """A client on the provider's network that is neither pod nor node: a network namespace of its
    own on the lab bridge, without a default route (the machine's own uplink would answer for any
    address). Yields the command prefix that runs a program inside it; removed on exit."""
    pid = os.getpid()
    name, veth = _outside_names(pid)
    address = f"{BRIDGE_ADDRESS.rsplit('.', 1)[0]}.{100 + pid % 150}"
    inside = ["ip", "netns", "exec", name]
    try:
        run(["ip", "netns", "add", name])
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name])
        run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
        run([*inside, "ip", "addr", "add", f"{address}/{BRIDGE_PREFIX}", "dev", "eth0"])
        run([*inside, "ip", "link", "set", "eth0", "up"])
        run([*inside, "ip", "link", "set", "lo", "up"])
        yield inside
    finally:
        delete_netns(name)
        delete_link(veth)


OUTSIDE = f"{NETNS_PREFIX}outside-"


def _outside_names(pid: int) -> tuple[str, str]:
    """The outside client's namespace (named after its owner's pid) and host link (at most 15 chars)."""
    return f"{OUTSIDE}{pid}", f"caasout{pid % 100000}"


def remove_orphan_outside_clients() -> list[str]:
    """Remove outside-client namespaces whose owner died without removing them (e.g. SIGKILL)."""
    removed = []
    netns_dir = Path("/run/netns")
    for entry in sorted(netns_dir.iterdir()) if netns_dir.is_dir() else []:
        pid_text = entry.name.removeprefix(OUTSIDE)
        if entry.name.startswith(OUTSIDE) and pid_text.isdigit() and not Path(f"/proc/{pid_text}").exists():
            name, veth = _outside_names(int(pid_text))
            delete_netns(name)
            delete_link(veth)
            removed.append(name)
    return removed


def add_route(node: NodeLayout, cidr: str, via: str) -> None:
    run(["ip", "netns", "exec", node.netns, "ip", "route", "replace", cidr, "via", via])


def iptables_in(node: NodeLayout, *rule: str) -> None:
    run(["ip", "netns", "exec", node.netns, "iptables", "-w", *rule])


def delete_netns(name: str) -> None:
    if Path(f"/run/netns/{name}").exists():
        run(["ip", "netns", "del", name], check=False)


def link_owner(name: str) -> str | None:
    """The alias of host interface `name`: a node host's link carries its network namespace's name
    there; "" for a link without an alias; None when there is no such link."""
    try:
        return Path(f"/sys/class/net/{name}/ifalias").read_text().strip()
    except OSError:
        return None


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def delete_link(name: str) -> None:
    """Remove a host interface now (a deleted namespace's veth can otherwise linger)."""
    if Path(f"/sys/class/net/{name}").exists():
        run(["ip", "link", "del", name], check=False)


@dataclass(frozen=True)
class Daemon:
    """A lab daemon started inside a node host's network namespace."""

    component: str
    pid: int


def start_daemon(
    node: NodeLayout, component: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> Daemon:
    """Start `argv` in the node's network namespace (and only that: `nsenter --net`, so that
    mounts made by the kubelet are visible to containerd and runc)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["nsenter", f"--net={node.netns_path}", "--", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env or {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    return Daemon(component, process.pid)


def is_running(pid: int) -> bool:
    """Whether any thread of the process still runs. A killed multi-threaded process (every Go daemon)
    shows its leader as a zombie while its other threads are still exiting, and its files (e.g. the
    API server's listening socket) are closed only when the last thread is gone: a restart that
    trusted the leader's state alone could find the port still taken."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:  # that thread is gone
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _top_cgroups(cgroup_file_text: str) -> set[str]:
    tops = set()
    for line in cgroup_file_text.splitlines():
        path = line.split(":", 2)[-1]
        if path.startswith("/") and len(path) > 1:
            tops.add(path.split("/")[1])
    return tops


def processes_of(directory: Path, belongs: Callable[[str], bool]) -> list[int]:
    """Pids that belong to the lab: their command line names a path under `directory`
    (daemons, shims) or they live in a cgroup whose top-level name `belongs` (containers)."""
    marker = str(directory) + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroups = (entry / "cgroup").read_text()
        except OSError:
            continue
        if marker in cmdline or any(belongs(top) for top in _top_cgroups(cgroups)):
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL whatever is left after the deadline."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    alive = [p for p in pids if is_running(p)]
    if not alive:
        return
    try:
        wait_until(
            lambda: [p for p in pids if is_running(p)],
            lambda left: not left,
            timeout=timeout,
            what="lab processes to stop",
        )
    except InfrastructureError:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(
            lambda: [p for p in pids if is_running(p)],
            lambda left: not left,
            timeout=timeout,
            what="lab processes to die after SIGKILL",
        )


def mounts_under(directory: Path) -> list[str]:
    prefix = str(directory.resolve()) + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix) or point == prefix.rstrip("/"):
            points.append(point)
    return points


def unmount_all(directory: Path) -> None:
    for point in sorted(mounts_under(directory), key=len, reverse=True):
        run(["umount", "-l", point], check=False)


def lab_cgroups(belongs: Callable[[str], bool]) -> list[Path]:
    """The lab's cgroup directories, deepest first, under top-level names that `belongs`."""
    found: list[Path] = []
    for hierarchy in CGROUP_BASE.iterdir():
        if not hierarchy.is_dir():
            continue
        for top in hierarchy.iterdir():
            if top.is_dir() and belongs(top.name):
                # os.walk ignores directories that vanish while it walks (pods of running clusters
                # come and go); rglob would raise FileNotFoundError
                below = [Path(root) / d for root, dirs, _ in os.walk(top) for d in dirs]
                found.extend(sorted(below, key=lambda p: len(p.parts), reverse=True))
                found.append(top)
    return found


def create_cgroup(name: str) -> None:
    """A top-level cgroup in every v1 hierarchy (the kubelet's cgroupRoot must exist)."""
    for hierarchy in CGROUP_BASE.iterdir():
        if not hierarchy.is_dir() or hierarchy.name == "unified":
            continue
        directory = hierarchy / name
        directory.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (directory / knob).write_text((hierarchy / knob).read_text())


def remove_cgroups(belongs: Callable[[str], bool]) -> None:
    for directory in lab_cgroups(belongs):
        with contextlib.suppress(OSError):
            directory.rmdir()


def is_lab_cgroup(name: str) -> bool:
    return name.startswith(CGROUP_PREFIX)


@dataclass(frozen=True)
class Inventory:
    """What the lab has on the host: compare before and after to prove a clean teardown."""

    netns: tuple[str, ...]
    links: tuple[str, ...]
    processes: tuple[int, ...]
    mounts: tuple[str, ...]
    cgroups: tuple[str, ...]
    host_iptables: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not any((self.netns, self.links, self.processes, self.mounts, self.cgroups, self.host_iptables))

    def new_since(self, before: Inventory) -> Inventory:
        """What exists now and did not before: a teardown leaked exactly this."""

        def new(now: tuple[Any, ...], then: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(item for item in now if item not in set(then))

        return Inventory(
            new(self.netns, before.netns),
            new(self.links, before.links),
            new(self.processes, before.processes),
            new(self.mounts, before.mounts),
            new(self.cgroups, before.cgroups),
            new(self.host_iptables, before.host_iptables),
        )


def inventory(lab_home: Path) -> Inventory:
    netns_dir = Path("/run/netns")
    netns = (
        tuple(sorted(p.name for p in netns_dir.iterdir() if p.name.startswith(NETNS_PREFIX)))
        if netns_dir.exists()
        else ()
    )
    links = tuple(sorted(p.name for p in Path("/sys/class/net").iterdir() if p.name.startswith("caas")))
    clusters = lab_home / "clusters"
    processes = tuple(sorted(processes_of(clusters, is_lab_cgroup)))
    mounts = tuple(mounts_under(clusters)) if clusters.exists() else ()
    cgroups = tuple(sorted(str(p) for p in lab_cgroups(is_lab_cgroup)))
    rules = run(["iptables-save"], check=False) if Path("/usr/sbin/iptables-save").exists() else ""
    host_iptables = tuple(line for line in rules.splitlines() if "caas" in line)
    return Inventory(netns, links, processes, mounts, cgroups, host_iptables)
