"""A Job's run folder carried in its log, and how it joins the local run folder (pure, local files only).

The Job's container ends by printing its run folder (entry.py) as a gzip-compressed tar, base64 in
lines of 76 characters between a BEGIN line that holds the checks' pytest exit code and an END line.
A pod log is what the Kubernetes API gives of a finished pod without exec or a volume shared with
this machine; the kubelet rotates it at its containerLogMaxSize (10 MiB by default, kubelet
configuration reference) and the API then gives only the newest part, so a Job prints at most
MAX_PRINTED bytes of results (a run's results are tens of kilobytes compressed per product) and prints
one ERROR line instead of larger ones.

Before printing, the Job scans its run folder for secrets as the final scan does (harness.redaction)
and removes the secrets' digests: a digest of a weak password can be guessed, and a container log
outlives its namespace (log aggregators keep it). A folder with a leak is never printed: the Job
prints a LEAKS line with their count and a LEAK line per place (file, line, kind; never the text).

`merge` puts a product's files where a local run of all products would have put them:
allure-results/* (names are UUIDs, never shared by two products), pytest.log appended under a
heading, junit.xml as junit-<product>.xml, environment.json's products joined; anything else under
on-cluster/<product>/. A secrets' digests file is never kept (a runner image of an older suite may
still print one).
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

from harness.redaction import DIGESTS_FILE, Leak

BEGIN = "caas-on-cluster-results-begin"
END = "caas-on-cluster-results-end"
LINE = 76
_BEGIN_LINE = re.compile(rf"^{BEGIN} exit=(-?\d+)$")
ERROR = "caas-on-cluster-error"  # a line the Job prints instead of its results: why it printed none
LEAKS = "caas-on-cluster-leaks"  # `LEAKS count=N`, then a LEAK line per place a secret was found
LEAK = "caas-on-cluster-leak"
_LEAKS_LINE = re.compile(rf"^{LEAKS} count=(\d+)$")
LEAKS_SHOWN = 50  # LEAK lines printed at most, as the local final scan prints
# The kubelet rotates a container's log at containerLogMaxSize, 10Mi by default (kubelet configuration
# reference, KubeletConfiguration.containerLogMaxSize); the results stay below it with room for the lines
# printed before them.
MAX_PRINTED = 8 * 1024 * 1024  # bytes of printed results (base64 text), at most
LAST_SHOWN = 300  # characters of a log's last line shown when it holds no results
ENVIRONMENT_FILE = "environment.json"  # fixtures.run_facts.ENVIRONMENT_FILE
ELSEWHERE = "on-cluster"


class ResultsError(ValueError):
    """A log that holds no complete, readable run folder; `str()` says what is missing."""


class LeaksReported(ResultsError):
    """The Job's scan found secrets in its run folder and printed no results: `count` of them, `places`
    (the first LEAKS_SHOWN, `file:line: kind`, relative to the pod's run folder; never the secret)."""

    def __init__(self, product: str, count: int, places: list[str]) -> None:
        self.count, self.places = count, places
        super().__init__(
            f"{product}: its Job found {count} secret(s) in its run folder and printed no results: " + "; ".join(places)
        )


@dataclass(frozen=True)
class JobResults:
    """What a Job printed: the checks' pytest exit code and its run folder as a tar.gz."""

    exit_code: int
    archive: bytes


def pack(run_dir: Path, exit_code: int) -> str:
    """The text a Job prints: BEGIN with `exit_code`, the run folder's files as base64 tar.gz, END (a
    secrets' digests file left out)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for path in sorted(run_dir.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.name != DIGESTS_FILE:
                tar.add(path, arcname=str(path.relative_to(run_dir)), recursive=False)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    lines = [encoded[i : i + LINE] for i in range(0, len(encoded), LINE)]
    return "\n".join([f"{BEGIN} exit={exit_code}", *lines, END]) + "\n"


def leaks_report(run_dir: Path, leaks: list[Leak]) -> str:
    """What a Job prints instead of its results when its scan found `leaks`: the LEAKS line with their
    count, then the first LEAKS_SHOWN as LEAK lines (file relative to `run_dir`, line, kind)."""
    lines = [f"{LEAKS} count={len(leaks)}"]
    for leak in leaks[:LEAKS_SHOWN]:
        path = Path(str(leak.path).removeprefix(f"{run_dir}/"))
        lines.append(f"{LEAK} {Leak(path, leak.line, leak.kind)}")
    return "\n".join(lines) + "\n"


def too_large(printed: int) -> str:
    """The ERROR line a Job prints instead of `printed` bytes of results above MAX_PRINTED."""
    return (
        f"{ERROR} the results are {printed / 2**20:.1f} MiB, above the {MAX_PRINTED / 2**20:.0f} MiB a pod log "
        "carries whole (the kubelet rotates it at containerLogMaxSize, 10 MiB by default) "
        "(fix: select fewer checks with -k, or run the product locally)"
    )


def unpack(log: str, product: str) -> JobResults:
    """The results in the Job of `product`'s `log` (the last BEGIN..END block). Raises LeaksReported when
    the Job's scan found secrets, ResultsError naming `product` and the likely cause when there is no
    BEGIN line (the Job's ERROR line when it printed one, else the log's last line), no END after it, or
    the block does not decode."""
    lines = [line.strip() for line in log.splitlines()]
    starts = [i for i, line in enumerate(lines) if _BEGIN_LINE.match(line)]
    if not starts:
        leaks = next((m for m in map(_LEAKS_LINE.match, lines) if m), None)
        if leaks is not None:
            places = [line.removeprefix(LEAK).strip() for line in lines if line.startswith(f"{LEAK} ")]
            raise LeaksReported(product, int(leaks.group(1)), places)
        said = next((line.removeprefix(ERROR).strip() for line in lines if line.startswith(f"{ERROR} ")), None)
        if said is not None:
            raise ResultsError(f"{product}: its Job printed no results: {said}")
        last = next((line for line in reversed(lines) if line), "")
        raise ResultsError(
            f"{product}: the Job's log holds no results block (likely: the pod ended before the checks did, "
            "at its deadline, evicted or out of memory, or the kubelet rotated its log at containerLogMaxSize; "
            "see the pytest output above the log's end)" + (f"; its log ends: {last[:LAST_SHOWN]}" if last else "")
        )
    start = starts[-1]
    try:
        end = next(i for i in range(start + 1, len(lines)) if lines[i] == END)
    except StopIteration:
        raise ResultsError(
            f"{product}: the Job's log ends inside its results (likely: the pod stopped while printing them, "
            "or the kubelet rotated its log at containerLogMaxSize)"
        ) from None
    match = _BEGIN_LINE.match(lines[start])
    assert match is not None
    try:
        archive = base64.b64decode("".join(lines[start + 1 : end]), validate=True)
        gzip.decompress(archive)
    except (ValueError, OSError, EOFError) as exc:
        raise ResultsError(f"{product}: the Job's results do not decode: {exc}") from None
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
        elif relative.name == DIGESTS_FILE:
            continue  # never kept beside the reports (a digest of a weak password can be guessed)
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
