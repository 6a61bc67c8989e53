"""Benchmark of the network probe engine on the lab: the batched engine (one exec per source pod,
all its probes concurrent) against a per-pair baseline (one exec per probe, 15 parallel workers, as
Cyclonus does), over the same N tenants x P pods x ports matrix on one `pks` cluster with the
tenants onboarded (default-deny, allow-same-tenant: cross-tenant probes really time out).

    python -m bench.probe_matrix [--tenants 4] [--pods 5] [--baseline-workers 15]
    python -m bench.probe_matrix --tenants 30 --pods 2 --sweep 8,16,32,64   # concurrent execs

Targets: a 1,900-probe matrix in <= 15 s, and >= 20x the baseline's probes per second. With --sweep the
per-pair baseline is left out: the batched engine probes the same matrix once per count of concurrent
execs, and each count's seconds are printed beside the first count's (ratio first / count: > 1 faster).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from checks.matrix import Cell
from checks.network.probe import ProbePod, Prober, Target, probe_pod_manifest
from harness.settings import Timeouts, lab_home
from provisioning.backends.lab import LabBackend
from provisioning.kube.pods import create_pod, wait_running
from provisioning.lab.cluster import LabPaths
from provisioning.model.tenancy import Plan, Product, TenancyModel, Tenant
from provisioning.tenancy import ProvisionedTenancy, Provisioner

TCP = (8080, 8081, 8083, 8084)
UDP = 8082
TARGET_SECONDS = 15.0
TARGET_RATIO = 20.0


def deploy(tenancy: ProvisionedTenancy, pods_per_tenant: int, timeout: float) -> list[ProbePod]:
    cluster = tenancy.clusters[0]
    api = tenancy.admin_client(cluster)
    pods = []
    try:
        for tenant in cluster.tenants:
            for i in range(pods_per_tenant):
                manifest = probe_pod_manifest(tenant.name, f"p{i}", tenancy.run_id)
                manifest["spec"]["containers"][0]["args"] = [
                    "serve",
                    "--tcp",
                    ",".join(map(str, TCP)),
                    "--udp",
                    str(UDP),
                ]
                create_pod(api, tenant.namespace, manifest)
        for tenant in cluster.tenants:
            for i in range(pods_per_tenant):
                pod = wait_running(api, tenant.namespace, f"probe-p{i}", timeout)
                pods.append(
                    ProbePod(
                        tenant.name, cluster.handle.name, tenant.namespace, f"probe-p{i}", f"p{i}", pod.status.pod_ip
                    )
                )
    finally:
        api.close()
    return pods


def targets_of(pods: list[ProbePod]) -> list[tuple[ProbePod, Target]]:
    found = []
    for pod in pods:
        found += [(pod, Target(f"{pod.label}:{p}/tcp", pod.ip, p, "tcp")) for p in TCP]
        found.append((pod, Target(f"{pod.label}:{UDP}/udp", pod.ip, UDP, "udp")))
    return found


def sweep(tenancy: ProvisionedTenancy, pods: list[ProbePod], targets: list[Target], counts: list[int]) -> int:
    """The batched engine over the same matrix at each count of concurrent execs; prints seconds,
    probes/s, cells in error and the ratio against the first count."""
    timeouts = Timeouts()
    print(f"{'concurrent execs':<17} {'probes':>7} {'seconds':>8} {'probes/s':>9} {'errors':>7} {'ratio':>6}")
    first = 0.0
    for count in counts:
        prober = Prober(tenancy, timeouts.probe, workers=count)
        started = time.monotonic()
        seen = prober.observe(pods, targets, skip=lambda s, t: t.column.startswith(s.label + ":"))
        seconds = time.monotonic() - started
        first = first or seconds
        errors = sum(1 for cell in seen.matrix.cells.values() if cell in (Cell.ERROR, Cell.UNOBSERVED))
        rate = seen.probes / seconds
        print(f"{count:<17} {seen.probes:>7} {seconds:8.1f} {rate:9.1f} {errors:>7} {first / seconds:6.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--pods", type=int, default=5, help="probe pods per tenant")
    parser.add_argument("--batched-workers", type=int, default=20, help="concurrent execs of the batched engine")
    parser.add_argument("--baseline-workers", type=int, default=15)
    parser.add_argument("--sweep", help="counts of concurrent execs, comma-separated; the first is the baseline")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    timeouts = Timeouts()
    paths = LabPaths(lab_home(dict(os.environ)))
    plan = Plan("bench")  # restricted pod security, no quota: 20 probe pods fit
    model = TenancyModel(
        products=(Product("pks", "lab", (plan,)),),
        tenants={"pks": tuple(Tenant(f"t{i}", "bench") for i in range(args.tenants))},
    )
    prefix = os.environ.get("CAAS_CLUSTER_PREFIX", "")
    provisioner = Provisioner(LabBackend(paths, "pks", 1, timeouts), "bench-probes", cluster_prefix=f"{prefix}bench-")
    try:
        tenancy = provisioner.provision(model, "pks")
        pods = deploy(tenancy, args.pods, timeouts.pod_ready)
        targets = targets_of(pods)
        pairs = [(s, t) for s in pods for o, t in targets if o != s]
        if args.sweep:
            return sweep(tenancy, pods, [t for _, t in targets], [int(n) for n in args.sweep.split(",")])
        prober = Prober(tenancy, timeouts.probe, workers=args.batched_workers)

        started = time.monotonic()
        batched = prober.observe(pods, [t for _, t in targets], skip=lambda s, t: t.column.startswith(s.label + ":"))
        batched_s = time.monotonic() - started

        def one(pair: tuple[ProbePod, Target]) -> tuple[tuple[str, str], Cell]:
            source, target = pair
            cell, _ = prober.batch(source, [target]).get(target.column, (Cell.UNOBSERVED, ""))
            return (source.label, target.column), cell

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.baseline_workers) as pool:
            baseline = dict(pool.map(one, pairs))
        baseline_s = time.monotonic() - started
    finally:
        provisioner.release()

    agree = sum(1 for key, cell in baseline.items() if batched.matrix[key] is cell)
    errors = sum(1 for s, t in pairs if batched.matrix[s.label, t.column] in (Cell.ERROR, Cell.UNOBSERVED))
    batched_rate, baseline_rate = batched.probes / batched_s, len(pairs) / baseline_s
    ratio = batched_rate / baseline_rate
    print(f"matrix: {args.tenants} tenants x {args.pods} pods x {len(TCP) + 1} ports = {len(pairs)} probes")
    print(f"{'engine':<34} {'probes':>7} {'seconds':>8} {'probes/s':>9}")
    print(f"{'batched (1 exec per source pod)':<34} {batched.probes:>7} {batched_s:8.1f} {batched_rate:9.1f}")
    label = f"per-pair baseline ({args.baseline_workers} workers)"
    print(f"{label:<34} {len(pairs):>7} {baseline_s:8.1f} {baseline_rate:9.1f}")
    print(f"ratio batched / baseline: {ratio:.1f}x (target >= {TARGET_RATIO:g}x)")
    print(f"batched matrix time: {batched_s:.1f}s (target <= {TARGET_SECONDS:g}s for 1,900 probes)")
    print(f"cells where both engines agree: {agree}/{len(pairs)}; cells in error (batched): {errors}")
    if args.json:
        figures = [
            {
                "figure": f"probe matrix, {len(pairs)} probes, batched",
                "seconds": batched_s,
                "target": TARGET_SECONDS,
                "baseline": f"per-pair exec, {args.baseline_workers} workers",
                "baseline_seconds": baseline_s,
                "target_ratio": TARGET_RATIO,
            },
        ]
        Path(args.json).write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
