"""Benchmark of access checks against the lab: SubjectAccessReviews per second, concurrent
beside sequential, measured in the same run on one `pks` lab cluster (target >= 1,000/s concurrent).
The cases are drawn from the whole matrix of issue 19: resources and subresources, tenant and
provider namespaces and all namespaces, tenant users and service accounts, non-resource paths.
With --cells it also prints the matrix's cells per identity, before and after issue 19, from the
cluster's discovery. Unless --skip-matrix it also times the whole access matrix of check_rbac_002 (tenants
blue and green onboarded by the kubeconfig backend, identities the admin impersonates; every question
asked three ways): the three ways at once with the observer's workers, beside its baseline measured in
the same run, the ways one after the other with 10 workers each (the order and workers of before;
the same transport, so the figure shows what asking the ways at once adds, nothing else).

    python -m bench.rbac [--reviews N] [--workers W] [--cluster NAME] [--json FILE] [--cells] [--skip-matrix]

With --cluster it uses a running lab cluster; otherwise it starts one (named with the
CAAS_CLUSTER_PREFIX) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from checks.matrix import Cell
from checks.rbac.access import STREAMING, WAYS, AccessObserver, Probe
from checks.rbac.discovery import discover, discover_subresources
from checks.rbac.matrix import (
    SELF_REVIEWS,
    cluster_scoped_questions,
    namespaced_questions,
    namespaces_of_no_tenant,
    own_namespace_controls,
    provider_questions,
    subresource_questions,
)
from checks.rbac.non_resource import PATHS as NON_RESOURCE_PATHS
from checks.rbac.reviews import review_all
from checks.rbac.streaming import TRANSPORTS
from harness.backends import backend_for
from harness.settings import Timeouts, build_settings, lab_home
from provisioning.kube import client as kube
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from provisioning.model.access import provider_namespaces
from provisioning.model.rbac import Request
from provisioning.tenancy import Provisioner
from tests.lab.conftest import existing_cluster_targets  # the lab tests' targets file for a running cluster

TARGET = 1000.0
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
RESOURCES = (
    ("", "pods", ""),
    ("", "secrets", ""),
    ("apps", "deployments", ""),
    ("rbac.authorization.k8s.io", "rolebindings", ""),
    ("", "pods", "exec"),
    ("", "pods", "status"),
    ("", "namespaces", "finalize"),
    ("", "serviceaccounts", "token"),
    ("apps", "deployments", "scale"),
)
NAMESPACES = ("tenant-blue", "tenant-green", "", "kube-system", "kube-public", "default")
SUBJECTS = (
    ("blue-admin", "blue:admins"),
    ("green-viewer", "green:viewers"),
    ("stranger", "auditors"),
    ("system:serviceaccount:tenant-blue:default", "system:serviceaccounts"),
    ("system:serviceaccount:tenant-green:caas-builder", "system:serviceaccounts:tenant-green"),
)
PATHS = ("/metrics", "/logs/", "/debug/pprof/", "/version", "/healthz", "/api")


def cases(count: int) -> list[Request]:
    """Reproducible cases; one in ten is a non-resource request."""
    pick = random.Random(7)  # noqa: S311 - reproducible cases, not secrets
    found = []
    for index in range(count):
        user, group_name = pick.choice(SUBJECTS)
        groups = (group_name, "system:authenticated")
        if index % 10 == 9:
            found.append(Request(user, groups, "get", path=pick.choice(PATHS)))
            continue
        group, resource, subresource = pick.choice(RESOURCES)
        namespace = pick.choice(NAMESPACES)
        found.append(Request(user, groups, pick.choice(VERBS), resource, namespace, group, subresource))
    return found


def cells_per_identity(api: object, tenant_namespaces: int = 2) -> dict[str, int]:
    """Cells of one tenant user's row before issue 19 (tenant namespaces, cluster scope, the control)
    and after (plus namespaces of no tenant, all-namespaces lists and watches, subresources, streams and
    paths), and of one service account's row, from the cluster's discovery (a pks cluster's namespaces)."""
    resources = discover(api)
    subresources = discover_subresources(api)
    provider = len(provider_namespaces((), [], ()))
    namespaced = sum(len(r.verbs) for r in resources if r.namespaced)
    cluster_scoped = sum(len(r.verbs) for r in resources if not r.namespaced and r.name not in SELF_REVIEWS)
    every = tenant_namespaces + provider
    per_namespace = sum(len(s.verbs) for s in subresources if s.parent.namespaced or s.parent.name == "namespaces")
    cluster_subs = sum(len(s.verbs) for s in subresources if not s.parent.namespaced and s.parent.name != "namespaces")
    all_namespaces = sum(len({"list", "watch"} & set(r.verbs)) for r in resources if r.namespaced)
    before = tenant_namespaces * namespaced + cluster_scoped + 1
    after = (
        before
        + provider * namespaced
        + all_namespaces
        + every * per_namespace
        + cluster_subs
        + tenant_namespaces * len(STREAMING) * len(TRANSPORTS)
        + len(NON_RESOURCE_PATHS)
    )
    account = every * namespaced + cluster_scoped + 1
    return {"tenant user, before": before, "tenant user, after": after, "service account (new)": account}


def rate(api: object, requests: list[Request], workers: int) -> float:
    started = time.monotonic()
    answers = review_all(api, requests, workers=workers)
    seconds = time.monotonic() - started
    errors = sum(1 for cell, _ in answers if cell is Cell.ERROR)
    if errors:
        raise SystemExit(f"bench.rbac: {errors} reviews failed; the figure would be meaningless")
    return len(requests) / seconds


def _share(kubeconfig: str, requests: list[Request], workers: int) -> int:
    """One client process's share: its own connections, `workers` threads; returns the error count."""
    api = kube.from_kubeconfig(Path(kubeconfig), pool_size=workers)
    try:
        return sum(1 for cell, _ in review_all(api, requests, workers=workers) if cell is Cell.ERROR)
    finally:
        api.close()


def rate_processes(kubeconfig: str, requests: list[Request], workers: int, processes: int) -> float:
    """Reviews per second with `processes` client processes (the client, not the server, is the bottleneck
    of one Python process)."""
    shares = [requests[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_share, [kubeconfig] * processes, [s[:20] for s in shares], [workers] * processes))
        started = time.monotonic()
        errors = sum(pool.map(_share, [kubeconfig] * processes, shares, [workers] * processes))
        seconds = time.monotonic() - started
    if errors:
        raise SystemExit(f"bench.rbac: {errors} reviews failed; the figure would be meaningless")
    return len(requests) / seconds


OLD_WORKERS = 10  # the observer's workers before the ways were asked at once


@contextlib.contextmanager
def access_matrix(kubeconfig: Path, directory: Path, run_id: str) -> Iterator[tuple[Any, Any, list[Probe]]]:
    """(tenancy, its shared cluster, every probe of the whole access matrix) on the cluster of
    `kubeconfig`, tenants blue and green onboarded here under `run_id` and released on leaving."""
    targets = existing_cluster_targets(directory, kubeconfig, ("blue", "green"))
    settings = build_settings(targets_path=targets, environment={}, run_id=run_id)
    provisioner = Provisioner(backend_for(settings, "existing"), settings.run_id)
    try:
        tenancy = provisioner.provision(settings.targets.model, "existing")
        shared = tenancy.clusters[0]
        admin = tenancy.admin_client(shared)
        try:
            resources, subresources = discover(admin), discover_subresources(admin)
            namespaces = namespaces_of_no_tenant(admin, tenancy, ())
        finally:
            admin.close()
        questions = (
            own_namespace_controls(shared, resources)
            + namespaced_questions(tenancy, shared, resources)
            + cluster_scoped_questions(shared, resources)
            + provider_questions(tenancy, shared, resources, namespaces)
            + subresource_questions(tenancy, shared, subresources, namespaces)
        )
        yield tenancy, shared, [q.probe for q in questions]
    finally:
        provisioner.release()


def matrix_seconds(kubeconfig: Path, directory: Path) -> tuple[float, float, int]:
    """(seconds of the whole matrix, three ways at once; seconds of the same, one way after the other with
    OLD_WORKERS each; questions) on the cluster of `kubeconfig`, its tenancy onboarded here and released."""
    with access_matrix(kubeconfig, directory, "bench-rbac") as (tenancy, shared, probes):
        observer = AccessObserver(tenancy, shared, workers=OLD_WORKERS)
        try:
            started = time.monotonic()
            for way in WAYS:
                observer.observe(probes, ways=(way,))
            apart = time.monotonic() - started
        finally:
            observer.close()
        observer = AccessObserver(tenancy, shared)
        try:
            started = time.monotonic()
            observer.observe(probes)
            together = time.monotonic() - started
        finally:
            observer.close()
    return together, apart, len(probes)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rbac")
    parser.add_argument("--reviews", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2, help="client processes for the multi-process figure")
    parser.add_argument("--cluster", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--cells", action="store_true", help="also print the matrix's cells per identity")
    parser.add_argument("--skip-matrix", action="store_true", help="do not time the whole access matrix")
    args = parser.parse_args()
    paths = LabPaths(lab_home(dict(os.environ)))
    name = args.cluster or f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}bench-rbac"
    started_here = args.cluster is None
    if started_here:
        cluster.up(paths, name, "pks", 1, Timeouts().lab_ready)
    try:
        lab = cluster.attach(paths, name)
        api = kube.from_kubeconfig(Path(lab.layout.kubeconfig(cluster.ADMIN)), pool_size=args.workers)
        try:
            if args.cells:
                for label, count in cells_per_identity(api).items():
                    print(f"cells per identity, {label}: {count}")
            review_all(api, cases(200), workers=args.workers)  # warm connections and caches
            sequential = rate(api, cases(args.reviews // 4), workers=1)
            concurrent = rate(api, cases(args.reviews), workers=args.workers)
        finally:
            api.close()
        kubeconfig = str(lab.layout.kubeconfig(cluster.ADMIN))
        multi = rate_processes(kubeconfig, cases(args.reviews), args.workers, args.processes)
        if not args.skip_matrix:
            with tempfile.TemporaryDirectory(prefix="caas-bench-rbac-") as tmp:
                together, apart, asked = matrix_seconds(Path(kubeconfig), Path(tmp))
    finally:
        if started_here:
            cluster.down(paths, name)
    rows = [
        ("sequential reviews/s (baseline)", sequential, None),
        (f"concurrent reviews/s ({args.workers} threads)", concurrent, TARGET),
        (f"concurrent reviews/s ({args.processes}x{args.workers})", multi, TARGET),
    ]
    print(f"{'figure':<40} {'value':>10} {'target':>10} {'ratio':>8}")
    for label, value, target in rows:
        ratio = f"{target / value:.2f}" if target else "-"
        print(f"{label:<40} {value:>10.0f} {target or '-':>10} {ratio:>8}")
    best = max(concurrent, multi)
    print(f"speed-up over sequential: {best / sequential:.1f}x (ratio target/figure <= 1 meets the target)")
    figures: list[dict[str, object]] = [
        {
            "figure": f"access reviews, {args.workers} threads",
            "rate": concurrent,
            "target_rate": TARGET,
            "baseline": "sequential reviews",
            "baseline_rate": sequential,
        },
        {
            "figure": f"access reviews, {args.processes}x{args.workers}",
            "rate": multi,
            "target_rate": TARGET,
            "baseline": "sequential reviews",
            "baseline_rate": sequential,
        },
    ]
    if not args.skip_matrix:
        print(
            f"access matrix, {asked} questions x 3 ways: {together:.1f}s at once, {apart:.1f}s one way after the "
            f"other ({OLD_WORKERS} workers): {apart / together:.1f}x"
        )
        figures.append(
            {
                "figure": f"access matrix, {asked} questions x 3 ways",
                "seconds": together,
                "baseline": f"ways one by one, {OLD_WORKERS} workers",
                "baseline_seconds": apart,
            }
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
