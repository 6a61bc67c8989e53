"""Reading `caas-probe connect` answers (checks/network/probe.py): each outcome the probe reports becomes
one cell, a probe that could not run is ERROR, and output that is not an answer is never a denial.

The outcome words and the line shape are those of provisioning/lab/go/images/cmd/probe/main.go: one JSON
object per target, `{"id", "result", "detail", "ms"}`, written by Go's json.Encoder.
"""

from __future__ import annotations

import json
import re
import types
from typing import Any, cast

import pytest

from checks.matrix import Cell, Matrix, compare
from checks.network import probe as network_probe
from checks.network.probe import OUTCOME_CELLS, ProbePod, Prober, Target, parse_results
from checks.verdicts import Inconclusive, require
from provisioning.kube.client import ApiFailure
from provisioning.kube.pods import ExecResult
from provisioning.tenancy import ProvisionedTenancy
from tests.support import ROOT

PROBE_SOURCE = ROOT / "provisioning/lab/go/images/cmd/probe/main.go"
BLUE_A = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
GREEN_A = ProbePod("green", "pks-shared", "tenant-green", "probe-a", "a", "10.244.2.9")
TCP = Target("green/a:8080/tcp", "10.244.2.9", 8080, "tcp")
UDP = Target("green/a:8082/udp", "10.244.2.9", 8082, "udp")


def line(target_id: str, result: str, detail: str = "", ms: float = 1.5) -> str:
    """One answer as the probe writes it (`detail` is omitempty in Go)."""
    entry: dict[str, Any] = {"id": target_id, "result": result}
    if detail:
        entry["detail"] = detail
    entry["ms"] = ms
    return json.dumps(entry)


@pytest.mark.parametrize(
    ("result", "cell"),
    [
        ("connected", Cell.ALLOWED),
        ("refused", Cell.DENIED),
        ("unreachable", Cell.DENIED),
        ("timeout", Cell.DENIED),
        ("dns-failure", Cell.ERROR),
        ("error", Cell.ERROR),
    ],
)
def test_every_outcome_the_probe_reports_is_one_cell(result: str, cell: Cell) -> None:
    assert parse_results(line("blue/a:8080/tcp", result, "detail text")) == {
        "blue/a:8080/tcp": (cell, f"{result}: detail text")
    }


def test_the_outcome_table_names_exactly_the_probes_outcomes() -> None:
    reported = set(re.findall(r'return "([a-z-]+)", ', PROBE_SOURCE.read_text()))
    assert reported == set(OUTCOME_CELLS), "every outcome the probe reports has its cell, and no other"


@pytest.mark.parametrize("result", ["filtered", "Timeout", "REFUSED", "denied", "", "reset"])
def test_an_outcome_word_the_table_does_not_know_is_error_never_denied(result: str) -> None:
    cells = parse_results(line("blue/a:8080/tcp", result))
    assert cells["blue/a:8080/tcp"][0] is Cell.ERROR


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "panic: runtime error: index out of range [3] with length 3",
        "{not json",
        "[]",
        '"refused"',
        "42",
        "null",
        '{"id": "blue/a:8080/tcp"}',  # no result
        '{"result": "refused"}',  # no id
        '{"id": "blue/a:8080/tcp", "result": ["refused"]}',  # a result that is no word
        '{"id": ["blue/a:8080/tcp"], "result": "refused"}',  # an id that is no string
        "Error from server: error dialing backend: EOF",
    ],
)
def test_output_that_is_no_answer_is_left_unobserved_never_denied(garbage: str) -> None:
    assert parse_results(garbage) == {}


def test_answers_between_garbage_lines_are_kept_and_the_garbage_is_not() -> None:
    stdout = "\n".join(
        [
            "warning: something on stdout",
            line("green/a:8080/tcp", "connected"),
            "{truncated",
            line("green/a:8082/udp", "timeout", "read udp 10.244.1.7:40000->10.244.2.9:8082: i/o timeout"),
            "",
        ]
    )
    assert parse_results(stdout) == {
        "green/a:8080/tcp": (Cell.ALLOWED, "connected: "),
        "green/a:8082/udp": (Cell.DENIED, "timeout: read udp 10.244.1.7:40000->10.244.2.9:8082: i/o timeout"),
    }


def test_evidence_is_the_outcome_and_its_detail_cut_at_200_characters() -> None:
    detail = "dial tcp 10.244.2.9:8080: connect: connection refused " * 10
    (cell, evidence) = parse_results(line("x", "refused", detail))["x"]
    assert cell is Cell.DENIED
    assert len(evidence) == 200
    assert evidence == f"refused: {detail}"[:200]


# --- one batch: one exec in the source pod -------------------------------------------------------------


class FakeApi:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeTenancy:
    """What Prober uses of a ProvisionedTenancy: its clusters by handle name and an admin client."""

    def __init__(self) -> None:
        self.clusters = [types.SimpleNamespace(handle=types.SimpleNamespace(name="pks-shared"))]
        self.clients: list[tuple[object, float, FakeApi]] = []

    def admin_client(self, cluster: object, timeout: float = 0) -> FakeApi:
        api = FakeApi()
        self.clients.append((cluster, timeout, api))
        return api


def prober(monkeypatch: pytest.MonkeyPatch, answer: Any, timeout: float = 2.0) -> tuple[Prober, list[Any], Any]:
    """A Prober whose exec answers `answer` (an ExecResult, or an exception to raise)."""
    calls: list[Any] = []

    def exec_in_pod(api: Any, namespace: str, name: str, command: list[str], timeout: float) -> ExecResult:
        calls.append((namespace, name, command, timeout))
        if isinstance(answer, Exception):
            raise answer
        return cast(ExecResult, answer(command) if callable(answer) else answer)

    monkeypatch.setattr(network_probe, "exec_in_pod", exec_in_pod)
    tenancy = FakeTenancy()
    return Prober(cast(ProvisionedTenancy, tenancy), timeout), calls, tenancy


def test_a_batch_runs_one_exec_in_the_source_with_every_target_and_a_deadline_past_the_probes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdout = line(TCP.column, "refused", "connection refused") + "\n" + line(UDP.column, "connected") + "\n"
    run, calls, tenancy = prober(monkeypatch, ExecResult(0, stdout, ""), timeout=3.0)
    cells = run.batch(BLUE_A, [TCP, UDP])
    assert cells == {
        TCP.column: (Cell.DENIED, "refused: connection refused"),
        UDP.column: (Cell.ALLOWED, "connected: "),
    }
    [(namespace, name, command, exec_timeout)] = calls
    assert (namespace, name) == ("tenant-blue", "probe-a")
    assert command[:4] == ["caas-probe", "connect", "--timeout", "3s"]
    assert [t["id"] for t in json.loads(command[4])] == [TCP.column, UDP.column]
    assert exec_timeout == 23.0, "the exec outlives every probe's own deadline"
    [(_cluster, client_timeout, api)] = tenancy.clients
    assert client_timeout == 23.0
    assert api.closed


def test_an_exec_the_api_server_refused_makes_every_target_error(monkeypatch: pytest.MonkeyPatch) -> None:
    run, _calls, tenancy = prober(monkeypatch, ApiFailure(0, "connection reset by peer"))
    cells = run.batch(BLUE_A, [TCP, UDP])
    assert {c: cell for c, (cell, _) in cells.items()} == {TCP.column: Cell.ERROR, UDP.column: Cell.ERROR}
    assert cells[TCP.column][1] == "exec failed: 0 connection reset by peer"
    assert tenancy.clients[0][2].closed, "the client is closed on failure too"


def test_a_probe_that_exited_non_zero_makes_every_target_error_with_its_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = "caas-probe: targets are not a JSON list: unexpected end of JSON input\n"
    run, _calls, _tenancy = prober(monkeypatch, ExecResult(2, line(TCP.column, "refused"), stderr))
    cells = run.batch(BLUE_A, [TCP, UDP])
    reason = "probe exited 2: caas-probe: targets are not a JSON list: unexpected end of JSON input"
    assert cells == {TCP.column: (Cell.ERROR, reason), UDP.column: (Cell.ERROR, reason)}, (
        "a refusal printed by a probe that then failed is no evidence"
    )


def test_a_probe_that_printed_garbage_leaves_its_cells_unobserved_and_the_verdict_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, _calls, _tenancy = prober(monkeypatch, ExecResult(0, "Segmentation fault\n", ""))
    observation = run.observe([BLUE_A], [TCP, UDP])
    assert observation.matrix[BLUE_A.label, TCP.column] is Cell.UNOBSERVED
    assert observation.matrix[BLUE_A.label, UDP.column] is Cell.UNOBSERVED
    expected = Matrix.build(
        [BLUE_A.label], [TCP.column, UDP.column], {(BLUE_A.label, t.column): Cell.DENIED for t in (TCP, UDP)}
    )
    comparison = compare(expected, observation.matrix)
    assert not comparison.mismatches
    assert len(comparison.incomplete) == 2
    with pytest.raises(Inconclusive):
        require(comparison, comparison.render())


def test_observe_probes_every_pair_not_skipped_and_counts_the_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(command: list[str]) -> ExecResult:
        return ExecResult(0, "\n".join(line(t["id"], "refused") for t in json.loads(command[4])), "")

    run, calls, _tenancy = prober(monkeypatch, answer)
    observation = run.observe([BLUE_A, GREEN_A], [TCP, UDP], skip=lambda s, t: s.tenant == "green" or t is UDP)
    assert observation.probes == 1
    assert len(calls) == 1, "a source with nothing left to probe gets no exec"
    assert observation.matrix.rows == ("blue/a", "green/a")
    assert observation.matrix.columns == (TCP.column, UDP.column)
    assert observation.matrix.cells == {("blue/a", TCP.column): Cell.DENIED}
    assert observation.matrix.evidence == {("blue/a", TCP.column): "refused: "}
    assert observation.matrix[("green/a", TCP.column)] is Cell.UNOBSERVED
