"""One container image of one uncompressed layer, written as a tar of an OCI image layout (OCI image
spec v1.0, image-layout.md): `blobs/sha256/<hex>` for the layer, the image config and the manifest,
then `oci-layout` and `index.json`, whose one manifest is annotated with the image's reference.
`ctr images import` and skopeo's `oci-archive:` read it as it is.

Every member has owner 0, time 0 and mode 0644 (directories 0755), and every JSON document has sorted
keys, so the same layer, config and reference always give the same bytes and digests: the lab's image
archives (provisioning.lab.images) are rewritten only when their content changes, and pods name them by
the manifest's digest (provisioning.images.refs).

Why our own writer: the Python packages that know the OCI specs do not write this. opencontainers
models the spec's documents and talks to registries, but writes no layout; pyoci builds images of a
Python project on a base image pulled from a registry. Neither takes a given layer and writes an
archive byte for byte as above (which the lab images' pinned digests depend on), and the format is a
handful of JSON documents and tar members.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
_CHUNK = 1 << 20  # bytes read at a time when hashing a layer file


def _member(tar: tarfile.TarFile, name: str, data: bytes | None = None, *, kind: bytes = tarfile.REGTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime, info.uid, info.gid, info.type = 0, 0, 0, kind
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _blob(tar: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    _member(tar, f"blobs/sha256/{digest}", data)
    return f"sha256:{digest}"


def layer_digest(layer: bytes | Path) -> str:
    """The SHA-256 digest (`sha256:<hex>`) of a layer given as bytes or as a file (read in 1 MiB chunks).
    Raises OSError if the file cannot be read."""
    if isinstance(layer, bytes):
        return f"sha256:{hashlib.sha256(layer).hexdigest()}"
    digest = hashlib.sha256()
    with layer.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def write(target: IO[bytes], layer: bytes | Path, config: Mapping[str, Any], reference: str) -> str:
    """Write an OCI image layout holding one linux/amd64 image to `target` (a binary file open for
    writing) as a tar, and return its manifest's digest (`sha256:<hex>`).

    `layer` is the image's one uncompressed layer tar, as bytes or as a file (streamed, not read into
    memory); `config` is the image config's `config` object (Entrypoint, Cmd, Env, User, WorkingDir as
    the image spec names them); `reference` is the image's full name (`host/path/name:tag`), written
    as index.json's `io.containerd.image.name` and, its tag, `org.opencontainers.image.ref.name`.
    Raises OSError if the layer file cannot be read or `target` written."""
    diff_id = layer_digest(layer)
    size = len(layer) if isinstance(layer, bytes) else layer.stat().st_size
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": dict(config),
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    with tarfile.open(fileobj=target, mode="w") as tar:
        _member(tar, "blobs", kind=tarfile.DIRTYPE)
        _member(tar, "blobs/sha256", kind=tarfile.DIRTYPE)
        if isinstance(layer, bytes):
            _blob(tar, layer)
        else:
            info = tarfile.TarInfo(f"blobs/sha256/{diff_id.removeprefix('sha256:')}")
            info.size = size
            with layer.open("rb") as handle:
                tar.addfile(info, handle)
        config_bytes = json.dumps(image_config, sort_keys=True).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": _blob(tar, config_bytes), "size": len(config_bytes)},
            "layers": [{"mediaType": LAYER_TYPE, "digest": diff_id, "size": size}],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = _blob(tar, manifest_bytes)
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": MANIFEST_TYPE,
                    "digest": manifest_digest,
                    "size": len(manifest_bytes),
                    "annotations": {
                        "io.containerd.image.name": reference,
                        "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[-1],
                    },
                }
            ],
        }
        _member(tar, "oci-layout", LAYOUT)
        _member(tar, "index.json", json.dumps(index, sort_keys=True).encode())
    return manifest_digest
