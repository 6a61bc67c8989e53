"""`caas lab build`: compile the lab's Go programs and build its images, idempotently.

Each output carries a stamp: the hash of everything it is built from (Go
version, wrapper module files, flags). A warm build only hashes and compares.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfrastructureError
from provisioning.lab import images
from provisioning.lab.components import CNI_BIN_DIR, CNI_PLUGINS, GO_PROGRAMS, HOST_PACKAGES, GoProgram

GO_SOURCES = Path(__file__).parent / "go"
Report = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    built: tuple[str, ...]
    up_to_date: tuple[str, ...]
    seconds: float


def check_host_packages() -> None:
    """Fail with one line naming what is missing and the apt-get command that installs it."""
    missing = sorted({pkg for prog, pkg in HOST_PACKAGES.items() if shutil.which(prog) is None})
    missing += ["containernetworking-plugins"] if any(not (Path(CNI_BIN_DIR) / p).exists() for p in CNI_PLUGINS) else []
    if missing:
        raise InfrastructureError(
            f"the lab needs Debian packages that are not installed: {', '.join(missing)} "
            f"(fix: apt-get install -y {' '.join(missing)})"
        )
    if shutil.which("go") is None:
        raise InfrastructureError("the lab is built with Go, which is not on PATH (fix: install Go 1.24 or newer)")


def _go_version() -> str:
    return subprocess.run(["go", "version"], capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def program_stamp(program: GoProgram, go_version: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{go_version}\n{program.package}\n{program.version}\n{program.ldflags}\n".encode())
    module = GO_SOURCES / program.module_dir
    for path in sorted(module.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(path.relative_to(module).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_current(output: Path, stamp: str) -> bool:
    stamp_file = output.with_name(f".{output.name}.stamp")
    return output.exists() and stamp_file.exists() and stamp_file.read_text() == stamp


def _write_stamp(output: Path, stamp: str) -> None:
    output.with_name(f".{output.name}.stamp").write_text(stamp)


def build_program(program: GoProgram, bin_dir: Path, go_version: str, environment: Mapping[str, str]) -> bool:
    """Build one program unless its stamp is current; True if it was built."""
    output = bin_dir / program.name
    stamp = program_stamp(program, go_version)
    if _is_current(output, stamp):
        return False
    ldflags = " ".join(("-s", "-w", *program.ldflags))
    command = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(output) + ".tmp", program.package]
    # GOPATH, GOCACHE and GOPROXY stay where the environment puts them, so warm builds reuse the cache.
    env = {**environment, "CGO_ENABLED": "0"}
    result = subprocess.run(  # noqa: PLW1510 - checked below with the output in the error
        command, cwd=GO_SOURCES / program.module_dir, env=env, capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise InfrastructureError(
            f"building {program.name} failed: (cd {GO_SOURCES / program.module_dir} && {' '.join(command)}):\n{tail}"
        )
    Path(str(output) + ".tmp").replace(output)
    _write_stamp(output, stamp)
    return True


def build_all(lab_home: Path, environment: Mapping[str, str], report: Report = lambda _msg: None) -> BuildResult:
    """Build every Go program and image the lab needs; a no-op when all are current."""
    started = time.monotonic()
    check_host_packages()
    bin_dir = lab_home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    go_version = _go_version()
    built: list[str] = []
    current: list[str] = []
    for program in GO_PROGRAMS:
        report(f"go build {program.name} {program.version}")
        (built if build_program(program, bin_dir, go_version, environment) else current).append(program.name)
    for image in images.LAB_IMAGES:
        report(f"image {image.reference}")
        (built if images.build_image(image, bin_dir, lab_home / "images") else current).append(image.reference)
    return BuildResult(tuple(built), tuple(current), time.monotonic() - started)
