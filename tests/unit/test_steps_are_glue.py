"""Steps are glue (issue 18): about ten lines, no API calls; the logic lives in the check engines under
checks/, where it has docstrings and unit tests."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

STEPS = ROOT / "steps"
MOST_LINES = 15  # a step over this is logic that belongs in an engine
API_MODULES = ("provisioning.kube", "kubernetes")  # the API is reached through checks/ only


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(STEPS.rglob("*.py"))]


def test_no_step_function_is_over_fifteen_lines() -> None:
    long = [
        f"{path.name}:{node.name} {node.end_lineno - node.lineno + 1} lines"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MOST_LINES
    ]
    assert not long, f"move their logic into an engine under checks/: {long}"


def test_no_step_module_imports_the_api_client() -> None:
    imported = [
        f"{path.name}: {name}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
        if name.startswith(API_MODULES)
    ]
    assert not imported, f"steps call the API through the engines under checks/ only: {imported}"
