"""What a runner Job's container runs: the checks' pytest on one product, then its run folder printed.

`python3 -m provisioning.oncluster.entry RUN_DIR -- PYTEST_OPTION ...` runs `python3 -m pytest
PYTEST_OPTION ...` in the suite's source folder (the current one) with its output in RUN_DIR/pytest.log,
then prints results.pack(RUN_DIR, pytest's exit code) and exits 0 when it printed them. The
checks have no timeout of their own here: the Job's activeDeadlineSeconds ends the pod (the verdicts
are decided where the results are gathered, from the records, as a local `caas run` decides them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from provisioning.oncluster.results import pack

USAGE = "usage: python3 -m provisioning.oncluster.entry RUN_DIR -- PYTEST_OPTION ..."


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    run_dir = Path(argv[0])
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"caas on-cluster: running the checks: pytest {' '.join(argv[2:])}", flush=True)
    with (run_dir / "pytest.log").open("wb") as log:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *argv[2:]], stdout=log, stderr=subprocess.STDOUT, check=False
        )
    print(f"caas on-cluster: the checks ended (pytest exit code {done.returncode})", flush=True)
    sys.stdout.write(pack(run_dir, done.returncode))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
