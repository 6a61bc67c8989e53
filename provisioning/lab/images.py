"""Container images built locally as OCI image-layout archives, without a registry or Docker.

Each image is one uncompressed layer written with `tarfile` (fixed owners and
times, so the same inputs give the same digest) and imported into every node's
containerd with `ctr -n k8s.io images import`: the system images on every node, the suite's (busybox,
probe) too unless the cluster is bare. A bare cluster's nodes pull the suite's images from a registry
(provisioning.lab.registry, `caas images push`).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.images import oci_layout
from provisioning.model.pods import NONROOT_UID

BUSYBOX = Path("/bin/busybox")


@dataclass(frozen=True)
class LabImage:
    """An image: which lab binaries and host files go where, and how it starts."""

    reference: str  # full name, e.g. caas.local/lab/busybox:1.0
    binaries: dict[str, str] = field(default_factory=dict)  # path in image -> lab bin name
    with_busybox: bool = False
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""

    @property
    def archive_name(self) -> str:
        return self.reference.rsplit("/", 1)[-1].replace(":", "-") + ".tar"


# The runner image `caas images build-runner` writes (provisioning/oncluster/runner_image.py) is named here,
# with the lab's images: the name is held by no registry, so only the nodes of a lab cluster that imported the
# archive can start it; any other management cluster is given a pushed image's --runner-image.
RUNNER_REPOSITORY = "caas.local/caas/runner"

PAUSE = LabImage("caas.local/lab/pause:1.0", binaries={"pause": "pause"}, entrypoint=("/pause",))
BUSYBOX_IMAGE = LabImage("caas.local/lab/busybox:1.0", with_busybox=True, cmd=("sh",))
PROBE = LabImage(
    "caas.local/lab/probe:1.0",
    binaries={"usr/local/bin/caas-probe": "caas-probe"},
    with_busybox=True,
    entrypoint=("/usr/local/bin/caas-probe",),
    cmd=("serve",),
    user=f"{NONROOT_UID}:{NONROOT_UID}",
)
# The lab's own readiness check (a pod that resolves kubernetes.default): the cluster's image, not the suite's.
READINESS = LabImage("caas.local/lab/readiness:1.0", with_busybox=True, cmd=("sh",))
LAB_IMAGES: tuple[LabImage, ...] = (PAUSE, READINESS, BUSYBOX_IMAGE, PROBE)
# What every lab node gets preloaded, also on a bare cluster: the pod sandbox and the readiness check.
SYSTEM_IMAGES: tuple[LabImage, ...] = (PAUSE, READINESS)


def _busybox_applets() -> list[str]:
    listing = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True, timeout=30)
    return sorted(a for a in listing.stdout.split() if a and a != "busybox")


def _add(
    tar: tarfile.TarFile,
    name: str,
    *,
    data: bytes | None = None,
    mode: int = 0o644,
    kind: bytes = tarfile.REGTYPE,
    link: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.uid, info.gid, info.type = mode, 0, 0, 0, kind
    if kind == tarfile.SYMTYPE:
        info.linkname = link
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def layer_bytes(image: LabImage, bin_dir: Path) -> bytes:
    """The image's single root-filesystem layer as an uncompressed, reproducible tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = {"etc", "tmp", "bin", "usr", "usr/local", "usr/local/bin"}
        for directory in sorted(directories):
            _add(tar, directory, mode=0o1777 if directory == "tmp" else 0o755, kind=tarfile.DIRTYPE)
        _add(
            tar,
            "etc/passwd",
            data=f"root:x:0:0:root:/:/bin/sh\nnonroot:x:{NONROOT_UID}:{NONROOT_UID}::/tmp:/bin/sh\n".encode(),
        )
        _add(tar, "etc/group", data=f"root:x:0:\nnonroot:x:{NONROOT_UID}:\n".encode())
        if image.with_busybox:
            _add(tar, "bin/busybox", data=BUSYBOX.read_bytes(), mode=0o755)
            for applet in _busybox_applets():
                _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        for target, source in sorted(image.binaries.items()):
            _add(tar, target, data=(bin_dir / source).read_bytes(), mode=0o755)
    return buffer.getvalue()


def oci_archive(image: LabImage, layer: bytes) -> bytes:
    """An OCI image layout (oci-layout, index.json, blobs) holding one image, as a tar
    (provisioning.images.oci_layout: the same image and layer always give the same bytes)."""
    config = {
        "Entrypoint": list(image.entrypoint) or None,
        "Cmd": list(image.cmd) or None,
        "Env": ["PATH=/usr/local/bin:/bin"],
        "User": image.user,
        "WorkingDir": "/",
    }
    buffer = io.BytesIO()
    oci_layout.write(buffer, layer, config, image.reference)
    return buffer.getvalue()


def build_image(image: LabImage, bin_dir: Path, image_dir: Path) -> bool:
    """Write the image archive unless an identical one exists; True if it was (re)written."""
    image_dir.mkdir(parents=True, exist_ok=True)
    archive = oci_archive(image, layer_bytes(image, bin_dir))
    target = image_dir / image.archive_name
    if target.exists() and target.read_bytes() == archive:
        return False
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(archive)
    tmp.replace(target)
    return True
