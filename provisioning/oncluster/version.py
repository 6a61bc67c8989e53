"""The suite's version as a runner image holds it: pyproject's [project] version and a hash of the source
the image copies, e.g. `0.1.0+src.3f2a9c0d1b7e` (reads files only).

pyproject's version names a release, not a commit: two checkouts of one release can judge a product
differently, and a runner image judges with the source it copied when it was built. The hash covers
exactly what runner_image copies (SOURCE_FOLDERS without `__pycache__` and `*.pyc`, SOURCE_FILES), by
relative path and content, so a checkout and the image built from it (its SOURCE_ROOT) give one value
and any difference in that source gives another. `caas run --on-cluster` passes its own in the Job's
ENV (harness/oncluster/entry.py refuses to run when the image's differs); `caas images build-runner`
writes it as the image's `org.opencontainers.image.version` label.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

# the suite's source a runner image copies under its SOURCE_ROOT (runner_image.py): a run needs `steps/`
# and `features/`, which the suite's wheel does not hold (pyproject's packages.find)
SOURCE_FOLDERS = ("harness", "provisioning", "checks", "reports", "fixtures", "steps", "features")
SOURCE_FILES = ("conftest.py", "pyproject.toml")
ENV = "CAAS_SUITE_VERSION"  # the launching suite's version, in a Job's container environment
LABEL = "org.opencontainers.image.version"  # OCI image spec, annotations/labels: the packaged software's version
_HASH_DIGITS = 12


def source_files(source: Path) -> list[str]:
    """The files of the suite at `source` that a runner image copies, relative POSIX paths, sorted."""
    found = [name for name in SOURCE_FILES if (source / name).is_file()]
    for folder in SOURCE_FOLDERS:
        for path in (source / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.append(path.relative_to(source).as_posix())
    return sorted(found)


def suite_version(source: Path) -> str:
    """`<[project] version>+src.<12 hex digits>` of the suite at `source` (a checkout, or a runner image's
    SOURCE_ROOT): SHA-256 over each copied file's relative path and content. Raises OSError when
    pyproject.toml cannot be read, KeyError when it names no [project] version."""
    release = tomllib.loads((source / "pyproject.toml").read_text())["project"]["version"]
    digest = hashlib.sha256()
    for name in source_files(source):
        content = (source / name).read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return f"{release}+src.{digest.hexdigest()[:_HASH_DIGITS]}"
