"""Benchmark of the provisioning layer on the lab: onboarding time per tenant on a shared cluster
(how it grows from 1 to 10 tenants), the ABAC restart's cost on cfcr, and one dedicated cluster.

    python -m bench.provisioning [--sizes 1,5,10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from harness.settings import Timeouts, lab_home
from provisioning.backends.lab import LabBackend
from provisioning.lab.cluster import LabPaths
from provisioning.model.tenancy import AuthorizationMode, Placement, Plan, Product, TenancyModel, Tenant
from provisioning.tenancy import Provisioner


def run(paths: LabPaths, profile: str, tenants: int, placement: Placement) -> dict[str, float]:
    authorization = AuthorizationMode.ABAC if profile == "cfcr" else AuthorizationMode.RBAC
    plan = Plan("small", authorization=authorization)
    model = TenancyModel(
        products=(Product(profile, "lab", (plan,)),),
        tenants={profile: tuple(Tenant(f"t{i}", "small", placement) for i in range(tenants))},
    )
    provisioner = Provisioner(LabBackend(paths, profile, 1, Timeouts()), f"bench-{profile}-{tenants}")
    try:
        tenancy = provisioner.provision(model, profile)
    finally:
        provisioner.release()
    names = {t.name for t in tenancy.tenants}
    onboarding = [s for c in tenancy.clusters for k, s in c.onboarding_seconds.items() if k in names]
    return {
        "clusters_s": sum(v for k, v in tenancy.timings.items() if k.startswith("cluster")),
        "per_tenant_s": statistics.mean(onboarding),
        "abac_restart_s": sum(c.onboarding_seconds.get("abac-restart", 0.0) for c in tenancy.clusters),
        "onboarding_total_s": sum(c.onboarding_seconds.get("total", 0.0) for c in tenancy.clusters),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    paths = LabPaths(lab_home(dict(os.environ)))
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'case':<32} {'tenants':>7} {'cluster s':>9} {'per tenant s':>12} {'ABAC restart s':>14} "
        f"{'onboarding s':>12} {'vs 1 tenant':>11}"
    )
    rows: list[dict[str, object]] = []
    for profile in ("pks", "cfcr"):
        baseline = None
        for size in sizes:
            figures = run(paths, profile, size, Placement.SHARED)
            baseline = baseline or figures["onboarding_total_s"]
            rows.append(
                {
                    "figure": f"onboarding {size} tenants, {profile}",
                    "seconds": figures["onboarding_total_s"],
                    "baseline": "1 tenant",
                    "baseline_seconds": baseline,
                }
            )
            print(
                f"{'shared cluster, ' + profile:<32} {size:>7} {figures['clusters_s']:9.1f} "
                f"{figures['per_tenant_s']:12.2f} {figures['abac_restart_s']:14.1f} "
                f"{figures['onboarding_total_s']:12.1f} {figures['onboarding_total_s'] / baseline:10.1f}x"
            )
    dedicated = run(paths, "pks", 1, Placement.DEDICATED)
    rows.append(
        {
            "figure": "dedicated pks cluster + onboarding",
            "seconds": dedicated["clusters_s"] + dedicated["onboarding_total_s"],
            "baseline": "onboarding on a shared cluster",
            "baseline_seconds": rows[0]["baseline_seconds"],
        }
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    print(
        f"{'dedicated cluster, pks':<32} {1:>7} {dedicated['clusters_s']:9.1f} {dedicated['per_tenant_s']:12.2f} "
        f"{dedicated['abac_restart_s']:14.1f} {dedicated['onboarding_total_s']:12.1f} {'':>11}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
