"""`caas lab ...`: build, start, inspect and remove embedded lab clusters.

Every cluster name is checked before anything is touched (rule: harness.names; a bad one is
one `caas: error:` line and exit code 2). With CAAS_CLUSTER_PREFIX set, the commands that create,
list or remove clusters (`up`, `status`, `down`) act only on names that start with it: `up --name`
and `down NAME` refuse a name without it (`up`'s default name is the prefix and the profile),
`status` and `down --all` see only the prefix's clusters. `kubeconfig` and `logs` only read and
accept any cluster's name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from harness.cli.main import environment
from harness.cli.progress import Progress
from harness.errors import ConfigError, ExitCode
from harness.names import InvalidName, check_cluster_name, shown
from harness.settings import Timeouts, cluster_prefix, lab_home
from provisioning.lab import build, cluster, host, registry
from provisioning.lab.cluster import LabPaths
from provisioning.lab.layout import BRIDGE, MAX_WORKERS
from provisioning.lab.profiles import PROFILES
from provisioning.model.tenancy import AuthorizationMode


def register(commands: Any) -> None:
    lab = commands.add_parser(
        "lab",
        help="the embedded lab: real Kubernetes clusters on this machine",
        description="Build, start, inspect and remove embedded lab clusters.",
    )
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    sub.required = True
    p = sub.add_parser("build", help="compile the lab's components and images (idempotent; warm runs are no-ops)")
    p.set_defaults(handler=cmd_build)
    p = sub.add_parser("up", help="start a cluster and wait until it is Ready")
    p.add_argument("--profile", default="pks", choices=sorted(PROFILES), help="product profile (default: pks)")
    p.add_argument(
        "--name",
        help="cluster name: 1 to 20 of a-z, 0-9 and '-', starting with CAAS_CLUSTER_PREFIX if set "
        "(default: the prefix and the profile, e.g. ci-pks)",
    )
    p.add_argument("--nodes", type=int, default=1, help=f"worker nodes, 1 to {MAX_WORKERS} (default: 1)")
    p.add_argument(
        "--authorization",
        choices=[m.value for m in AuthorizationMode],
        help="override the profile's authorization mode",
    )
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed cluster for debugging")
    p.add_argument("--timeout", type=float, default=Timeouts().lab_ready, help="seconds to wait for Ready")
    p.add_argument(
        "--bare",
        action="store_true",
        help="no suite image on the nodes (they pull from the lab registry, started too): a cluster the suite "
        "did not build, for the kubeconfig backend",
    )
    p.set_defaults(handler=cmd_up)
    p = sub.add_parser("status", help="list lab clusters (only CAAS_CLUSTER_PREFIX's if set)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)
    p = sub.add_parser("kubeconfig", help="print a cluster's admin kubeconfig (or its path with --path)")
    p.add_argument("name")
    p.add_argument("--path", action="store_true", help="print the file's path instead of its content")
    p.set_defaults(handler=cmd_kubeconfig)
    p = sub.add_parser("logs", help="print a component's log (e.g. kube-apiserver, kubelet-pks-w1)")
    p.add_argument("name")
    p.add_argument("component")
    p.add_argument("--tail", type=int, default=0, help="only the last N lines")
    p.set_defaults(handler=cmd_logs)
    p = sub.add_parser("down", help="remove a cluster completely (also after a crash)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?")
    target.add_argument(
        "--all", action="store_true", help="remove every lab cluster (only CAAS_CLUSTER_PREFIX's if set)"
    )
    p.set_defaults(handler=cmd_down)


def _paths() -> LabPaths:
    return LabPaths(lab_home(environment()))


def _name(value: str, source: str, prefix: str = "") -> str:
    """`value` if it is a lab cluster name (starting with `prefix`, if any); else ConfigError naming `source`."""
    try:
        return check_cluster_name(value, prefix)
    except InvalidName as exc:
        raise ConfigError(source, "", str(exc)) from None


def cmd_build(_args: argparse.Namespace) -> int:
    progress = Progress()
    paths = _paths()
    with progress.live("building the lab"):
        result = build.build_all(paths.home, environment(), progress)
    print(
        f"lab build: {len(result.built)} built, {len(result.up_to_date)} up to date, {result.seconds:.1f}s "
        f"({paths.bin})"
    )
    return int(ExitCode.OK)


def cmd_up(args: argparse.Namespace) -> int:
    prefix = cluster_prefix(environment())
    name = _name(f"{prefix}{args.profile}" if args.name is None else args.name, "--name", prefix)
    progress = Progress()
    authorization = AuthorizationMode(args.authorization) if args.authorization else None
    started = time.monotonic()
    with progress.live(f"starting lab cluster {name}"):
        lab = cluster.up(
            _paths(),
            name,
            args.profile,
            args.nodes,
            args.timeout,
            progress,
            authorization,
            keep_on_failure=args.keep_on_failure,
            bare=args.bare,
        )
        lab_registry = registry.up(_paths().home) if args.bare else None
    print(
        f"lab cluster {name} ({args.profile}) is Ready in {time.monotonic() - started:.1f}s: "
        f"kubeconfig {lab.layout.kubeconfig(cluster.ADMIN)}"
    )
    if lab_registry is not None:
        print(
            f"bare: its nodes pull the suite's images from the lab registry: caas images push --registry "
            f"{registry.LOCATION} --authfile {lab_registry.login_file} --ca-file {lab_registry.ca_file}"
        )
    return int(ExitCode.OK)


def cmd_status(args: argparse.Namespace) -> int:
    prefix = cluster_prefix(environment())
    states = cluster.list_clusters(_paths(), prefix)
    if args.json:
        print(
            json.dumps(
                [
                    {k: d[k] for k in ("name", "profile", "authorization", "workers", "status", "server")}
                    for d in (s.to_json() for s in states)
                ],
                indent=1,
            )
        )
        return int(ExitCode.OK)
    if not states:
        print(f"no lab clusters with prefix {prefix}" if prefix else "no lab clusters")
    for s in states:
        running = sum(host.is_running(d.pid) for d in s.daemons)
        print(
            f"{s.name:<20} {s.profile:<5} {s.authorization.value:<5} workers={s.workers} "
            f"status={s.status.value} daemons={running}/{len(s.daemons)} {s.server}"
        )
    others = len(cluster.list_clusters(_paths())) - len(states)
    if others:
        print(f"({others} other lab clusters not shown: their names lack CAAS_CLUSTER_PREFIX {prefix})")
    return int(ExitCode.OK)


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    lab = cluster.attach(_paths(), _name(args.name, "NAME"))
    path = lab.layout.kubeconfig(cluster.ADMIN)
    if not path.is_file():  # a cluster still starting, or one kept after a failed start
        status = lab.state.status.value
        raise ConfigError(
            "NAME",
            "",
            f'lab cluster "{args.name}" has no admin kubeconfig yet (status {status}; fix: wait for '
            f"`caas lab up` to finish, or caas lab down {args.name} and start it again)",
        )
    print(path if args.path else path.read_text())
    return int(ExitCode.OK)


def cmd_logs(args: argparse.Namespace) -> int:
    lab = cluster.attach(_paths(), _name(args.name, "NAME"))
    known = sorted(p.stem for p in lab.layout.logs.glob("*.log") if p.is_file() and not p.is_symlink())
    if args.component not in known:  # only a log of the cluster: never a path built from the argument
        raise ConfigError("COMPONENT", "", f"no log {shown(args.component)} (one of: {', '.join(known) or 'none yet'})")
    log = lab.layout.log(args.component)
    lines = log.read_text(errors="replace").splitlines()
    sys.stdout.write("\n".join(lines[-args.tail :] if args.tail else lines) + "\n")
    return int(ExitCode.OK)


def cmd_down(args: argparse.Namespace) -> int:
    prefix = cluster_prefix(environment())
    paths = _paths()
    # --all: every cluster directory of the prefix, also one whose state file a crash never wrote
    names = cluster.cluster_names(paths, prefix) if args.all else [_name(args.name, "NAME", prefix)]
    for name in names:
        removal = cluster.down(paths, name)
        if not removal.anything and not args.all:
            raise ConfigError("NAME", "", f'no lab cluster "{name}" (see caas lab status)')
        print(f"lab cluster {name} removed: {removal}")
    if args.all and not names:
        print(f"no lab clusters with prefix {prefix}" if prefix else "no lab clusters")
    if args.all and cluster.remove_bridge_if_no_cluster(paths):  # e.g. left by a crash after the last cluster
        print(f"removed the lab bridge {BRIDGE} (no cluster left, nothing attached)")
    return int(ExitCode.OK)
