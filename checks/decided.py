"""What a scenario judged and who decided its verdict, recorded as the scenario's Allure labels `plan`,
`tenancy`, `layer` and `area_layer`, which the report shows as `plans`, `tenancy`, `decided_by` and
`decided_by_source` (reports.records).

Deciding layers are evidence only where a verdict read them: `layer` holds those the one verdict rule
(`checks.verdicts.require`) read in the compared cells (`checks.matrix.decided_by`: the classifier's layer
per observed cell). A verdict whose cells name no layer (a reachability matrix, a requirement table of
facts) is attributed its area's layers (`Scope.layers`, e.g. the authorization modes of the plans judged),
labelled apart as `area_layer`: a default, not an observation. A scenario that reached no verdict (it
ended on an error or a skip before the rule) gets neither: no layer decided it.

Plans and tenancy: those of the tenants the scenario judged. An engine that observes some tenants of the
product names them (`judged`); a scenario whose engines named none judged the tenants its placement tags
select (`Scope.placed`: a @shared_cluster scenario the shared tenants, a @dedicated_cluster one the
dedicated tenants, both tags or none every tenant); its tenancy is their placements (`Scope.placements`:
shared_cluster, dedicated_cluster), so a feature without a placement tag (smoke, federation) names the
placements of the tenants it judged rather than none. The plugin calls `begin` before the scenario and
`end` after it, which labels the plans and the tenancy (a label cannot be taken back, so none is set
before the scenario's end). Outside a scenario nothing is recorded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import allure

LAYER_LABEL = "layer"  # a layer read in the observed cells a verdict compared (evidence)
AREA_LAYER_LABEL = "area_layer"  # the area's layer, attributed to a verdict whose cells named none
PLAN_LABEL = "plan"
TENANCY_LABEL = "tenancy"  # the placement of a tenant judged: shared_cluster or dedicated_cluster


def _no_layers(plans: tuple[str, ...]) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Scope:
    """What a scenario on one product may judge: `plans` {tenant name: its plan} for every tenant of the
    product, `placed` the tenants the scenario's placement tags select (judged unless an engine names
    others), `layers` the area's deciding layers for the plans judged (sorted plan names -> layers),
    `placements` {tenant name: "shared_cluster" or "dedicated_cluster"} for every tenant of the product."""

    plans: Mapping[str, str]
    placed: tuple[str, ...] = ()
    layers: Callable[[tuple[str, ...]], tuple[str, ...]] = _no_layers
    placements: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Scenario:
    scope: Scope
    named: list[str] = field(default_factory=list)  # the observed layers labelled so far, in order
    attributed: list[str] = field(default_factory=list)  # the area's layers labelled so far, in order
    tenants: list[str] = field(default_factory=list)  # the tenants engines named as judged, in order

    def judged_tenants(self) -> tuple[str, ...]:
        """The tenants judged: those engines named, else the placement's."""
        return tuple(self.tenants) or self.scope.placed

    def judged_plans(self) -> tuple[str, ...]:
        """The sorted plans of the tenants judged."""
        return tuple(sorted({self.scope.plans[t] for t in self.judged_tenants() if t in self.scope.plans}))

    def judged_tenancy(self) -> tuple[str, ...]:
        """The sorted placements of the tenants judged (shared_cluster, dedicated_cluster)."""
        placements = self.scope.placements
        return tuple(sorted({placements[t] for t in self.judged_tenants() if t in placements}))


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
    """Label the running scenario with each of `layers`, the layers a verdict read in its observed cells,
    it has not named yet (`layer`); a verdict whose cells named none (`layers` empty) gets its area's for
    the plans judged so far, labelled apart (`area_layer`). Nothing outside a scenario."""
    scenario = _SCENARIO.get()
    if scenario is None:
        return
    observed = tuple(layers)
    named, label = (scenario.named, LAYER_LABEL) if observed else (scenario.attributed, AREA_LAYER_LABEL)
    for layer in observed or scenario.scope.layers(scenario.judged_plans()):
        if layer not in named:
            named.append(layer)
            allure.dynamic.label(label, layer)


@dataclass(frozen=True)
class Judged:
    """What a scenario labelled by its `end`: the plans judged (sorted), the deciding layers read in
    observed cells (in order), the area's layers attributed to verdicts whose cells named none (in
    order), and the placements of the tenants judged (sorted)."""

    plans: tuple[str, ...]
    layers: tuple[str, ...]
    area_layers: tuple[str, ...] = ()
    tenancy: tuple[str, ...] = ()


def end(token: Token) -> Judged:
    """Stop recording: label the plans judged and their tenancy. No layer is added: a scenario that
    reached no verdict was decided by none."""
    scenario = _SCENARIO.get()
    if scenario is None:
        _SCENARIO.reset(token)
        return Judged((), ())
    plans, tenancy = scenario.judged_plans(), scenario.judged_tenancy()
    for plan in plans:
        allure.dynamic.label(PLAN_LABEL, plan)
    for placement in tenancy:
        allure.dynamic.label(TENANCY_LABEL, placement)
    _SCENARIO.reset(token)
    return Judged(plans, tuple(scenario.named), tuple(scenario.attributed), tenancy)
