"""Every run id a lab test gives `caas run`, `caas clean` or pytest carries the suite's cluster prefix
(tests.lab.inventory.suite_run_id). Two suites on one lab (CI and a developer's run, each with its own
CAAS_CLUSTER_PREFIX) must never share a run id: a test that asserts "no cluster of my run is left"
would otherwise see the other suite's clusters, and `caas clean --run-id` would find them."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from harness.names import InvalidName, check_run_id

LAB_TESTS = Path(__file__).resolve().parent.parent / "lab"


def _literal_run_ids(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every valid run id given as a string literal: right after "--run-id" in a
    sequence, or compared with a `.run_id` (invalid ones are tests of the refusal)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Call):
            items = node.args if isinstance(node, ast.Call) else node.elts
            for first, second in itertools.pairwise(items):
                if _is_text(first, "--run-id") and isinstance(second, ast.Constant) and isinstance(second.value, str):
                    found.append((second.lineno, second.value))
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "run_id":
            found += [(c.lineno, c.value) for c in node.comparators if isinstance(c, ast.Constant)]
    return [(line, text) for line, text in found if _valid(text)]


def _valid(text: object) -> bool:
    try:
        check_run_id(str(text))
    except InvalidName:
        return False
    return True


def _is_text(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text


def test_no_lab_test_names_a_run_without_the_suite_prefix() -> None:
    literal = {
        f"{path.name}:{line}: {text!r}": text
        for path in sorted(LAB_TESTS.glob("*.py"))
        for line, text in _literal_run_ids(ast.parse(path.read_text(), str(path)))
    }
    assert not literal, f"use tests.lab.inventory.suite_run_id for: {sorted(literal)}"


def test_the_scan_sees_a_literal_run_id() -> None:
    source = 'run_caas("clean", "--run-id", "verdicts")\n[s for s in found if s.run_id == "verdicts"]\n'
    assert _literal_run_ids(ast.parse(source)) == [(1, "verdicts"), (2, "verdicts")]
