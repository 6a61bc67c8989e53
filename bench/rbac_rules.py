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

from checks.rbac.access import AccessObserver, Observation
from checks.rbac.discovery import discover, discover_subresources
from checks.rbac.matrix import (
    cluster_scoped_questions,
    namespaced_questions,
    namespaces_of_no_tenant,
    own_namespace_controls,
    provider_questions,
    subresource_questions,
)
from harness.settings import Timeouts, build_settings, lab_home
from provisioning.backends.registry import backend_for
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from provisioning.tenancy import Provisioner
from tests.lab.conftest import existing_cluster_targets  # the lab tests' targets file for a running cluster


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
    targets = existing_cluster_targets(directory, kubeconfig, ("blue", "green"))
    settings = build_settings(targets_path=targets, environment={}, run_id="bench-rules")
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
        probes = [q.probe for q in questions]
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
    finally:
        provisioner.release()
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
