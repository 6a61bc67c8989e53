"""A recheck of a name run asks only the cells that differed (checks/network/dns.py `observe_names`,
`ProbeRun.recheck`, check_network_011 at provider scale): those cells, the owner controls of the names
they deny, and the denied cells once more; never the whole matrix, and never a denial held by a control
this recheck did not see resolve."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from checks.matrix import Cell, Matrix
from checks.network import runs
from checks.network.dns import (
    ABSENT,
    NOT_FOUND,
    SECOND_ASK,
    Cells,
    name_targets,
    observe_names,
    owner_controls,
    resolve_names,
    with_owner_controls,
)
from checks.network.expectations import same_tenant
from checks.network.judging import expected_disclosure
from checks.network.probe import Observation, ProbePod, Prober, Target
from checks.network.reachability import observe_until_converged
from checks.network.runs import ProbeRun, every_pair, from_outside
from tests.unit.test_dns_denials import BLUE_A, BLUE_B, BLUE_SERVICE, GREEN_A, GREEN_B

SOURCES = (BLUE_A, BLUE_B, GREEN_A, GREEN_B)
TARGETS = tuple(name_targets(SOURCES, [BLUE_SERVICE]))
SERVICE_NAME = f"{BLUE_SERVICE.dns_name} (name)"
BLUE_A_NAME = "blue/a pod (name)"
ABSENT_NAME = f"{ABSENT}.tenant-blue.svc.cluster.local (name)"
COLUMNS = [t.column for _, t in TARGETS]
EVERY = {(s.label, t.column) for s in SOURCES for o, t in TARGETS if s != o}
SERVICE_CONTROLS = {("blue/a", SERVICE_NAME), ("blue/b", SERVICE_NAME)}  # blue's pods ask blue's service

# what `caas-probe connect` reports of a lookup (dns.as_resolution reads it)
RESOLVED = (Cell.ALLOWED, "connected: probe-a")
NO_SUCH_HOST = (Cell.ERROR, f"dns-failure: lookup x.: {NOT_FOUND}")
NO_ANSWER = (Cell.ERROR, "dns-failure: lookup x.: i/o timeout")

Answer = Callable[[tuple[str, str], int], tuple[Cell, str]]  # (cell, how often it was asked, this time included)


def fenced(cell: tuple[str, str], _times: int) -> tuple[Cell, str]:
    """Each tenant resolves its own names only; the name of no Service resolves for no one."""
    row, column = cell
    owner = "green" if column.startswith("green/") else "blue"
    return NO_SUCH_HOST if column == ABSENT_NAME or row.split("/")[0] != owner else RESOLVED


def disclosing(cell: tuple[str, str], _times: int) -> tuple[Cell, str]:
    """Every tenant resolves every tenant's names; the name of no Service resolves for no one."""
    return NO_SUCH_HOST if cell[1] == ABSENT_NAME else RESOLVED


@dataclass
class NameServer:
    """What observe_names uses of a Prober (`workers`, `observe(sources, targets, skip)`): each cell not
    skipped is answered by `answer`; every ask's cells are recorded (shared by `dataclasses.replace`)."""

    answer: Answer
    workers: int = 16
    asks: list[set[tuple[str, str]]] = field(default_factory=list)
    times: Counter[tuple[str, str]] = field(default_factory=Counter)

    def observe(
        self, sources: Sequence[ProbePod], targets: Sequence[Target], skip: Callable[[ProbePod, Target], bool]
    ) -> Observation:
        asked = {(s.label, t.column) for s in sources for t in targets if not skip(s, t)}
        self.asks.append(asked)
        self.times.update(asked)
        answers = {cell: self.answer(cell, self.times[cell]) for cell in asked}
        matrix = Matrix.build(
            [s.label for s in sources],
            dict.fromkeys(t.column for t in targets),
            {k: v[0] for k, v in answers.items()},
            {k: v[1] for k, v in answers.items()},
        )
        return Observation(matrix, 0.0, len(asked))


def name_run(server: NameServer) -> ProbeRun:
    """The run of look_up_every_name: every pod asks every name but its own."""
    return ProbeRun(cast(Prober, server), SOURCES, TARGETS, same_tenant, observer=observe_names)


def asked_cells(server: NameServer) -> int:
    return sum(len(cells) for cells in server.asks)


# --- ProbeRun.recheck hands the observer only the run's cells asked ------------------------------------


def test_a_recheck_hands_the_observer_only_the_asked_cells_of_the_run() -> None:
    seen: list[Cells | None] = []

    def observer(run: ProbeRun, cells: Cells | None) -> tuple[Matrix, int]:
        seen.append(cells)
        return Matrix.build([s.label for s in run.sources], run.columns, {}), 0

    run = ProbeRun(cast(Prober, None), SOURCES, TARGETS, same_tenant, observer=observer)
    run.observe()
    run.recheck({("green/a", SERVICE_NAME), ("blue/a", BLUE_A_NAME), ("nobody", SERVICE_NAME)})
    assert seen == [None, {("green/a", SERVICE_NAME)}], "a pod's own name and a row of no source are no cells"


def test_from_outside_cannot_choose_cells_so_a_recheck_observes_every_target(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[list[str]] = []

    def observe_from_outside(
        _binary: Path, targets: Sequence[Target], _timeout: float, _inside: Sequence[str]
    ) -> tuple[Matrix, int]:
        tried.append([t.column for t in targets])
        return Matrix.build(["outside"], [t.column for t in targets], {}), len(targets)

    monkeypatch.setattr(runs, "observe_from_outside", observe_from_outside)
    outside = ProbePod("outside", "", "", "outside", "outside", "")
    observer = from_outside(Path("caas-probe"), 2.0, [])
    run = ProbeRun(cast(Prober, None), (outside,), TARGETS, same_tenant, every_pair, observer)
    run.recheck({("outside", SERVICE_NAME)})
    assert tried == [[t.column for _, t in TARGETS]]


# --- observe_names: a recheck of k cells ---------------------------------------------------------------


def test_a_recheck_of_denials_asks_those_cells_their_names_owner_controls_and_those_cells_again() -> None:
    server = NameServer(fenced)
    run = name_run(server)
    denied = {("green/a", SERVICE_NAME), ("green/a", BLUE_A_NAME)}
    observed, probes = run.recheck(denied)
    controls = SERVICE_CONTROLS | {("blue/b", BLUE_A_NAME)}  # blue/a does not ask its own name
    assert server.asks == [denied, controls, denied], "never the whole matrix"
    assert probes == asked_cells(server) == 7 < len(run.cells) == 20
    assert {k: observed[k] for k in denied} == dict.fromkeys(denied, Cell.DENIED)
    assert set(observed.cells) == denied, "the controls asked for the judgment are not returned"


def test_a_cell_that_resolves_on_the_recheck_is_allowed_and_nothing_else_is_asked() -> None:
    server = NameServer(disclosing)
    observed, probes = name_run(server).recheck({("green/a", SERVICE_NAME)})
    assert server.asks == [{("green/a", SERVICE_NAME)}]
    assert (observed["green/a", SERVICE_NAME], probes) == (Cell.ALLOWED, 1)
    assert observed["green/b", SERVICE_NAME] is Cell.UNOBSERVED


def test_a_denial_that_resolves_on_the_re_ask_of_the_recheck_is_allowed() -> None:
    def once_not_found(cell: tuple[str, str], times: int) -> tuple[Cell, str]:
        return NO_SUCH_HOST if cell == ("green/a", SERVICE_NAME) and times == 1 else disclosing(cell, times)

    server = NameServer(once_not_found)
    observed, _ = name_run(server).recheck({("green/a", SERVICE_NAME)})
    assert observed["green/a", SERVICE_NAME] is Cell.ALLOWED
    assert observed.evidence["green/a", SERVICE_NAME].startswith(SECOND_ASK)
    assert server.asks == [{("green/a", SERVICE_NAME)}, SERVICE_CONTROLS, {("green/a", SERVICE_NAME)}]


@dataclass
class Resolver:
    """An `Ask` of resolve_names (the resolution matrix, as dns.as_resolution reads a probe): each cell
    asked is answered by `answer` (its first ask); every ask's cells are recorded."""

    answer: Answer
    asks: list[set[tuple[str, str]]] = field(default_factory=list)

    def __call__(self, cells: Cells | None) -> tuple[Matrix, int]:
        asked = set(EVERY if cells is None else cells)
        self.asks.append(asked)
        answers = {k: self.answer(k, 1) for k in asked}
        resolution = {k: Cell.DENIED if NOT_FOUND in detail else cell for k, (cell, detail) in answers.items()}
        evidence = {k: detail for k, (_, detail) in answers.items()}
        return Matrix.build([s.label for s in SOURCES], COLUMNS, resolution, evidence), len(asked)


def test_a_denial_whose_owner_controls_do_not_resolve_in_the_recheck_ends_error() -> None:
    """The controls resolved in the round before (a whole observation) but not now: the recheck does not
    reuse them, so the denial is ERROR, never DENIED."""
    controls = owner_controls(name_run(NameServer(fenced)).pairs)
    whole, _ = resolve_names(controls, Resolver(fenced), within=0.01)
    assert whole["green/a", SERVICE_NAME] is Cell.DENIED, "the round before: the controls held"

    def owner_down(cell: tuple[str, str], times: int) -> tuple[Cell, str]:
        return NO_ANSWER if cell == ("blue/b", SERVICE_NAME) else fenced(cell, times)

    dns = Resolver(owner_down)
    rechecked, _ = resolve_names(controls, dns, within=0.01, cells={("green/a", SERVICE_NAME)})
    assert rechecked["green/a", SERVICE_NAME] is Cell.ERROR
    assert "positive control failed (blue/b -> " in rechecked.evidence["green/a", SERVICE_NAME]
    assert dns.asks[0] == dns.asks[-1] == {("green/a", SERVICE_NAME)}
    assert dns.asks[1] == SERVICE_CONTROLS, "the controls, unasked in this recheck, are pending"
    assert all(cells == {("blue/b", SERVICE_NAME)} for cells in dns.asks[2:-1]), "then only the one not held"


def test_a_control_not_asked_in_a_partial_observation_holds_no_denial() -> None:
    partial = Matrix.build([s.label for s in SOURCES], COLUMNS, {("green/a", SERVICE_NAME): Cell.DENIED})
    checked = with_owner_controls(partial, owner_controls(name_run(NameServer(fenced)).pairs))
    assert checked["green/a", SERVICE_NAME] is Cell.ERROR
    assert "unobserved" in checked.evidence["green/a", SERVICE_NAME]


# --- observe_until_converged with a name run -----------------------------------------------------------


def test_a_name_run_whose_first_round_has_one_mismatch_asks_only_that_cells_work_in_round_two() -> None:
    """Green's pod said "no such host" for blue's service on its first three asks (the whole first round:
    ask and re-ask; the recheck's first ask) and resolves it on the fourth, the recheck's re-ask."""

    def not_found_thrice(cell: tuple[str, str], times: int) -> tuple[Cell, str]:
        return NO_SUCH_HOST if cell == ("green/a", SERVICE_NAME) and times <= 3 else disclosing(cell, times)

    server = NameServer(not_found_thrice)
    run = name_run(server)
    expected = expected_disclosure(run.sources, run.columns, run.pairs, lambda _tenant: True)
    verdict = observe_until_converged(expected, run.observe, attempts=3, recheck=run.recheck)
    assert verdict.comparison.passed, verdict.report()
    assert verdict.attempts == 2
    absent = {(s.label, ABSENT_NAME) for s in SOURCES}
    assert server.asks[:2] == [run.cells, absent | {("green/a", SERVICE_NAME)}], "round 1: all, then the denials"
    round_two = server.asks[2:]
    assert round_two == [{("green/a", SERVICE_NAME)}, SERVICE_CONTROLS, {("green/a", SERVICE_NAME)}]
    assert sum(len(cells) for cells in round_two) == 4
    assert verdict.comparison.observed.evidence["green/a", SERVICE_NAME].startswith(SECOND_ASK)
