"""The runner image: Debian's Python and skopeo, the suite's source and its dependencies, and the lab's
probe, written as an OCI image-layout archive without Docker or a registry pull.

Its one layer is built in a scratch folder:

- Debian packages (DEBIAN_PACKAGES), fetched with `apt-get download` and unpacked with `dpkg-deb -x`:
  the Python 3.11 interpreter and standard library, skopeo (the private-image check copies the probe
  image into a tenant's repository), and the shared libraries they and the dependencies' compiled
  wheels link against (found with `ldd` on this machine and named here, so the list is fixed and
  reviewable; maintainer scripts are not run: none of these needs one to work).
- the suite's source (version.SOURCE_FOLDERS and SOURCE_FILES) under SOURCE_ROOT: a run needs `steps/`
  and `features/`, which the suite's wheel does not hold (pyproject's packages.find).
- the suite's dependencies (pyproject's [project] dependencies) installed by `pip install --target` into
  DEPENDENCIES (wheels for CPython 3.11 on manylinux x86_64, the interpreter's ABI).
- the lab's probe binary and the suite's image archives under LAB_HOME (the outside probe and the
  private-image check read them where a lab home keeps them).

The image is labelled with the suite's version (version.py: pyproject's version and a hash of the
copied source), which a Job's entry compares with the launching suite's. Owners are root, times 0,
set-id bits dropped; the archive's image reference is the lab's runner name
(provisioning.lab.images.RUNNER_REPOSITORY) tagged with the layer's first 12 hex digits of SHA-256, so a
changed image is a new reference and `imagePullPolicy: IfNotPresent` never runs a stale one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfrastructureError
from provisioning.images import oci_layout
from provisioning.lab.images import RUNNER_REPOSITORY
from provisioning.oncluster.manifests import ENTRY_MODULE
from provisioning.oncluster.version import LABEL, SOURCE_FILES, SOURCE_FOLDERS, suite_version

SOURCE_ROOT = "opt/caas"
DEPENDENCIES = "opt/caas-deps"
LAB_HOME = "var/lib/caas-lab"  # provisioning.lab.home_env.DEFAULT_LAB_HOME, inside the image
PYTHONPATH = f"/{SOURCE_ROOT}:/{DEPENDENCIES}"
PYTHON = "/usr/bin/python3.11"
DEBIAN_PACKAGES = (
    # the interpreter and its standard library
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "media-types",
    "netbase",
    "skopeo",
    # what they and the compiled wheels link against (ldd of python3.11, lib-dynload, skopeo, the wheels' .so)
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "zlib1g",
    "libexpat1",
    "libssl3",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libcrypt1",
    "libdb5.3",
    "libncursesw6",
    "libtinfo6",
    "libreadline8",
    "libsqlite3-0",
    "libuuid1",
    "libnsl2",
    "libtirpc3",
    "libgssapi-krb5-2",
    "libkrb5-3",
    "libk5crypto3",
    "libkrb5support0",
    "libkeyutils1",
    "libcom-err2",
    "libgpgme11",
    "libassuan0",
    "libgpg-error0",
    "libdevmapper1.02.1",
    "libselinux1",
    "libpcre2-8-0",
    "libudev1",
)
SUITE_ARCHIVES = ("busybox-1.0.tar", "probe-1.0.tar")
# usrmerge, as Debian's installer lays it out (packages put their files under /usr)
MERGED = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
POLICY = b'{"default": [{"type": "insecureAcceptAnything"}]}\n'  # Debian containers-common's default
COMMAND_TIMEOUT = 900.0  # seconds for one apt-get, dpkg-deb or pip step
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunnerImage:
    """A written runner image: its archive, its reference and the layer's size in bytes."""

    archive: Path
    reference: str
    layer_bytes: int


def _run(argv: list[str], cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError:
        raise InfrastructureError(f"{argv[0]} is not installed (the runner image is built on Debian)") from None
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"`{' '.join(argv[:3])}` did not finish within {COMMAND_TIMEOUT:g}s") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[-1]
        raise InfrastructureError(f"`{' '.join(argv[:3])} ...` failed: {last}")


def dependencies(pyproject: Path) -> list[str]:
    """The [project] dependencies of `pyproject` (requirement strings, as pip takes them)."""
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def _debian(root: Path, scratch: Path, packages: Iterable[str]) -> None:
    downloads = scratch / "debs"
    downloads.mkdir()
    _run(["apt-get", "download", *packages], cwd=downloads)
    for deb in sorted(downloads.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(root)])


def _source(root: Path, source: Path) -> None:
    target = root / SOURCE_ROOT
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in SOURCE_FOLDERS:
        shutil.copytree(source / folder, target / folder, ignore=ignored, symlinks=False)
    for name in SOURCE_FILES:
        shutil.copyfile(source / name, target / name)


def _lab(root: Path, lab_home: Path) -> None:
    (root / LAB_HOME / "bin").mkdir(parents=True)
    (root / LAB_HOME / "images").mkdir()
    shutil.copy2(lab_home / "bin" / "caas-probe", root / LAB_HOME / "bin" / "caas-probe")
    for name in SUITE_ARCHIVES:
        shutil.copyfile(lab_home / "images" / name, root / LAB_HOME / "images" / name)


def _finish(root: Path) -> None:
    for link, target in MERGED.items():
        if not (root / link).exists() and not (root / link).is_symlink():
            (root / target).mkdir(parents=True, exist_ok=True)
            (root / link).symlink_to(target)
    (root / "usr/bin/python3").unlink(missing_ok=True)
    (root / "usr/bin/python3").symlink_to("python3.11")
    (root / "etc/containers").mkdir(parents=True, exist_ok=True)
    (root / "etc/containers/policy.json").write_bytes(POLICY)
    for scratch in ("tmp", "var/tmp"):
        (root / scratch).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/false\nnonroot:x:65532:65532::/tmp:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnonroot:x:65532:\n")


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode &= 0o1777  # no set-uid or set-gid bit
    if info.name in ("tmp", "var/tmp"):
        info.mode = 0o1777
    return info


def write_layer(root: Path, layer: Path) -> str:
    """Tar `root` into `layer` (sorted, normalized, uncompressed); its diff id (`sha256:<hex>`)."""
    with tarfile.open(layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*"), key=lambda p: str(p.relative_to(root))):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False, filter=_normalized)
    return oci_layout.layer_digest(layer)


def write_archive(layer: Path, diff_id: str, archive: Path, version: str) -> str:
    """An OCI image layout holding one image of `layer` (diff id `diff_id`) at `archive`
    (provisioning.images.oci_layout), labelled with the suite's `version` (version.suite_version); its
    reference."""
    reference = f"{RUNNER_REPOSITORY}:{diff_id.removeprefix('sha256:')[:12]}"
    config = {
        "Entrypoint": [PYTHON, "-m", ENTRY_MODULE],
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHONPATH={PYTHONPATH}", "HOME=/tmp", "TMPDIR=/tmp"],
        "User": "65532:65532",
        "WorkingDir": f"/{SOURCE_ROOT}",
        "Labels": {LABEL: version},
    }
    with archive.open("wb") as handle:
        oci_layout.write(handle, layer, config, reference)
    return reference


def reference_of(archive: Path) -> str:
    """The image reference a runner archive names (its index's io.containerd.image.name). Raises
    InfrastructureError for a file that is no such archive."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("index.json")
            index = json.loads(member.read()) if member is not None else {}
        return str(index["manifests"][0]["annotations"]["io.containerd.image.name"])
    except (OSError, KeyError, IndexError, ValueError, tarfile.TarError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]  # tarfile lists one line per method tried
        raise InfrastructureError(
            f"{archive} is no runner image archive ({first}; fix: caas images build-runner)"
        ) from None


def build(source: Path, lab_home: Path, archive: Path, say: Say = lambda _m: None) -> RunnerImage:
    """Build the runner image of the suite at `source` (a checkout), with the probe and image archives of
    `lab_home` (`caas lab build` writes them), into `archive`. Raises InfrastructureError when a step
    fails (apt-get, dpkg-deb, pip) or a lab file is missing."""
    missing = [
        p
        for p in (lab_home / "bin" / "caas-probe", *(lab_home / "images" / n for n in SUITE_ARCHIVES))
        if not p.exists()
    ]
    if missing:
        raise InfrastructureError(f"{', '.join(map(str, missing))} missing (fix: caas lab build)")
    with tempfile.TemporaryDirectory(prefix="caas-runner-") as scratch_name:
        scratch = Path(scratch_name)
        root = scratch / "root"
        root.mkdir()
        say(f"runner image: {len(DEBIAN_PACKAGES)} Debian packages (apt-get download, dpkg-deb -x)")
        _debian(root, scratch, DEBIAN_PACKAGES)
        say("runner image: the suite's dependencies (pip install --target)")
        _run(
            [
                sys.executable,
                *("-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"),
                *("--target", str(root / DEPENDENCIES)),
                *("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"),
                *("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--only-binary=:all:"),
                *dependencies(source / "pyproject.toml"),
            ]
        )
        _source(root, source)
        _lab(root, lab_home)
        _finish(root)
        say("runner image: writing the layer and the archive")
        layer = scratch / "layer.tar"
        diff_id = write_layer(root, layer)
        archive.parent.mkdir(parents=True, exist_ok=True)
        written = archive.with_name(f".{archive.name}.partial")
        reference = write_archive(layer, diff_id, written, suite_version(source))
        written.replace(archive)
        return RunnerImage(archive, reference, layer.stat().st_size)
