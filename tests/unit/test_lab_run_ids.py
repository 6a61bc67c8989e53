"""Every run id a lab test gives the shared lab carries the suite's cluster prefix
(tests.lab.inventory.suite_run_id): `caas run`, `caas clean` and pytest's `--run-id`, a lab cluster's
own (`cluster.up(..., run_id=)`), and the module constants that hold one. Two suites on one lab (CI and
a developer's run, each with its own CAAS_CLUSTER_PREFIX) must never share a run id: a test that
asserts "no cluster of my run is left" would otherwise see the other suite's clusters, and `caas clean
--run-id` would find them. Run ids of runs inside a cluster the test made for itself (build_settings'
`run_id=` on an existing cluster) meet no other suite and are not asked."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from harness.names import InvalidName, check_run_id

LAB_TESTS = Path(__file__).resolve().parent.parent / "lab"


def _literal_run_ids(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every valid run id given as a string literal: right after "--run-id" in a
    sequence or as "--run-id=ID", compared with a `.run_id` (either side), as the `run_id` keyword of an
    `up(...)` call, or assigned to a name ending in RUN_ID (invalid ones are tests of the refusal)."""
    found: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Call):
            items = node.args if isinstance(node, ast.Call) else node.elts
            found += [second for first, second in itertools.pairwise(items) if _is_text(first, "--run-id")]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("--run-id="):
            found.append(ast.Constant(node.value.removeprefix("--run-id="), lineno=node.lineno))
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "run_id" for side in sides):
                found += [side for side in sides if isinstance(side, ast.Constant)]
        if isinstance(node, ast.Call) and _called(node) == "up":
            found += [k.value for k in node.keywords if k.arg == "run_id" and isinstance(k.value, ast.Constant)]
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("RUN_ID") for t in node.targets
        ):
            found += [node.value] if isinstance(node.value, ast.Constant) else []
    literal = [(c.lineno, c.value) for c in found if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return sorted((line, text) for line, text in literal if _valid(text))


def _called(call: ast.Call) -> str:
    """The name a call calls: `up` of `cluster.up(...)` and of `up(...)`."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


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


def test_the_scan_sees_a_literal_run_id_in_every_form() -> None:
    source = (
        'run_caas("clean", "--run-id", "verdicts")\n'
        '[s for s in found if s.run_id == "a"]\n'
        '["b" == s.run_id]\n'
        'spawn("--run-id=c")\n'
        'cluster.up(paths, name, "pks", 1, 60.0, run_id="d")\n'
        'RUN_ID = "e"\n'
        'run_caas("clean", "--run-id", "Not-Valid", "--run-id", suite_run_id("f"))\n'
        'settings = build_settings(run_id="g")\n'
    )
    assert _literal_run_ids(ast.parse(source)) == [(1, "verdicts"), (2, "a"), (3, "b"), (4, "c"), (5, "d"), (6, "e")]
