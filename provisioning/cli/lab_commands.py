"""`caas lab ...`: build, start, inspect and remove embedded lab clusters."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from provisioning.cli.main import environment
from provisioning.cli.progress import Progress
from provisioning.errors import ConfigError, ExitCode
from provisioning.lab import build, cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.model.tenancy import AuthorizationMode
from provisioning.settings import Timeouts, lab_home


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
    p.add_argument("--profile", default="pks", help="product profile: pks or cfcr (default: pks)")
    p.add_argument("--name", help="cluster name (default: the profile's name)")
    p.add_argument("--nodes", type=int, default=1, help="worker nodes, 1 to 3 (default: 1)")
    p.add_argument(
        "--authorization",
        choices=[m.value for m in AuthorizationMode],
        help="override the profile's authorization mode",
    )
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed cluster for debugging")
    p.add_argument("--timeout", type=float, default=Timeouts().lab_ready, help="seconds to wait for Ready")
    p.set_defaults(handler=cmd_up)
    p = sub.add_parser("status", help="list lab clusters")
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
    target.add_argument("--all", action="store_true", help="remove every lab cluster")
    p.set_defaults(handler=cmd_down)


def _paths() -> LabPaths:
    return LabPaths(lab_home(environment()))


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
    progress = Progress()
    name = args.name or args.profile
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
        )
    print(
        f"lab cluster {name} ({args.profile}) is Ready in {time.monotonic() - started:.1f}s: "
        f"kubeconfig {lab.layout.kubeconfig(cluster.ADMIN)}"
    )
    return int(ExitCode.OK)


def cmd_status(args: argparse.Namespace) -> int:
    states = cluster.list_clusters(_paths())
    if args.json:
        print(
            json.dumps(
                [
                    {k: s.get(k) for k in ("name", "profile", "authorization", "workers", "status", "server")}
                    for s in states
                ],
                indent=1,
            )
        )
        return int(ExitCode.OK)
    if not states:
        print("no lab clusters")
    for s in states:
        running = sum(host.is_running(d["pid"]) for d in s.get("daemons", []))
        print(
            f"{s['name']:<20} {s['profile']:<5} {s['authorization']:<5} workers={s['workers']} "
            f"status={s['status']} daemons={running}/{len(s.get('daemons', []))} {s['server']}"
        )
    return int(ExitCode.OK)


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    lab = cluster.attach(_paths(), args.name)
    path = lab.layout.kubeconfig(cluster.ADMIN)
    print(path if args.path else path.read_text())
    return int(ExitCode.OK)


def cmd_logs(args: argparse.Namespace) -> int:
    lab = cluster.attach(_paths(), args.name)
    log = lab.layout.log(args.component)
    if not log.exists():
        known = sorted(p.stem for p in lab.layout.logs.glob("*.log"))
        raise ConfigError("COMPONENT", "", f'no log "{args.component}" (one of: {", ".join(known)})')
    lines = log.read_text(errors="replace").splitlines()
    sys.stdout.write("\n".join(lines[-args.tail :] if args.tail else lines) + "\n")
    return int(ExitCode.OK)


def cmd_down(args: argparse.Namespace) -> int:
    paths = _paths()
    if args.all:  # every cluster directory, also one whose state file a crash never wrote
        names = sorted(d.name for d in paths.clusters.iterdir() if d.is_dir()) if paths.clusters.exists() else []
    else:
        names = [args.name]
    for name in names:
        if not args.all and not paths.cluster_dir(name).exists():
            raise ConfigError("NAME", "", f'no lab cluster "{name}" (see caas lab status)')
        cluster.down(paths, name)
        print(f"lab cluster {name} removed")
    if args.all:
        host.remove_bridge()
    return int(ExitCode.OK)
