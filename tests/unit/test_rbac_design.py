"""checks.rbac.design and its wiring in checks.rbac.matrix (issue 23): within the budget every cell is asked
as before; beyond it the covering design's cells are asked, each with the model's answer for that cell,
only they are judged, and the report says what was asked, what was inferred and how the model agreed."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.matrix import Cell, Matrix
from checks.rbac import matrix as rbac
from checks.rbac.access import Observation
from checks.rbac.design import agreement, chosen
from checks.rbac.discovery import ApiResource, ApiSubresource
from harness.errors import ConfigError
from harness.settings import DEFAULT_TARGETS, Covering, covering_of
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.tenancy import AuthorizationMode, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "watch", "create", "delete"))
SECRETS = ApiResource("", "v1", "secrets", "Secret", True, ("get", "list", "watch"))
NODES = ApiResource("", "v1", "nodes", "Node", False, ("get", "list"))
EXEC = ApiSubresource(PODS, "exec", "PodExecOptions", ("get", "create"))
RESOURCES = [PODS, SECRETS, NODES]
PROVIDER = ["kube-system", "default"]


def shared(count: int) -> tuple[ProvisionedTenancy, ProvisionedCluster]:
    """pks's shared cluster with `count` tenants t000.. on its small plan."""
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab"
    )
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    cluster = ProvisionedCluster(handle, tuple(Tenant(f"t{i:03d}", "small") for i in range(count)))
    tenancy.clusters.append(cluster)
    return tenancy, cluster


def families(count: int) -> list[rbac.Family[rbac.Question]]:
    tenancy, cluster = shared(count)
    return [
        rbac.namespaced_family(tenancy, cluster, RESOURCES),
        rbac.cluster_scoped_family(cluster, RESOURCES),
        *rbac.provider_families(tenancy, cluster, RESOURCES, PROVIDER),
        *rbac.subresource_families(tenancy, cluster, [EXEC], PROVIDER),
    ]


def key(q: rbac.Question) -> tuple[str, str]:
    return q.probe.row, q.probe.column


def test_within_the_budget_every_cell_is_asked_as_the_question_lists_say() -> None:
    tenancy, cluster = shared(3)
    design, asked = chosen(families(3), budget=10**6)
    assert design is None
    every = (
        rbac.namespaced_questions(tenancy, cluster, RESOURCES)
        + rbac.cluster_scoped_questions(cluster, RESOURCES)
        + rbac.provider_questions(tenancy, cluster, RESOURCES, PROVIDER)
        + rbac.subresource_questions(tenancy, cluster, [EXEC], PROVIDER)
    )
    assert [key(q) for q in asked] == [key(q) for q in every]
    assert [q.expected for q in asked] == [q.expected for q in every]


def test_beyond_the_budget_the_design_is_asked_each_cell_with_the_models_answer() -> None:
    found = families(12)
    design, asked = chosen(found, budget=1000, sample=50, seed=11)
    assert design is not None
    assert design.seed == 11
    assert len(asked) == len(design.asked) < design.cells == sum(f.space.cells for f in found)
    model = {key(q): q for f in found for q in f.every()}
    assert all(model[key(q)].expected is q.expected and model[key(q)].scope == q.scope for q in asked)
    namespaced = {(q.identity.tenant, q.probe.attributes["namespace"]) for q in asked if q.scope == "namespaced"}
    tenants = [f"t{i:03d}" for i in range(12)]
    assert {(a, f"tenant-{b}") for a in tenants for b in tenants if a != b} <= namespaced
    again, _ = chosen(found, budget=1000, sample=50, seed=11)
    assert again == design


def run_of(count: int, flip: int = -1) -> rbac.AccessRun:
    """A covered run whose API server answers as the model, except asked question `flip`."""
    _tenancy, cluster = shared(count)
    design, asked = chosen(families(count), budget=100, sample=5, seed=3)
    questions = rbac.own_namespace_controls(cluster, RESOURCES) + asked
    cells = {key(q): q.expected for q in questions}
    if flip >= 0:
        q = asked[flip]
        cells[key(q)] = Cell.DENIED if q.expected is Cell.ALLOWED else Cell.ALLOWED
    rows = list(dict.fromkeys(q.probe.row for q in questions))
    columns = list(dict.fromkeys(q.probe.column for q in questions))
    observation = Observation({"request": Matrix.build(rows, columns, cells)}, (), {})
    return rbac.AccessRun(tuple(questions), observation, design=design)


def test_only_the_asked_cells_are_judged_and_the_report_says_what_was_inferred() -> None:
    run = run_of(6)
    comparison = run.compare(lambda q: q.scope in ("namespaced", "control"))
    assert comparison.passed
    judged = [q for q in run.questions if q.scope in ("namespaced", "control")]
    assert len(comparison.expected.cells) == len({key(q) for q in judged})  # a control may be an asked cell too
    assert run.design is not None
    report = run.report()
    assert f"covering design (seed 3): {len(run.design.asked)} of {run.design.cells} cells asked" in report
    assert f"{run.design.inferred} inferred from the model, not observed" in report
    asked = len({key(q) for q in run.questions})  # a control the design asked too counts once
    assert f"model vs request: {asked:,} of {asked:,} answered cells agree (100.00%)" in report


def test_a_cell_the_api_server_answers_otherwise_is_judged_and_lowers_the_agreement() -> None:
    run = run_of(6, flip=0)
    assert not run.compare().passed
    asked = len({key(q) for q in run.questions})  # a control the design asked too counts once
    assert agreement(run.questions, run.observation) == (
        f"model vs request: {asked - 1:,} of {asked:,} answered cells agree ({100 * (asked - 1) / asked:.2f}%)"
    )


def test_a_run_within_the_budget_says_every_cell_was_asked() -> None:
    run = rbac.AccessRun(run_of(3).questions, run_of(3).observation)
    assert "every cell asked" in run.report()
    assert "none inferred from the model" in run.report()


def test_the_covering_settings_come_from_the_environment() -> None:
    assert covering_of({}) == Covering()
    assert covering_of({"CAAS_RBAC_CELL_BUDGET": "5", "CAAS_RBAC_SAMPLE": "0", "CAAS_RBAC_SEED": "9"}) == Covering(
        5, 0, 9
    )
    with pytest.raises(ConfigError, match="CAAS_RBAC_SEED"):
        covering_of({"CAAS_RBAC_SEED": "-1"})


def test_service_accounts_are_a_family_of_their_own_kinds_and_their_relabels_always_asked() -> None:
    from checks.rbac.service_accounts import service_accounts

    tenancy, cluster = shared(8)
    accounts = service_accounts(cluster.tenants)
    found, relabels = rbac.service_account_families(tenancy, cluster, RESOURCES, PROVIDER, accounts)
    assert {s.kind for s in found[0].space.subjects} == {"default", "caas-builder"}
    assert len(relabels) == len(accounts)
    every = rbac.service_account_questions(tenancy, cluster, RESOURCES, PROVIDER, accounts)
    assert len(every) == sum(f.space.cells for f in found) + len(relabels)
    design, asked = chosen(found, budget=10, sample=0, seed=1)
    assert design is not None
    pairs = {(q.identity.tenant, q.probe.attributes["namespace"]) for q in asked}
    tenants = [t.name for t in cluster.tenants]
    assert {(a, f"tenant-{b}") for a in tenants for b in tenants if a != b} <= pairs


def test_the_ways_agreement_judges_the_asked_cells_only() -> None:
    from checks.rbac.agreement import agreement_rows

    run = run_of(6)  # a covering design: most cells of the ways' matrices are not asked, so not set
    ways = {w: run.observation.request for w in ("request", "subjectaccessreview")}
    rows = agreement_rows(Observation(ways, (), {}))
    assert {cell for cell, _ in rows.values()} == {Cell.ALLOWED}
    asked = next(iter(run.observation.request.cells))
    erred = Matrix.build(
        run.observation.request.rows,
        run.observation.request.columns,
        {**run.observation.request.cells, asked: Cell.ERROR},
    )
    assert agreement_rows(Observation({**ways, "request": erred}, (), {}))[asked[0]][0] is Cell.ERROR
