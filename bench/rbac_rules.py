"""Benchmark of the access matrix's self reviews inferred from SelfSubjectRulesReviews (checks/rbac/rules.py)
against the baseline that asks one SelfSubjectAccessReview per cell, measured in the same run on one `pks`
lab cluster: the whole matrix of check_rbac_002 (tenants blue and green onboarded by the kubeconfig
backend, identities the admin impersonates; every question three ways), its seconds both ways, the
ratio, the cells asked and inferred, and the cells on which the two observations differ (must be none).

    python -m bench.rbac_rules [--cluster NAME] [--json FILE]

With --cluster it uses a running lab cluster; otherwise it starts one (named with the
CAAS_CLUSTER_PREFIX) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.rbac import access_matrix
from checks.rbac.access import AccessObserver, Observation
from harness.settings import Timeouts, lab_home
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths


def differing(baseline: Observation, inferred: Observation) -> list[str]:
    """`way: row -> column` of every cell the two observations answer differently (pure)."""
    return [
        f"{way}: {row} -> {column}"
        for way, matrix in baseline.ways.items()
        for (row, column), cell in matrix.cells.items()
        if inferred.ways[way][row, column] is not cell
    ]


def matrix_runs(kubeconfig: Path, directory: Path) -> tuple[float, float, Observation, Observation, int]:
    """(seconds asking every self review, seconds inferring them, both observations, questions) on the
    cluster of `kubeconfig`, its tenancy onboarded here and released."""
    with access_matrix(kubeconfig, directory, "bench-rules") as (tenancy, shared, probes):
        seconds, seen = [], []
        for infer in (False, True):
            observer = AccessObserver(tenancy, shared, infer_self=infer)
            try:
                observer.observe(probes[:100], ways=("request",))  # warm connections and caches
                started = time.monotonic()
                seen.append(observer.observe(probes))
                seconds.append(time.monotonic() - started)
            finally:
                observer.close()
    return seconds[0], seconds[1], seen[0], seen[1], len(probes)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rbac_rules")
    parser.add_argument("--cluster", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    paths = LabPaths(lab_home(dict(os.environ)))
    name = args.cluster or f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}bench-rules"
    if args.cluster is None:
        cluster.up(paths, name, "pks", 1, Timeouts().lab_ready)
    try:
        kubeconfig = Path(cluster.attach(paths, name).layout.kubeconfig(cluster.ADMIN))
        with tempfile.TemporaryDirectory(prefix="caas-bench-rules-") as tmp:
            asked, inferred, baseline, observed, count = matrix_runs(kubeconfig, Path(tmp))
    finally:
        if args.cluster is None:
            cluster.down(paths, name)
    different = differing(baseline, observed)
    print(f"access matrix, {count} questions x 3 ways (load {os.getloadavg()[0]:.1f})")
    print(f"every self review asked (baseline): {asked:.1f}s; {baseline.counts()}")
    print(f"self reviews inferred:              {inferred:.1f}s; {observed.counts()}")
    print(f"ratio inferred/baseline: {inferred / asked:.2f}; cells that differ: {len(different)} {different[:5]}")
    if args.json:
        figure = {"figure": "access matrix, self reviews inferred", "seconds": inferred}
        Path(args.json).write_text(json.dumps([{**figure, "baseline": "every cell asked", "baseline_seconds": asked}]))
    if different:
        raise SystemExit(f"bench.rbac_rules: {len(different)} cells differ from the baseline")


if __name__ == "__main__":
    main()
