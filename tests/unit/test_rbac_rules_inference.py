"""Self reviews inferred from SelfSubjectRulesReviews (checks/rbac/rules.py) and the observer's use of
them (checks/rbac/access.AccessObserver): a cell is inferred only from a complete rules review in its
own namespace, each group is checked against a cell asked, a disagreement is only ever between answers
the API server gave, and a probe that raises is ERROR, never denied; wide matrices are written one line
per column (checks/rbac/matrix.py), their text linear in their cells (no cluster).

Shapes: authorization.k8s.io/v1 SelfSubjectRulesReview (status.resourceRules, incomplete, evaluationError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from checks.matrix import Cell, Comparison, Matrix, compare
from checks.rbac import access, rules
from checks.rbac.access import AccessObserver, Observation, Probe, guarded, resource_probe
from checks.rbac.discovery import ApiResource
from checks.rbac.matrix import AccessRun, Question
from checks.rbac.reach import judge
from checks.rbac.rendering import WIDE, render_comparison, render_matrix
from checks.verdicts import Inconclusive

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "delete"))
NODES = ApiResource("", "v1", "nodes", "Node", False, ("get",))
VIEW_PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}


def answer(rule_list: list[dict[str, Any]], incomplete: object = False, error: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"resourceRules": rule_list, "nonResourceRules": [], "incomplete": incomplete}
    if error:
        status["evaluationError"] = error
    return {"kind": "SelfSubjectRulesReview", "status": status}


def test_a_complete_rules_review_is_parsed() -> None:
    found = rules.parse("u", "tenant-blue", answer([VIEW_PODS]))
    assert isinstance(found, rules.Rules)
    assert found.rules[0].resources == ("pods",)


@pytest.mark.parametrize(
    "body",
    [
        answer([VIEW_PODS], incomplete=True),  # a webhook authorizer could not enumerate its rules
        answer([VIEW_PODS], incomplete=None),  # no incomplete field: never taken as complete
        answer([VIEW_PODS], error="role not found"),
        {"kind": "Status"},
        [],
        {"status": {"incomplete": False, "resourceRules": "x"}},
    ],
)
def test_an_incomplete_or_failed_rules_review_answers_no_cell(body: object) -> None:
    assert isinstance(rules.parse("u", "tenant-blue", body), str)


def test_cells_are_inferred_by_rbac_rule_matching_and_say_so() -> None:
    found = rules.Rules("u", "tenant-blue", rules.parse("u", "tenant-blue", answer([VIEW_PODS])).rules)  # type: ignore[union-attr]
    get = resource_probe("u", "u", PODS, "get", "tenant-blue")
    delete = resource_probe("u", "u", PODS, "delete", "tenant-blue")
    assert rules.infer(found, get)[0] is Cell.ALLOWED
    assert rules.infer(found, delete)[0] is Cell.DENIED
    assert all(rules.is_inferred(rules.infer(found, p)[1]) for p in (get, delete))


def test_only_resource_cells_of_a_named_namespace_are_grouped() -> None:
    probes = [
        resource_probe("u", "u", PODS, "get", "tenant-blue"),
        resource_probe("u", "u", PODS, "list", ""),  # all namespaces: a rules review needs a namespace
        resource_probe("u", "u", NODES, "get", ""),  # cluster-scoped
        Probe("u", "u", "/metrics", {"path": "/metrics", "verb": "get"}, "GET", "/metrics"),
        resource_probe("u", "u", PODS, "list", "tenant-blue"),
        resource_probe("u", "u", PODS, "watch", "tenant-blue"),
        resource_probe("u", "u", PODS, "get", "tenant-green"),  # alone in its namespace: asked, not reviewed
        resource_probe("u", "u", PODS, "list", "tenant-green"),
    ]
    assert rules.groups(probes) == {("u", "tenant-blue"): [0, 4, 5]}


class FakeObserver(AccessObserver):
    """An observer without a cluster: clients are the user names."""

    def __init__(self) -> None:
        super().__init__(None, None, workers=4)  # type: ignore[arg-type]

    def client(self, user: str) -> Any:
        return user

    def groups(self, user: str) -> tuple[str, ...]:
        return ()


Way = Callable[[Any, Probe], tuple[Cell, str]]


def fake_ways(
    monkeypatch: pytest.MonkeyPatch, server: Callable[[Probe], Cell], review: object, asked: list[Probe]
) -> None:
    """The API server answers every way with `server(probe)`; rules reviews answer `review`; the self
    reviews asked one by one are recorded in `asked`."""

    def real(_api: Any, probe: Probe) -> tuple[Cell, str]:
        return server(probe), "request"

    def self_review(_api: Any, probe: Probe) -> tuple[Cell, str]:
        asked.append(probe)
        return server(probe), "SelfSubjectAccessReview"

    def subject(_api: Any, probe: Probe, _groups: object) -> tuple[Cell, str]:
        return server(probe), "SubjectAccessReview"

    def rules_review(_api: Any, user: str, namespace: str) -> rules.Rules | str:
        return rules.parse(user, namespace, review) if isinstance(review, dict) else str(review)

    monkeypatch.setattr(access, "real_request", real)
    monkeypatch.setattr(access, "self_review", self_review)
    monkeypatch.setattr(access, "subject_review", subject)
    monkeypatch.setattr(rules, "rules_review", rules_review)


def probes() -> list[Probe]:
    return [resource_probe("u", "u", PODS, verb, ns) for ns in ("tenant-blue", "") for verb in PODS.verbs]


def reads(probe: Probe) -> Cell:
    return (
        Cell.ALLOWED if probe.attributes["verb"] in ("get", "list") and probe.attributes["namespace"] else Cell.DENIED
    )


def test_agreeing_rules_infer_the_self_reviews_of_a_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Probe] = []
    fake_ways(monkeypatch, reads, answer([VIEW_PODS]), asked)
    seen = FakeObserver().observe(probes())
    assert not seen.disagreements
    # the group's first cell checked, the three cluster-wide cells asked; two inferred
    assert [p.column for p in asked] == [probes()[0].column, *(p.column for p in probes()[3:])]
    assert seen.inferred == {"selfsubjectaccessreview": 2}
    assert seen.rules_reviews == 1
    assert seen.asked() == {"request": 6, "selfsubjectaccessreview": 4, "subjectaccessreview": 6}
    assert "selfsubjectaccessreview 4 asked, 2 inferred from 1 SelfSubjectRulesReviews" in seen.report()


def test_an_inferred_cell_the_ways_disagree_on_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Probe] = []
    everything = {"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}  # wrong about delete
    fake_ways(monkeypatch, reads, answer([everything]), asked)
    seen = FakeObserver().observe(probes())
    assert not seen.disagreements  # the server's own self review of delete agrees with the request
    assert probes()[2].column in [p.column for p in asked]
    assert seen.ways["selfsubjectaccessreview"]["u", probes()[2].column] is Cell.DENIED


def test_a_group_whose_checked_cell_differs_is_asked_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Probe] = []
    fake_ways(monkeypatch, reads, answer([]), asked)  # infers get denied; the server allows it
    seen = FakeObserver().observe(probes())
    assert len(asked) == 1 + 6
    assert not seen.inferred


@pytest.mark.parametrize("review", ["SelfSubjectRulesReview itself failed: 403: Forbidden", answer([], True)])
def test_a_failed_or_incomplete_rules_review_asks_every_cell(monkeypatch: pytest.MonkeyPatch, review: object) -> None:
    asked: list[Probe] = []
    fake_ways(monkeypatch, reads, review, asked)
    seen = FakeObserver().observe(probes())
    assert len(asked) == 6
    assert not seen.inferred


def test_a_probe_that_raises_is_an_error_cell_and_the_others_are_observed(monkeypatch: pytest.MonkeyPatch) -> None:
    def server(probe: Probe) -> Cell:
        if probe.attributes["verb"] == "delete":
            raise RuntimeError("connection pool exploded")
        return reads(probe)

    fake_ways(monkeypatch, server, "no rules review", [])
    seen = FakeObserver().observe(probes())
    column = probes()[2].column
    for way in access.WAYS:
        assert seen.ways[way]["u", column] is Cell.ERROR
        assert "RuntimeError: connection pool exploded" in seen.ways[way].evidence["u", column]
    assert seen.ways["request"]["u", probes()[0].column] is Cell.ALLOWED


def test_guarded_answers_what_failed_makes_of_the_exception() -> None:
    def boom() -> str:
        raise ValueError("bad")

    assert guarded(boom, lambda exc: f"failed: {exc}")() == "failed: bad"
    assert guarded(lambda: (Cell.ALLOWED, "ok"))() == (Cell.ALLOWED, "ok")


def test_a_wide_comparison_is_written_one_line_per_column_findings_first() -> None:
    columns = [f"tenant-blue: get thing{i}" for i in range(WIDE + 1)]
    expected = Matrix.build(["a", "b"], columns, {(r, c): Cell.DENIED for r in ("a", "b") for c in columns})
    cells = dict(expected.cells)
    cells["b", columns[3]] = Cell.ALLOWED
    cells["a", columns[5]] = Cell.ERROR
    text = render_comparison(compare(expected, Matrix.build(["a", "b"], columns, cells)))
    lines = text.splitlines()
    assert lines[0] == f"FAIL: 1 mismatched, 1 not observed of {2 * (WIDE + 1)} cells"
    assert lines[2].startswith("expected DENIED, observed ALLOWED: b -> tenant-blue: get thing3")
    assert f"XX  X.   .  {columns[3]}" in lines
    assert f"XX  EX  E   {columns[5]}" in lines
    assert len(text) < 100 * (WIDE + 1)  # linear in the columns, not quadratic
    narrow = compare(expected, expected)
    assert render_comparison(Comparison(narrow.expected, narrow.observed, (), ())).startswith("PASS")


def test_a_wide_matrix_is_written_one_line_per_column() -> None:
    columns = [f"c{i}" for i in range(WIDE + 1)]
    cells = {(r, c): Cell.DENIED for r in ("a", "b") for c in columns[2:]}
    matrix = Matrix.build(["a", "b"], columns, {**cells, ("a", "c0"): Cell.ALLOWED, ("b", "c0"): Cell.DENIED})
    lines = render_matrix(matrix, "request").splitlines()
    assert lines[:3] == ["request", "one line per column, one symbol per row: 1 a, 2 b", ".X  c0"]
    assert lines[3] == "??  c1"
    assert lines[4] == "XX  c2"
    small = Matrix.build(["a"], ["c0"], {("a", "c0"): Cell.ALLOWED})
    assert render_matrix(small) == small.render()


SPLIT = "u -> x: request=allowed, subjectaccessreview=denied"


def _run(observed: Cell, disagreements: tuple[str, ...] = ()) -> AccessRun:
    probe = resource_probe("u", "u", PODS, "get", "tenant-blue")
    question = Question(probe, None, Cell.DENIED)  # type: ignore[arg-type]
    matrix = Matrix.build(["u"], [probe.column], {("u", probe.column): observed})
    return AccessRun((question,), Observation({"request": matrix}, disagreements, {}), positive_control=False)


@pytest.mark.parametrize(
    ("runs", "raised"),
    [
        ([_run(Cell.DENIED)], None),
        ([_run(Cell.ALLOWED)], AssertionError),
        ([_run(Cell.DENIED, ("u -> x: request=allowed, subjectaccessreview=denied",))], AssertionError),
        ([_run(Cell.ERROR)], Inconclusive),
        (
            [_run(Cell.ERROR), _run(Cell.DENIED, ("u -> x: request=allowed, subjectaccessreview=denied",))],
            AssertionError,
        ),
    ],
)
def test_the_reach_runs_are_judged_by_the_one_verdict_rule(runs: list[AccessRun], raised: type | None) -> None:
    named = [(f"run {i}", run) for i, run in enumerate(runs)]
    if raised is None:
        assert len(judge(named)) == len(runs)
    else:
        with pytest.raises(raised):
            judge(named)


class _Answer:
    """A handshake's response: `body` read in pieces; records whether its connection was released or closed."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.reason, self.headers, self.body = status, "Forbidden", {}, body
        self.released = self.closed = False

    def read(self, amount: int) -> bytes:
        piece, self.body = self.body[:amount], self.body[amount:]
        return piece

    def release_conn(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


class _Pool:
    def __init__(self, response: _Answer) -> None:
        self.response, self.default_headers = response, {}
        self.configuration, self.rest_client, self.pool_manager = self, self, self
        self.host = "https://api.test:6443"

    def get_api_key_with_prefix(self, _name: str) -> str:
        return "Bearer t"

    def request(self, *_args: Any, **_kw: Any) -> _Answer:
        return self.response


REFUSED = b'{"kind":"Status","code":403,"message":"pods is forbidden: User \\"u\\" cannot watch resource \\"pods\\""}'


def test_a_refused_watch_read_to_its_end_returns_its_connection_to_the_pool() -> None:
    watch = resource_probe("u", "u", PODS, "watch", "tenant-green")
    refused = _Answer(403, REFUSED)
    assert access.real_request(_Pool(refused), watch)[0] is Cell.DENIED
    assert refused.released
    assert not refused.closed
    endless = _Answer(403, REFUSED + b" " * access.ANSWER_BYTES)  # more than is read: never reused
    access.real_request(_Pool(endless), watch)
    assert endless.closed
    assert not endless.released


def test_a_sparse_matrix_a_covering_design_asked_is_written_one_line_per_cell_asked() -> None:
    columns = [f"c{i}" for i in range(WIDE + 1)]
    asked = Matrix.build(["a", "b"], columns, {("a", "c0"): Cell.ALLOWED, ("b", "c3"): Cell.DENIED})
    assert render_matrix(asked, "request").splitlines()[1:] == [
        "one line per cell asked: symbol, row -> column (cells not asked are not listed)",
        ".  a -> c0",
        "X  b -> c3",
    ]
    text = render_comparison(compare(asked, Matrix.build(["a", "b"], columns, {("a", "c0"): Cell.DENIED})))
    lines = text.splitlines()
    assert lines[0] == "FAIL: 1 mismatched, 1 not observed of 2 cells"  # the cells judged, not rows x columns
    assert ".  X  X  a -> c0" in lines
    assert "X  ?  ?  b -> c3" in lines
    assert not [line for line in lines if line.endswith("c1")]
