"""`make bench`: run every benchmark of `bench/` and print one table. Each figure is shown with
the baseline it is compared with, measured in the same run, and its target where it has one.

    python -m bench.table [--skip-cold] [--only lab,provisioning,probe_matrix,rbac,run]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHES = ("lab", "provisioning", "probe_matrix", "rbac", "run", "redaction")


def render(rows: list[dict[str, object]]) -> str:
    head = f"{'figure':<44} {'seconds':>8}  {'baseline (same run)':<32} {'seconds':>8} {'ratio':>7}  {'target':>10}"
    lines = [head, "-" * len(head)]
    for row in rows:
        seconds = row.get("seconds")
        base = row.get("baseline_seconds")
        ratio = f"{float(base) / float(seconds):6.1f}x" if seconds and base else ""  # type: ignore[arg-type]
        if row.get("rate") is not None and row.get("baseline_rate"):
            ratio = f"{float(row['rate']) / float(row['baseline_rate']):6.1f}x"  # type: ignore[arg-type]
            base = row["baseline_rate"]
        target = ""
        if row.get("target") is not None:
            target = f"<= {float(row['target']):g}s"  # type: ignore[arg-type]
        if row.get("target_rate") is not None:
            target = f">= {float(row['target_rate']):g}/s"  # type: ignore[arg-type]
        if row.get("target_ratio") is not None:
            target += f" >= {float(row['target_ratio']):g}x"  # type: ignore[arg-type]
        if row.get("rate") is not None:
            seconds_text = f"{float(row['rate']):7.0f}/s"  # type: ignore[arg-type]
        else:
            seconds_text = "skipped" if seconds is None else f"{float(seconds):8.1f}"  # type: ignore[arg-type]
        base_text = "" if base is None else f"{float(base):8.1f}"  # type: ignore[arg-type]
        lines.append(
            f"{row['figure']!s:<44} {seconds_text:>8}  {row.get('baseline', '')!s:<32} {base_text:>8} "
            f"{ratio:>7}  {target:>10}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="caas-bench-") as tmp:
        for name in args.only.split(","):
            if importlib.util.find_spec(f"bench.{name}") is None:
                print(f"bench.{name}: not available", file=sys.stderr)
                continue
            out = Path(tmp) / f"{name}.json"
            extra = ["--skip-cold"] if name == "lab" and args.skip_cold else []
            print(f"running bench.{name} ...", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--json", str(out), *extra], check=False)
            if done.returncode != 0 or not out.exists():
                rows.append({"figure": f"bench.{name} FAILED (exit {done.returncode})", "seconds": None})
                continue
            rows += json.loads(out.read_text())
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
