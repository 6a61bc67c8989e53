"""check_rbac_005: the ways of observing an access question (the real request, a SelfSubjectAccessReview,
a SubjectAccessReview; checks.rbac.access) agree wherever they can answer.

A requirement table (checks.verdicts) with one row per identity and one requirement, `AGREE`: ALLOWED
when every cell asked of the identity (all, or a covering design's: checks.rbac.covering) is answered
alike by the ways that can answer, DENIED when two of them answer a cell differently (a disagreement is
an observation: FAIL), ERROR when a way that can answer did not answer a cell (never a disagreement). A
way that cannot answer at all (e.g. ABAC refuses self reviews: `Observation.unavailable`) is left out."""

from __future__ import annotations

from collections import defaultdict

from checks.matrix import Cell
from checks.rbac.access import Observation
from checks.rbac.matrix import AccessRun, record_run_figure
from checks.rbac.rendering import attach_ways
from checks.verdicts import Observed, decide, requirement_comparison, requirement_table

AGREE = "the ways that can answer agree"
SHOWN = 10  # disagreements or unanswered cells named per identity; the attachment of the ways has them all


def _listed(what: str, items: list[str]) -> str:
    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return f"{len(items)} {what}{more}: " + "; ".join(items[:SHOWN])


def agreement_rows(observation: Observation) -> dict[str, Observed]:
    """Each identity (row of the observed matrices, in order) -> its cell of `AGREE` and evidence (pure):
    DENIED naming its disagreements, else ERROR naming the cells a way that can answer left unanswered,
    else ALLOWED."""
    available = {w: m for w, m in observation.ways.items() if w not in observation.unavailable}
    rows = next(iter(observation.ways.values())).rows if observation.ways else ()
    unanswered: dict[str, list[str]] = defaultdict(list)
    for way, matrix in available.items():  # the cells asked: a covering design's matrices leave the others unset
        for (row, column), cell in matrix.cells.items():
            if cell in (Cell.ERROR, Cell.UNOBSERVED):
                unanswered[row].append(f"{way}: {row} -> {column} ({matrix.evidence.get((row, column), '')})")
    cells: dict[str, Observed] = {}
    for row in rows:
        disagreements = [d for d in observation.disagreements if d.startswith(f"{row} -> ")]
        if disagreements:
            cells[row] = Cell.DENIED, _listed("disagreements", disagreements)
        elif unanswered[row]:
            cells[row] = Cell.ERROR, _listed("cells not observed properly", unanswered[row])
        else:
            cells[row] = Cell.ALLOWED, "every cell answered alike"
    return cells


def judge_agreement(run: AccessRun, name: str) -> None:
    """Record the run's figure (how many cells were asked: `AccessRun.figure`), attach the ways' matrices
    and report as `name`, and end check_rbac_005 by the one verdict rule (checks.verdicts.decide) over
    `agreement_rows` of the run's observation: a disagreement fails (AssertionError), else an unanswered
    cell is ERROR (Inconclusive), else pass."""
    observation = run.observation
    record_run_figure(run)
    attach_ways(observation, name)
    table = requirement_table(AGREE, agreement_rows(observation))
    heading = [f"{len(observation.disagreements)} disagreements"]
    heading += [f"{way} unavailable: {why}" for way, why in observation.unavailable.items()]
    decide(requirement_comparison(table), f"{name}: agreement", "\n".join(heading))
