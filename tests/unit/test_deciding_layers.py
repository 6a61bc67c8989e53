"""What a scenario judged and who decided its verdict reach the report per check (checks/decided.py): the
one verdict rule labels the layers of the observed cells it compared (`layer`), a verdict whose cells name
none its area's for the plans judged, apart (`area_layer`), a scenario that reached no verdict none; its
plans and tenancy are those of the tenants its engines named, else of the tenants its placement selects."""

from __future__ import annotations

import pytest

from checks import decided
from checks.answered import Answered, failed
from checks.matrix import Cell, Matrix, compare
from checks.privileged.workloads import DeploymentObservation
from checks.verdicts import require, require_rows
from provisioning.kube.client import ApiFailure
from provisioning.model.privileges import Case

AREA = ("admission (PodSecurity, API validation)",)
PLANS = {"blue": "small", "green": "medium", "red": "large"}
PLACEMENTS = {"blue": "shared_cluster", "green": "shared_cluster", "red": "dedicated_cluster"}


def scope(area: tuple[str, ...] = AREA, placed: tuple[str, ...] = ("blue", "green")) -> decided.Scope:
    return decided.Scope(PLANS, placed, lambda plans: area, PLACEMENTS)


def authorization(plans: tuple[str, ...]) -> tuple[str, ...]:
    """An rbac area's layers: the authorization modes of the plans judged (small is ABAC here)."""
    return tuple(sorted({"authorization (ABAC)" if p == "small" else "authorization (RBAC)" for p in plans}))


@pytest.fixture
def labels(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The Allure labels the running scenario got."""
    got: list[tuple[str, str]] = []
    monkeypatch.setattr(decided.allure.dynamic, "label", lambda name, *values: got.extend((name, v) for v in values))
    return got


def test_a_verdict_labels_the_layers_of_its_observed_cells_once(labels: list[tuple[str, str]]) -> None:
    token = decided.begin(scope())
    rows = {"blue": (Cell.ALLOWED, "refused"), "green": (Cell.ALLOWED, "refused"), "red": (Cell.ALLOWED, "ran")}
    require_rows(rows, "report", layers={"blue": "authorizer", "green": "authorizer", "red": "-"})
    require_rows({"blue": (Cell.ALLOWED, "")}, "report", layers={"blue": "PodSecurity admission"})
    assert decided.end(token) == decided.Judged(
        ("medium", "small"), ("authorizer", "PodSecurity admission"), (), ("shared_cluster",)
    )
    assert labels == [
        ("layer", "authorizer"),
        ("layer", "PodSecurity admission"),
        ("plan", "medium"),
        ("plan", "small"),
        ("tenancy", "shared_cluster"),
    ]


def test_a_verdict_whose_cells_name_no_layer_is_attributed_its_areas_apart(labels: list[tuple[str, str]]) -> None:
    token = decided.begin(scope())
    expected = Matrix.build(["a"], ["x"], {("a", "x"): Cell.DENIED})
    with pytest.raises(AssertionError):
        require(compare(expected, Matrix.build(["a"], ["x"], {("a", "x"): Cell.ALLOWED})))
    judged = decided.end(token)
    assert (judged.layers, judged.area_layers) == ((), AREA), "the area's layer is a default, not an observation"
    assert labels[0] == ("area_layer", AREA[0])
    assert ("layer", AREA[0]) not in labels


def test_a_scenario_without_a_verdict_gets_no_layer_when_it_ends(labels: list[tuple[str, str]]) -> None:
    token = decided.begin(scope())
    assert decided.end(token) == decided.Judged(("medium", "small"), (), (), ("shared_cluster",))
    assert [name for name, _ in labels if name in ("layer", "area_layer")] == [], "it ended before any verdict"
    assert decided.end(decided.begin(scope(area=(), placed=()))) == decided.Judged((), ())


def test_the_plans_are_those_of_the_tenants_the_engines_judged(labels: list[tuple[str, str]]) -> None:
    token = decided.begin(scope(placed=("blue", "green")))
    decided.judged(["green"])
    decided.judged(["green", "nobody"])  # a name the product has no tenant of adds no plan
    require_rows({"green": (Cell.ALLOWED, "")}, "report", layers={"green": "-"})
    assert decided.end(token) == decided.Judged(("medium",), (), AREA, ("shared_cluster",))
    assert ("plan", "medium") in labels
    assert ("plan", "small") not in labels, "blue was placed, but the engines judged green only"


def test_a_dedicated_scenario_judges_the_dedicated_tenants_plans(labels: list[tuple[str, str]]) -> None:
    assert decided.end(decided.begin(scope(placed=("red",)))).plans == ("large",)
    assert [v for n, v in labels if n == "plan"] == ["large"]
    assert [v for n, v in labels if n == "tenancy"] == ["dedicated_cluster"]


def test_a_scenario_without_a_placement_tag_names_the_placements_of_every_tenant_it_judged(
    labels: list[tuple[str, str]],
) -> None:
    """A feature with no placement tag (smoke, federation) judges every tenant unless its engines name
    some: its tenancy is theirs, never empty."""
    assert decided.end(decided.begin(scope(placed=("blue", "green", "red")))).tenancy == (
        "dedicated_cluster",
        "shared_cluster",
    )
    token = decided.begin(scope(placed=("blue", "green", "red")))
    decided.judged(["red"])
    assert decided.end(token).tenancy == ("dedicated_cluster",)


def test_an_areas_layers_follow_the_plans_judged(labels: list[tuple[str, str]]) -> None:
    facts = {"blue": (Cell.ALLOWED, ""), "green": (Cell.ALLOWED, "")}
    token = decided.begin(decided.Scope(PLANS, ("blue", "green"), authorization))
    decided.judged(["green"])
    require_rows(facts, "report", layers={})
    assert decided.end(token).area_layers == ("authorization (RBAC)",), "small (ABAC) was not judged"
    token = decided.begin(decided.Scope(PLANS, ("blue", "green"), authorization))
    require_rows(facts, "report", layers={})
    assert decided.end(token).area_layers == ("authorization (ABAC)", "authorization (RBAC)")


def test_outside_a_scenario_nothing_is_labelled(labels: list[tuple[str, str]]) -> None:
    require_rows({"blue": (Cell.ALLOWED, "")}, "report", layers={"blue": "authorizer"})
    decided.judged(["blue"])
    assert labels == []


def test_a_refused_request_is_denied_by_the_layer_the_classifier_reads() -> None:
    quota = (
        '{"message": "pods \\"x\\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1"}'
    )
    assert failed(ApiFailure(403, "Forbidden", quota)).layer == "ResourceQuota admission"
    assert failed(ApiFailure(403, "Forbidden", quota)).cell is Cell.DENIED
    assert failed(ApiFailure(409, "Conflict")) == Answered(Cell.ALLOWED, "409: Conflict", "-")
    assert failed(ApiFailure(503, "Service Unavailable")).cell is Cell.ERROR


@pytest.mark.parametrize(
    ("refusal", "failed_create", "warnings", "layer"),
    [
        (
            'deployments.apps "f" is forbidden: violates PodSecurity "baseline:latest": host',
            "",
            (),
            "PodSecurity admission",
        ),
        ("", 'pods "f-1" is forbidden: violates PodSecurity "restricted:latest": x', (), "PodSecurity admission"),
        ("", "", ('would violate PodSecurity "restricted:latest": x',), "PodSecurity admission"),
        ("", "", (), "-"),
    ],
)
def test_a_deployment_is_decided_by_who_refused_it_its_pods_or_warned(
    refusal: str, failed_create: str, warnings: tuple[str, ...], layer: str
) -> None:
    seen = DeploymentObservation("blue", Case.PRIVILEGED, not refusal, warnings, failed_create, 0, refusal=refusal)
    assert seen.decided_by == layer
