"""What a scenario judged and who decided its verdict, recorded as the scenario's Allure labels `plan` and
`layer`, which the report shows as `plans` and `decided_by` (reports.records).

Deciding layers: those the one verdict rule (`checks.verdicts.require`) read in the compared cells
(`checks.matrix.decided_by`: the classifier's layer per observed cell). A verdict whose cells name no
layer (a reachability matrix, a requirement table of facts) is decided by its area's layers
(`Scope.layers`, e.g. the authorization modes of the plans judged), and so is a scenario that reached no
verdict of the rule (it ended on an error or a skip).

Plans: those of the tenants the scenario judged. An engine that observes some tenants of the product
names them (`judged`); a scenario whose engines named none judged the tenants its placement tags select
(`Scope.placed`: a @shared_cluster scenario the shared tenants, a @dedicated_cluster one the dedicated
tenants, both tags or none every tenant). The plugin calls `begin` before the scenario and `end` after it,
which labels the plans (a label cannot be taken back, so none is set before the scenario's end). Outside a
scenario nothing is recorded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import allure

LAYER_LABEL = "layer"
PLAN_LABEL = "plan"


def _no_layers(plans: tuple[str, ...]) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Scope:
    """What a scenario on one product may judge: `plans` {tenant name: its plan} for every tenant of the
    product, `placed` the tenants the scenario's placement tags select (judged unless an engine names
    others), `layers` the area's deciding layers for the plans judged (sorted plan names -> layers)."""

    plans: Mapping[str, str]
    placed: tuple[str, ...] = ()
    layers: Callable[[tuple[str, ...]], tuple[str, ...]] = _no_layers


@dataclass
class _Scenario:
    scope: Scope
    named: list[str] = field(default_factory=list)  # the layers labelled so far, in order
    tenants: list[str] = field(default_factory=list)  # the tenants engines named as judged, in order

    def judged_plans(self) -> tuple[str, ...]:
        """The sorted plans of the tenants judged: those engines named, else the placement's."""
        tenants = self.tenants or self.scope.placed
        return tuple(sorted({self.scope.plans[t] for t in tenants if t in self.scope.plans}))


_SCENARIO: contextvars.ContextVar[_Scenario | None] = contextvars.ContextVar("decided", default=None)

Token = contextvars.Token[_Scenario | None]


def begin(scope: Scope) -> Token:
    """Start recording what the scenario about to run judges on its product (`scope`); the token ends
    it (`end`)."""
    return _SCENARIO.set(_Scenario(scope))


def judged(tenants: Iterable[str]) -> None:
    """Record that the running scenario judged these tenants (by name): its plans are theirs, together
    with any other tenant named before; nothing outside a scenario."""
    scenario = _SCENARIO.get()
    if scenario is None:
        return
    for tenant in tenants:
        if tenant not in scenario.tenants:
            scenario.tenants.append(tenant)


def record(layers: Iterable[str]) -> None:
    """Label the running scenario with each of `layers` (none: its area's for the plans judged so far)
    it has not named yet; nothing outside a scenario."""
    scenario = _SCENARIO.get()
    if scenario is None:
        return
    for layer in tuple(layers) or scenario.scope.layers(scenario.judged_plans()):
        if layer not in scenario.named:
            scenario.named.append(layer)
            allure.dynamic.label(LAYER_LABEL, layer)


@dataclass(frozen=True)
class Judged:
    """What `end` labelled: the plans judged (sorted) and the deciding layers (in order)."""

    plans: tuple[str, ...]
    layers: tuple[str, ...]


def end(token: Token) -> Judged:
    """Stop recording: label the plans judged, and the area's layers if no verdict named any."""
    scenario = _SCENARIO.get()
    if scenario is None:
        _SCENARIO.reset(token)
        return Judged((), ())
    if not scenario.named:
        record(())
    plans = scenario.judged_plans()
    for plan in plans:
        allure.dynamic.label(PLAN_LABEL, plan)
    _SCENARIO.reset(token)
    return Judged(plans, tuple(scenario.named))
