"""Plain pytest with a bad targets file: the plugin (fixtures/plugin.py `pytest_cmdline_main`) refuses it once,
before collection, with the `caas` CLI's one line per error and its exit code 2 for a configuration error,
not one collection error with a traceback per module under steps/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def _collect(targets: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "steps", f"--targets={targets}", "--collect-only"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_targets_file_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    targets = tmp_path / "bad.yaml"
    targets.write_text("products: [\n")
    done = _collect(targets)
    output = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(output) == 1, output
    assert output[0].startswith(f"caas: error: {targets}: line 2, column 1: YAML syntax error")
    assert "(fix " in output[0]


def test_each_error_of_a_targets_file_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    targets = tmp_path / "bad.yaml"
    targets.write_text("version: 1\nlab:\n  nodes: 13\n")
    done = _collect(targets)
    output = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert output == [
        f"caas: error: {targets}: products: required field is missing (add it; see the example targets.yaml)",
        f"caas: error: {targets}: tenancy: required field is missing (add it; see the example targets.yaml)",
        f"caas: error: {targets}: lab: unknown field"
        " (remove it or check its spelling against the example targets.yaml)",
    ]
    assert "Traceback" not in done.stdout + done.stderr
