"""The pytest-bdd wiring: one area selects by marker, every scenario runs once per product."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def _collect(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_k_network_selects_the_network_scenarios_for_every_product() -> None:
    collected = _collect("-k", "network")
    assert collected
    assert all(line.startswith("steps/test_network.py::") for line in collected)
    assert {line.rsplit("[", 1)[1].rstrip("]") for line in collected} == {"cfcr", "pks"}


def test_k_tenant_isolation_selects_every_isolation_area_and_nothing_else() -> None:
    modules = {line.split("::", 1)[0] for line in _collect("-k", "tenant_isolation")}
    assert modules == {f"steps/test_{area}.py" for area in ("network", "rbac", "privileged", "storage")}


def test_unknown_markers_are_rejected(tmp_path: Path) -> None:
    feature = tmp_path / "bad.feature"
    feature.write_text("@no_such_marker\nFeature: x\n  Scenario: y\n    Given z\n")
    steps = tmp_path / "test_bad.py"
    steps.write_text(f"from pytest_bdd import scenarios\nscenarios({str(feature)!r})\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            str(steps),
            "-p",
            "no:cacheprovider",
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "no_such_marker" in result.stdout + result.stderr
