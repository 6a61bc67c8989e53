"""`caas clean`: remove what a run left behind, also after a crash (lab clusters and labelled objects).

Lab clusters are chosen by the run id recorded in their state (clusters started by hand with
`caas lab up` have none and stay) and, with CAAS_CLUSTER_PREFIX set, only among the clusters whose
names start with it: another suite's clusters on the same machine are never removed, whichever of
--run-id, --expired or --all is given. Every clean also removes the client key folders
(provisioning.kube.client.key_folder) of processes that are gone, e.g. a SIGKILLed run's: private keys
never outlive a crash. Every removal is printed with what it removed (a folder's path, never its contents).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from harness.cli.main import environment
from harness.errors import ExitCode
from harness.names import owned_by
from harness.settings import DEFAULT_TARGETS, cluster_prefix, lab_home, valid_run_id
from harness.targets import load_targets
from harness.targets_files import kubeconfig_contexts
from harness.wait import WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.sweep import (
    Selection,
    release_finalizers,
    stuck_terminating,
    sweep_cluster_objects,
    sweep_namespaces,
)

EXPIRY_SECONDS = 6 * 3600
NAMESPACE_GRACE = 30.0  # how long a swept namespace may take to go before its finalizers are released


def register(commands: Any) -> None:
    p = commands.add_parser(
        "clean",
        help="remove what runs left behind (also after a crash)",
        description="Remove lab clusters created by runs, and the labelled tenant namespaces runs left on the "
        "existing clusters (kubeconfig products) of the targets file: one run's, expired ones, or all.",
    )
    p.add_argument("--targets", default=str(DEFAULT_TARGETS), help="targets file naming existing clusters to sweep")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", help="only what this run created")
    which.add_argument(
        "--expired",
        action="store_true",
        help=f"what runs created over {EXPIRY_SECONDS // 3600}h ago (lab clusters: only CAAS_CLUSTER_PREFIX's if set)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every run's clusters (only CAAS_CLUSTER_PREFIX's if set; clusters from `caas lab up` stay)",
    )
    p.add_argument(
        "--on-cluster",
        metavar="KUBECONFIG",
        help="also sweep the management cluster `caas run --on-cluster` ran the Jobs in (their namespaces)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.run_id is not None:
        valid_run_id(args.run_id, "--run-id")
    env = environment()
    paths, prefix = LabPaths(lab_home(env)), cluster_prefix(env)
    targets = load_targets(args.targets)  # a bad file is reported before anything is removed
    now = time.time()
    removed = []
    for state in cluster.list_clusters(paths):
        run_id = state.run_id
        if not run_id:
            continue  # started by hand with `caas lab up`: `caas lab down` removes it
        chosen = (
            args.all
            or (args.run_id and run_id == args.run_id)
            or (args.expired and now - state.created > EXPIRY_SECONDS)
        )
        if chosen and not owned_by(state.name, prefix):
            print(f"left lab cluster {state.name} of run {run_id}: its name lacks CAAS_CLUSTER_PREFIX {prefix}")
        elif chosen:
            removal = cluster.down(paths, state.name)
            removed.append(state.name)
            print(f"removed lab cluster {state.name} of run {run_id}: {removal}")
    for name in host.remove_orphan_outside_clients():
        print(f"removed outside client {name} (its run was killed)")
    for folder in kube.remove_orphan_key_folders():
        print(f"removed client key folder {folder} (its process was killed)")
    selection = Selection(run_id=args.run_id, older_than=EXPIRY_SECONDS if args.expired else None)
    failed = 0
    management = [("the management cluster", Path(args.on_cluster), None)] if args.on_cluster else []
    for product, path, context in [*kubeconfig_contexts(targets), *management]:
        where = f"{product} ({path.name}, context {context or '(current)'})"
        api = kube.from_kubeconfig(path, context)
        try:
            _sweep(api, selection, where)
        except (kube.ApiFailure, WaitTimeout) as exc:
            failed += 1
            print(f"caas clean: cannot sweep {where}: {exc}")
        finally:
            api.close()
    print(f"caas clean: {len(removed)} lab clusters removed")
    return int(ExitCode.INFRASTRUCTURE if failed else ExitCode.OK)


def _sweep(api: Any, selection: Selection, where: str) -> None:
    """Delete the chosen namespaces and see them go; release finalizers that keep one Terminating."""
    swept = sweep_namespaces(api, selection)
    for namespace in swept:
        print(f"removed namespace {namespace} of {where}")
    for removed in sweep_cluster_objects(api, selection):
        print(f"removed {removed} of {where}")

    def gone(what: str) -> None:
        wait_until(
            lambda: stuck_terminating(api, swept),
            lambda left: not left,
            timeout=NAMESPACE_GRACE,
            what=what,
            retry_on=(kube.ApiFailure,),
        )

    try:
        gone("the swept namespaces to go")
    except WaitTimeout:
        for namespace in stuck_terminating(api, swept):  # finalizers whose controller is gone
            for released in release_finalizers(api, namespace):
                print(f"released finalizers of {released} in {namespace} of {where}")
        gone("the swept namespaces to go after releasing finalizers")
