"""A Job's run folder carried in its log, and how it joins the local run folder (pure, local files only).

The Job's container ends by printing its run folder (entry.py) as a gzip-compressed tar, base64 in
lines of 76 characters between a BEGIN line that holds the checks' pytest exit code and an END line.
A pod log is what the Kubernetes API gives of a finished pod without exec or a volume shared with
this machine; the kubelet keeps up to its containerLogMaxSize of it (10 MiB by default), far above a
run's results (tens of kilobytes compressed per product).

`merge` puts a product's files where a local run of all products would have put them:
allure-results/* (names are UUIDs, never shared by two products), pytest.log appended under a
heading, junit.xml as junit-<product>.xml, the secrets' digests joined (the final scan needs them),
environment.json's products joined; anything else under on-cluster/<product>/.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

BEGIN = "caas-on-cluster-results-begin"
END = "caas-on-cluster-results-end"
LINE = 76
_BEGIN_LINE = re.compile(rf"^{BEGIN} exit=(-?\d+)$")
DIGESTS_FILE = "secret-digests.txt"  # harness.redaction.DIGESTS_FILE
ENVIRONMENT_FILE = "environment.json"  # fixtures.run_facts.ENVIRONMENT_FILE
ELSEWHERE = "on-cluster"


class ResultsError(ValueError):
    """A log that holds no complete, readable run folder; `str()` says what is missing."""


@dataclass(frozen=True)
class JobResults:
    """What a Job printed: the checks' pytest exit code and its run folder as a tar.gz."""

    exit_code: int
    archive: bytes


def pack(run_dir: Path, exit_code: int) -> str:
    """The text a Job prints: BEGIN with `exit_code`, the run folder's files as base64 tar.gz, END."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for path in sorted(run_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=str(path.relative_to(run_dir)), recursive=False)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    lines = [encoded[i : i + LINE] for i in range(0, len(encoded), LINE)]
    return "\n".join([f"{BEGIN} exit={exit_code}", *lines, END]) + "\n"


def unpack(log: str) -> JobResults:
    """The results in a Job's `log` (the last BEGIN..END block). Raises ResultsError when there is no
    BEGIN line, no END after it (the log was cut: the pod ended early or the kubelet rotated the log), or
    the block does not decode."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if _BEGIN_LINE.match(line.strip())]
    if not starts:
        raise ResultsError("the Job's log has no results (it ended before the checks did)")
    start = starts[-1]
    try:
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == END)
    except StopIteration:
        raise ResultsError("the Job's log ends inside its results (the pod stopped, or its log was cut)") from None
    match = _BEGIN_LINE.match(lines[start].strip())
    assert match is not None
    try:
        archive = base64.b64decode("".join(line.strip() for line in lines[start + 1 : end]), validate=True)
        gzip.decompress(archive)
    except (ValueError, OSError, EOFError) as exc:
        raise ResultsError(f"the Job's results do not decode: {exc}") from None
    return JobResults(int(match.group(1)), archive)


def extract(archive: bytes, directory: Path) -> list[Path]:
    """Write the regular files of `archive` under `directory`; their paths, relative. Raises
    ResultsError for a member that is not a regular file or that names a path outside `directory`."""
    written: list[Path] = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            relative = Path(member.name)
            if not member.isfile() or relative.is_absolute() or ".." in relative.parts:
                raise ResultsError(f"the Job's results hold {member.name!r}, which is no file inside a run folder")
            source = tar.extractfile(member)
            assert source is not None
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
            written.append(relative)
    return written


def merge(run_dir: Path, product: str, extracted: Path, files: list[Path]) -> None:
    """Join a product's extracted run folder (`files` relative to `extracted`) into `run_dir`; see the
    module docstring for where each file goes."""
    for relative in files:
        source = extracted / relative
        head = relative.parts[0]
        if head == "allure-results" and len(relative.parts) == 2:
            target = run_dir / relative
            if target.exists():
                raise ResultsError(f"{relative} of {product} is already in {run_dir} (two Jobs wrote one result)")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        elif relative == Path("pytest.log"):
            with (run_dir / "pytest.log").open("ab") as log:
                log.write(f"\n===== {product}: the checks' pytest log from its Job =====\n".encode())
                log.write(source.read_bytes())
        elif relative == Path("junit.xml"):
            shutil.copyfile(source, run_dir / f"junit-{product}.xml")
        elif relative == Path(DIGESTS_FILE):
            known = set((run_dir / DIGESTS_FILE).read_text().split()) if (run_dir / DIGESTS_FILE).exists() else set()
            known |= set(source.read_text().split())
            (run_dir / DIGESTS_FILE).write_text("".join(f"{d}\n" for d in sorted(known)))
        elif relative == Path(ENVIRONMENT_FILE):
            _merge_environment(run_dir / ENVIRONMENT_FILE, source)
        else:
            target = run_dir / ELSEWHERE / product / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _merge_environment(target: Path, source: Path) -> None:
    """environment.json's `products` of both; other keys of the first one written."""
    theirs = json.loads(source.read_text())
    ours = json.loads(target.read_text()) if target.exists() else {}
    merged = {**theirs, **ours}
    merged["products"] = {**(theirs.get("products") or {}), **(ours.get("products") or {})}
    target.write_text(json.dumps(merged, indent=1, sort_keys=True))
