"""`caas clean`: remove what a run left behind, also after a crash (lab clusters and labelled objects)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from provisioning.cli.main import environment
from provisioning.errors import ConfigError, ExitCode
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.settings import lab_home

EXPIRY_SECONDS = 6 * 3600


def register(commands: Any) -> None:
    p = commands.add_parser(
        "clean",
        help="remove what runs left behind (also after a crash)",
        description="Remove lab clusters created by runs: one run's, expired ones, or all.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", help="only what this run created")
    which.add_argument("--expired", action="store_true", help=f"what runs created over {EXPIRY_SECONDS // 3600}h ago")
    which.add_argument("--all", action="store_true", help="every run's clusters (clusters from `caas lab up` stay)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    paths = LabPaths(lab_home(environment()))
    now = time.time()
    removed = []
    for state in cluster.list_clusters(paths):
        run_id = state.get("run_id", "")
        if not run_id:
            continue  # started by hand with `caas lab up`: `caas lab down` removes it
        chosen = (
            args.all
            or (args.run_id and run_id == args.run_id)
            or (args.expired and now - float(state.get("created", now)) > EXPIRY_SECONDS)
        )
        if chosen:
            cluster.down(paths, state["name"])
            removed.append(state["name"])
    if args.run_id and not removed and not paths.clusters.exists():
        raise ConfigError("--run-id", "", f'nothing of run "{args.run_id}" is left')
    for name in removed:
        print(f"removed lab cluster {name}")
    leftovers = host.inventory(paths.home)
    print(f"caas clean: {len(removed)} clusters removed; lab processes left: {len(leftovers.processes)}")
    return int(ExitCode.OK)
