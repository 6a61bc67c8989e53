"""Loop devices a lab cluster leaves attached: its Block volumes' devices and the kubelet's locks on them.

The lab's provisioner backs a Block volume with a loop device over a file in the cluster's `volumes/`;
the kubelet holds each device it maps into a pod with a loop device of its own over the device node
(its "lock", pkg/volume/util/volumepathhandler). A cluster killed while such a volume is still mapped
leaves both attached, holding the deleted file's blocks: `detach_under` detaches them, the locks first.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LOSETUP_TIMEOUT = 10.0  # seconds per losetup call


def _key(ino: Any, major_minor: Any) -> tuple[int, str]:
    return int(ino), str(major_minor).strip()


def to_detach(
    devices: Sequence[Mapping[str, Any]], directory: Path, device_ids: Mapping[str, tuple[int, str]]
) -> list[str]:
    """The loop devices to detach, in order (pure): those whose backing file is under `directory`, after
    the loop devices over their device nodes. `devices` are `losetup --list --json` entries (name,
    back-file, back-ino, back-maj:min); `device_ids` maps a device node to its (inode, "major:minor" of
    the filesystem holding it), as `os.stat` gives them."""
    prefix = f"{directory}/"
    data = [d["name"] for d in devices if str(d.get("back-file") or "").startswith(prefix)]
    nodes = {device_ids[name] for name in data if name in device_ids}
    locks = [
        d["name"]
        for d in devices
        if d["name"] not in data
        and d.get("back-ino") is not None
        and _key(d["back-ino"], d.get("back-maj:min")) in nodes
    ]
    return locks + data


def _listed() -> list[dict[str, Any]]:
    try:
        out = subprocess.run(
            ["losetup", "--list", "--json", "--output", "NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN"],
            capture_output=True,
            text=True,
            check=True,
            timeout=LOSETUP_TIMEOUT,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []  # no losetup, or no loop support: nothing the lab could have attached
    return list(json.loads(out)["loopdevices"]) if out.strip() else []


def _device_id(node: str) -> tuple[int, str] | None:
    try:
        found = os.stat(node)
    except OSError:
        return None
    return found.st_ino, f"{os.major(found.st_dev)}:{os.minor(found.st_dev)}"


def detach_under(directory: Path) -> list[str]:
    """Detach the loop devices over files under `directory` and the loop devices over those; the names
    detached (a device still open is detached on its last close: losetup's autoclear). Never raises: a
    device that will not detach is left and not named, as teardown goes on regardless."""
    devices = _listed()
    ids = {d["name"]: i for d in devices if (i := _device_id(d["name"])) is not None}
    detached = []
    for name in to_detach(devices, directory, ids):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["losetup", "--detach", name], capture_output=True, check=True, timeout=LOSETUP_TIMEOUT)
            detached.append(name)
    return detached
