"""The raw-device remnant engine (issue 21, storage identity): its manifests, its shell commands run on a
file standing in for the device, how a read is judged, and the verdict through the requirement table."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from checks.matrix import Cell
from checks.storage import block_remnants as br
from checks.verdicts import requirement_comparison
from provisioning.kube import client as kube


def _on(path: Path, command: list[str]) -> str:
    """Run the engine's `sh -c` command with `path` in place of the pod's device."""
    script = command[2].replace(br.DEVICE, str(path))
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True, timeout=10).stdout


def test_a_block_claim_and_its_pod_ask_for_a_raw_device() -> None:
    claim = br.block_claim_manifest("c", "red", "run", "cls")
    assert claim["spec"]["volumeMode"] == "Block"
    assert claim["spec"]["storageClassName"] == "cls"
    container = br.block_pod_manifest("p", "red", "run", "c")["spec"]["containers"][0]
    assert container["volumeDevices"] == [{"name": "data", "devicePath": br.DEVICE}]
    assert "volumeMounts" not in container


def test_the_marker_written_is_read_back_from_the_device(tmp_path: Path) -> None:
    device = tmp_path / "device"
    device.write_bytes(b"\0" * 4096)
    marker = br.new_marker()
    shown = _on(device, br.write_command(marker))
    assert len(shown) == br.READ_BYTES
    assert shown.startswith(marker)
    assert device.stat().st_size == 4096  # conv=notrunc: the device is not cut to the marker
    assert _on(device, br.READ_COMMAND) == shown


def test_a_zeroed_device_reads_as_dots_without_the_marker(tmp_path: Path) -> None:
    device = tmp_path / "device"
    device.write_bytes(b"\0" * 4096)
    shown = _on(device, br.READ_COMMAND)
    assert shown == "." * br.READ_BYTES
    assert br.judge_read(br.new_marker(), False, shown)[0] is Cell.ALLOWED
    assert br.judge_read_worked(shown)[0] is Cell.ALLOWED


def test_only_a_shell_safe_marker_is_written() -> None:
    with pytest.raises(ValueError, match="only"):
        br.write_command("x; rm -rf /")


def test_the_writer_needs_its_marker_and_anyone_else_must_not_find_it() -> None:
    marker = br.new_marker()
    assert br.judge_read(marker, True, marker + "...")[0] is Cell.ALLOWED
    assert br.judge_read(marker, True, "." * 64)[0] is Cell.DENIED
    assert br.judge_read(marker, False, marker + "...")[0] is Cell.DENIED
    # the random part alone is the tenant's data too (a provisioner that cut the first bytes)
    assert br.judge_read(marker, False, "......" + marker[len(br.MARKER_PREFIX) :])[0] is Cell.DENIED
    assert br.judge_read_worked("short")[0] is Cell.DENIED


class _Workspace:
    """Enough of checks.storage.volumes.Workspace for remnant_row: the reader's output, or a failure."""

    def __init__(self, shown: str | Exception) -> None:
        self.tenancy = SimpleNamespace(run_id="run")
        self.shown = shown

    def create_claim(self, tenant: str, manifest: dict[str, Any]) -> None:
        pass

    def wait_bound(self, tenant: str, name: str, timeout: float) -> None:
        pass

    def run_pod(self, tenant: str, manifest: dict[str, Any]) -> None:
        pass

    def run(self, tenant: str, pod: str, command: list[str]) -> str:
        if isinstance(self.shown, Exception):
            raise self.shown
        return self.shown


def _verdict(written: br.WrittenDevice, shown: str | Exception) -> tuple[dict[str, Cell], bool, bool]:
    table = br.remnant_row(_Workspace(shown), written, "blue", 30.0)  # type: ignore[arg-type]
    comparison = requirement_comparison(table, br.controls(table.rows[0]))
    row = table.rows[0]
    cells = {c: comparison.observed[row, c] for c in table.columns}
    return cells, bool(comparison.mismatches), bool(comparison.incomplete)


def _written(read_back: str) -> br.WrittenDevice:
    return br.WrittenDevice("red", "c", "p", "pv-1", "cls", "caas-remnant-" + "ab" * 16, read_back)


def test_the_old_marker_on_the_new_device_fails_the_check() -> None:
    written = _written("caas-remnant-" + "ab" * 16 + "." * 19)
    cells, failed, _ = _verdict(written, written.read_back)
    assert cells[br.NO_REMNANT] is Cell.DENIED
    assert failed


def test_a_clean_new_device_passes() -> None:
    written = _written("caas-remnant-" + "ab" * 16 + "." * 19)
    cells, failed, incomplete = _verdict(written, "." * 64)
    assert set(cells.values()) == {Cell.ALLOWED}
    assert not failed
    assert not incomplete


def test_a_writer_that_did_not_read_its_marker_back_makes_a_remnant_no_evidence() -> None:
    written = _written("." * 64)
    cells, failed, incomplete = _verdict(written, "caas-remnant-" + "ab" * 16 + "." * 19)
    assert cells[br.NO_REMNANT] is Cell.ERROR
    assert not failed
    assert incomplete


def test_a_reader_that_cannot_run_is_error_never_a_pass_or_a_failure() -> None:
    written = _written("caas-remnant-" + "ab" * 16 + "." * 19)
    cells, failed, incomplete = _verdict(written, kube.ApiFailure(403, "forbidden"))
    assert cells[br.NO_REMNANT] is Cell.ERROR
    assert cells[br.READ_WORKED] is Cell.ERROR
    assert not failed
    assert incomplete
