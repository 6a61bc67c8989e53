"""Benchmark of the main job: `caas run` wall time on both lab profiles (target <= 10 min with a
warm build), beside the time its scenarios themselves took (from the run's records).

    python -m bench.run [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 600.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caas-bench-run-") as tmp:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli.main", "run", "--output", tmp, "--run-id", "bench-run"],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        wall = time.monotonic() - started
        results = list(Path(tmp, "bench-run", "allure-results").glob("*-result.json"))
        scenarios = sum((r["stop"] - r["start"]) / 1000 for r in map(lambda p: json.loads(p.read_text()), results))
    print(f"caas run (cfcr + pks): {wall:.0f}s wall, exit {done.returncode}; scenarios themselves: {scenarios:.0f}s")
    print(f"target <= {TARGET_SECONDS:.0f}s: ratio {wall / TARGET_SECONDS:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "figure": "caas run, cfcr + pks",
                        "seconds": wall,
                        "target": TARGET_SECONDS,
                        "baseline": "time inside scenarios",
                        "baseline_seconds": scenarios,
                    }
                ]
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
