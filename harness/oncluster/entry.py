"""What a runner Job's container runs: the checks' pytest on one product, then its run folder printed.

`python3 -m harness.oncluster.entry RUN_DIR -- PYTEST_OPTION ...` first compares the launching suite's
version (the environment's provisioning.oncluster.version.ENV, which `caas run --on-cluster` sets) with
its own (version.suite_version of the source it runs from): when they differ it prints one ERROR line
naming both and the fix and exits OTHER_VERSION without running anything (an image of other source
judges differently, and nothing else would say so). Then it runs `python3 -m pytest PYTEST_OPTION ...`
in the suite's source folder (the current one) with its output in RUN_DIR/pytest.log,
then scans RUN_DIR for secrets as a local run's final scan does (harness.redaction.scan with the digests
pytest wrote, the digests file removed once read) and prints, results.py's protocol:

- results.pack(RUN_DIR, pytest's exit code), exit code 0;
- when the scan found secrets: results.leaks_report (their count and places, never the text), exit code
  LEAKED (the local run then ends with exit code 4);
- when the results are above results.MAX_PRINTED: results.too_large, one line, exit code TOO_LARGE.

An image built before this check (it has no harness/oncluster) cannot run this entry at all: its pod
log ends with Python's `No module named 'harness.oncluster'`, which the launcher shows.

The checks have no timeout of their own here: the Job's activeDeadlineSeconds ends the pod (the verdicts
are decided where the results are gathered, from the records, as a local `caas run` decides them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import redaction
from harness.oncluster.results import ERROR, MAX_PRINTED, leaks_report, pack, too_large
from provisioning.oncluster import version

USAGE = "usage: python3 -m harness.oncluster.entry RUN_DIR -- PYTEST_OPTION ..."
LEAKED = 4  # the exit code of `caas run` when a secret reached an artifact
TOO_LARGE = 3
OTHER_VERSION = 5  # the image's suite is not the launching one's
SOURCE = Path(__file__).resolve().parents[2]  # the suite's source this entry runs from (the image's /opt/caas)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    if refusal := version_refusal(os.environ.get(version.ENV, ""), version.suite_version(SOURCE)):
        print(f"{ERROR} {refusal}", flush=True)
        return OTHER_VERSION
    run_dir = Path(argv[0])
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"caas on-cluster: running the checks: pytest {' '.join(argv[2:])}", flush=True)
    with (run_dir / "pytest.log").open("wb") as log:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *argv[2:]], stdout=log, stderr=subprocess.STDOUT, check=False
        )
    print(f"caas on-cluster: the checks ended (pytest exit code {done.returncode})", flush=True)
    return print_results(run_dir, done.returncode)


def version_refusal(launcher: str, image: str) -> str:
    """Why the runner image's suite (`image`, version.suite_version) must not run for the launching suite
    (`launcher`, from version.ENV), one line with the fix; "" when they are one version. A launcher that
    gave no version (the entry run by hand) is not refused."""
    if not launcher or launcher == image:
        return ""
    return (
        f"the runner image holds suite {image}, the launching suite is {launcher}; an image of other source "
        "gives other verdicts (fix: run `caas images build-runner` in the launching checkout, load or push the "
        "image it writes and give its reference to --runner-image)"
    )


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
