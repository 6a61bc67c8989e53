"""Benchmark of the embedded lab: cold and warm build, time to Ready for one cluster and for two.

Prints one table: each figure beside its target and the ratio figure/target (≤ 1 meets it).
The cold build uses an empty Go build cache in a temporary directory (the module cache is kept),
so the machine's own warm cache is not disturbed.

    python -m bench.lab [--skip-cold] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.settings import Timeouts, lab_home
from provisioning.lab import build, cluster
from provisioning.lab.cluster import LabPaths


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def cold_build() -> float:
    with tempfile.TemporaryDirectory(prefix="caas-bench-") as tmp:
        env = {**os.environ, "GOCACHE": str(Path(tmp) / "gocache")}
        return timed(lambda: build.build_all(Path(tmp) / "lab", env))


def up_and_down(paths: LabPaths, name: str, profile: str) -> float:
    seconds = timed(lambda: cluster.up(paths, name, profile, 1, Timeouts().lab_ready))
    cluster.down(paths, name)
    return seconds


PREFIX = os.environ.get("CAAS_CLUSTER_PREFIX", "")  # keeps names apart from other suites on this lab


def both_together(paths: LabPaths) -> float:
    def start(profile: str) -> None:
        cluster.up(paths, f"{PREFIX}bench-{profile}", profile, 1, Timeouts().lab_ready)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return timed(lambda: list(pool.map(start, ("cfcr", "pks"))))
    finally:
        for profile in ("cfcr", "pks"):
            if paths.cluster_dir(f"{PREFIX}bench-{profile}").exists():
                cluster.down(paths, f"{PREFIX}bench-{profile}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold build (it takes minutes)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    paths = LabPaths(lab_home(dict(os.environ)))
    rows: list[tuple[str, float | None, float]] = []
    print(f"{'figure':<36} {'seconds':>9} {'target':>8} {'ratio':>7}", flush=True)

    def row(name: str, seconds: float | None, target: float) -> None:
        rows.append((name, seconds, target))
        shown = "skipped" if seconds is None else f"{seconds:9.1f}"
        ratio = "" if seconds is None else f"{seconds / target:7.2f}"
        print(f"{name:<36} {shown:>9} {target:8.0f} {ratio:>7}", flush=True)

    row("cold build (empty Go build cache)", None if args.skip_cold else cold_build(), 30 * 60)
    build.build_all(paths.home, dict(os.environ))
    row("warm build (no-op)", timed(lambda: build.build_all(paths.home, dict(os.environ))), 10)
    row("one cluster to Ready (pks)", up_and_down(paths, f"{PREFIX}bench-one", "pks"), 30)
    row("one cluster to Ready (cfcr)", up_and_down(paths, f"{PREFIX}bench-one", "cfcr"), 30)
    row("cfcr + pks together to Ready", both_together(paths), 45)
    if args.json:
        baselines = {  # what each figure is compared with, measured in this run
            "cold build (empty Go build cache)": ("warm build", rows[1][1]),
            "cfcr + pks together to Ready": ("one after the other", (rows[2][1] or 0) + (rows[3][1] or 0)),
        }
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "figure": n,
                        "seconds": s,
                        "target": t,
                        "baseline": baselines.get(n, ("", None))[0],
                        "baseline_seconds": baselines.get(n, ("", None))[1],
                    }
                    for n, s, t in rows
                ]
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
