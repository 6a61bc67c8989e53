"""What a runner Job's container runs: the checks' pytest on one product, then its run folder printed.

`python3 -m provisioning.oncluster.entry RUN_DIR -- PYTEST_OPTION ...` runs `python3 -m pytest
PYTEST_OPTION ...` in the suite's source folder (the current one) with its output in RUN_DIR/pytest.log,
then scans RUN_DIR for secrets as a local run's final scan does (harness.redaction.scan with the digests
pytest wrote, the digests file removed once read) and prints, results.py's protocol:

- results.pack(RUN_DIR, pytest's exit code), exit code 0;
- when the scan found secrets: results.leaks_report (their count and places, never the text), exit code
  LEAKED (the local run then ends with exit code 4);
- when the results are above results.MAX_PRINTED: results.too_large, one line, exit code TOO_LARGE.

The checks have no timeout of their own here: the Job's activeDeadlineSeconds ends the pod (the verdicts
are decided where the results are gathered, from the records, as a local `caas run` decides them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import redaction
from provisioning.oncluster.results import MAX_PRINTED, leaks_report, pack, too_large

USAGE = "usage: python3 -m provisioning.oncluster.entry RUN_DIR -- PYTEST_OPTION ..."
LEAKED = 4  # the exit code of `caas run` when a secret reached an artifact
TOO_LARGE = 3


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
    return print_results(run_dir, done.returncode)


def print_results(run_dir: Path, exit_code: int) -> int:
    """Scan `run_dir`, remove its secrets' digests and print its results (or why there are none, see the
    module docstring); the container's exit code."""
    digests_file = run_dir / redaction.DIGESTS_FILE
    digests = redaction.read_digests(digests_file)
    digests_file.unlink(missing_ok=True)
    leaks = redaction.scan(run_dir, digests)
    if leaks:
        text, code = leaks_report(run_dir, leaks), LEAKED
    else:
        text, code = pack(run_dir, exit_code), 0
        if len(text) > MAX_PRINTED:
            text, code = too_large(len(text)) + "\n", TOO_LARGE
    sys.stdout.write(text)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
