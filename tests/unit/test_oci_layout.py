"""The OCI image-layout writer (provisioning.images.oci_layout) that the lab's images and the runner
image share: reproducible bytes, a layer given as bytes or as a file, blobs named by their digests."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from provisioning.images import oci_layout
from provisioning.lab import images

# sha256 of images.oci_archive(images.PROBE, b"layer bytes") as the lab wrote it before the writer was
# shared: pods name the lab images by digest, so the archive's bytes must not move.
PROBE_ARCHIVE_SHA256 = "3a20298b68a0ac566c07c91b4464949540db7c9bad7de710e10a86eac7a58274"
CONFIG = {"Entrypoint": ["/bin/true"], "User": "65532:65532", "WorkingDir": "/"}


def test_the_lab_archive_keeps_its_bytes() -> None:
    archive = images.oci_archive(images.PROBE, b"layer bytes")
    assert hashlib.sha256(archive).hexdigest() == PROBE_ARCHIVE_SHA256


def test_a_layer_file_gives_the_same_archive_as_its_bytes(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"a layer" * 1000)
    from_bytes, from_file = io.BytesIO(), io.BytesIO()
    digest = oci_layout.write(from_bytes, layer.read_bytes(), CONFIG, "caas.local/x/y:1")
    assert oci_layout.write(from_file, layer, CONFIG, "caas.local/x/y:1") == digest
    assert from_file.getvalue() == from_bytes.getvalue()
    assert oci_layout.layer_digest(layer) == oci_layout.layer_digest(layer.read_bytes())


def test_every_blob_is_named_by_its_digest_and_the_index_names_the_image() -> None:
    target = io.BytesIO()
    digest = oci_layout.write(target, b"layer", CONFIG, "caas.local/x/runner:abc")
    target.seek(0)
    with tarfile.open(fileobj=target) as tar:
        blobs = {m.name.rsplit("/", 1)[-1]: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
        contents = {name: handle.read() for name, handle in blobs.items() if handle is not None}
    for name in set(contents) - {"oci-layout", "index.json"}:
        assert hashlib.sha256(contents[name]).hexdigest() == name
    index = json.loads(contents["index.json"])
    assert index["manifests"][0]["digest"] == digest
    assert index["manifests"][0]["annotations"] == {
        "io.containerd.image.name": "caas.local/x/runner:abc",
        "org.opencontainers.image.ref.name": "abc",
    }
    manifest = json.loads(contents[digest.removeprefix("sha256:")])
    config = json.loads(contents[manifest["config"]["digest"].removeprefix("sha256:")])
    assert config["config"] == CONFIG
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]] == [oci_layout.layer_digest(b"layer")]
