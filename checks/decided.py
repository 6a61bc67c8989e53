"""Who decided a scenario's verdict: the layers the one verdict rule (`checks.verdicts.require`) read in
the compared cells (`reports.matrix.decided_by`: the classifier's layer per observed cell), recorded as
the scenario's Allure label `layer`, which the report shows as `decided_by` (reports.records).

A verdict whose cells name no layer (a reachability matrix, a requirement table of facts) is decided by
its area's layer (`fixtures.run_facts.area_layers`), and so is a scenario that reached no verdict of the
rule (it ended on an error or a skip): the plugin calls `begin` with the area's layers before the
scenario and `end` after it. Outside a scenario nothing is recorded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass, field

import allure

LAYER_LABEL = "layer"


@dataclass
class _Scenario:
    fallback: tuple[str, ...]  # the area's layers
    named: list[str] = field(default_factory=list)  # the layers labelled so far, in order


_SCENARIO: contextvars.ContextVar[_Scenario | None] = contextvars.ContextVar("decided", default=None)

Token = contextvars.Token[_Scenario | None]


def begin(fallback: Iterable[str]) -> Token:
    """Start recording the deciding layers of the scenario about to run, `fallback` (its area's) for a
    verdict whose cells name none; the token ends it (`end`)."""
    return _SCENARIO.set(_Scenario(tuple(fallback)))


def record(layers: Iterable[str]) -> None:
    """Label the running scenario with each of `layers` (none: its area's) it has not named yet;
    nothing outside a scenario."""
    scenario = _SCENARIO.get()
    if scenario is None:
        return
    for layer in tuple(layers) or scenario.fallback:
        if layer not in scenario.named:
            scenario.named.append(layer)
            allure.dynamic.label(LAYER_LABEL, layer)


def end(token: Token) -> tuple[str, ...]:
    """Stop recording, labelling the area's layers if no verdict named any; the layers labelled, in order."""
    scenario = _SCENARIO.get()
    if scenario is not None and not scenario.named:
        record(())
    _SCENARIO.reset(token)
    return tuple(scenario.named) if scenario else ()
