"""The access matrices' figure in the records (checks.rbac.design.figure, recorded by checks.rbac.matrix's
judge_scope, checks.rbac.reach's attach_and_judge and checks.rbac.agreement's judge_agreement): a PASS on a
covering design says how many cells were asked, the seed, how many were inferred from the model and the
model's agreement; a PASS on the whole matrix says every cell was asked; runs not chosen by the cell budget
(streams, paths) record none."""

from __future__ import annotations

import dataclasses

import pytest

from checks import evidence
from checks.matrix import Cell
from checks.rbac import matrix as rbac
from checks.rbac.agreement import judge_agreement
from checks.rbac.design import chosen
from checks.rbac.reach import TokenRun, attach_and_judge
from tests.unit.test_rbac_design import families, run_of


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The Allure labels the running scenario got (a figure is one named evidence.FIGURE_LABEL)."""
    got: list[tuple[str, str]] = []
    monkeypatch.setattr(evidence.allure.dynamic, "label", lambda name, *values: got.extend((name, v) for v in values))
    return got


def covered(flip: int = -1) -> rbac.AccessRun:
    """A run chosen by the cell budget: a covering design (seed 3) of 6 tenants."""
    return dataclasses.replace(run_of(6, flip), budgeted=True)


def whole() -> rbac.AccessRun:
    """A run chosen by the cell budget within it: every cell asked."""
    run = run_of(3)
    return dataclasses.replace(run, design=None, budgeted=True)


def distinct(run: rbac.AccessRun) -> int:
    return len({(q.probe.row, q.probe.column) for q in run.questions})


def test_a_covering_design_figure_names_asked_cells_seed_inferred_and_agreement() -> None:
    run = covered()
    assert run.design is not None
    assert run.figure() == (
        f"asked {len(run.design.asked):,} of {run.design.cells:,} cells (covering design, seed 3); "
        f"{run.design.inferred:,} inferred from the model, agreement 100.00%"
    )
    flipped = covered(flip=denied_flip())
    share = 100 * (distinct(flipped) - 1) / distinct(flipped)
    assert flipped.figure().endswith(f"inferred from the model, agreement {share:.2f}%")


def test_a_whole_matrix_figure_says_every_cell_was_asked_and_other_runs_have_none() -> None:
    assert whole().figure() == f"asked every cell ({distinct(whole()):,})"
    assert dataclasses.replace(whole(), budgeted=False).figure() == ""


def denied_flip() -> int:
    """The index of run_of's first asked question the model denies: flipped, it is a contradiction (FAIL)."""
    _design, asked = chosen(families(6), budget=100, sample=5, seed=3)
    return next(i for i, q in enumerate(asked) if q.expected is Cell.DENIED and q.scope == "namespaced")


def test_judge_scope_records_the_figure_on_a_pass_and_on_a_fail(figures: list[tuple[str, str]]) -> None:
    failing = covered(flip=denied_flip())
    rbac.judge_scope(covered(), "namespaced", "tenant namespace access")
    with pytest.raises(AssertionError):
        rbac.judge_scope(failing, "namespaced", "tenant namespace access")
    assert figures == [(evidence.FIGURE_LABEL, covered().figure()), (evidence.FIGURE_LABEL, failing.figure())]
    assert covered().figure() != failing.figure()


def test_the_ways_agreement_records_the_matrix_figure(figures: list[tuple[str, str]]) -> None:
    judge_agreement(whole(), "whole matrix")
    assert figures == [(evidence.FIGURE_LABEL, f"asked every cell ({distinct(whole()):,})")]


def test_the_service_accounts_record_their_figure_and_streams_none(figures: list[tuple[str, str]]) -> None:
    run = covered()
    accounts = TokenRun(run.questions, run.observation, positive_control=False, design=run.design, budgeted=True)
    attach_and_judge([("service accounts", accounts)])
    attach_and_judge([("streams", dataclasses.replace(run, design=None, budgeted=False))])
    assert figures == [(evidence.FIGURE_LABEL, run.figure())]
