"""Storage checks observed once per (plan, cluster) (checks/storage/represented.py, pure pieces): the storage
fence read back, the comparison that sends a differing tenant to a full observation, and the verdict of
check_storage_005 when a covered tenant's quota is mutated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from checks.answered import Answered
from checks.matrix import Cell, Matrix
from checks.representatives import DryRun, Group, ReadBack, compare, groups, observe_once_per_plan
from checks.storage.quota import COLUMNS, quota_comparison, quota_matrix
from checks.storage.represented import READ, as_covered, claim_answer, is_storage_resource, storage_fence, summary
from provisioning.model.tenancy import Tenant

A, D = Cell.ALLOWED, Cell.DENIED
WANTED = dict(zip(COLUMNS, (A, D, A, D), strict=True))  # features/storage/quota.feature


def _quota(hard: Mapping[str, str], name: str = "plan", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"hard": dict(hard), **spec}}


def _limits(*items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "plan"}, "spec": {"limits": list(items)}}


SMALL = {"pods": "10", "requests.cpu": "1", "requests.storage": "2Gi", "persistentvolumeclaims": "2"}


def test_the_storage_fence_is_the_claim_entries_of_quotas_and_limit_ranges() -> None:
    quotas = [
        _quota({**SMALL, "fast.storageclass.storage.k8s.io/requests.storage": "0"}),
        _quota({"pods": "5"}, name="pods-only", scopes=["BestEffort"]),
        _quota({"count/persistentvolumeclaims": "3"}, name="scoped", scopes=["NotBestEffort"]),
    ]
    claim_limit = {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}}
    fence = storage_fence(quotas, [_limits({"type": "Container", "default": {"cpu": "1"}}, claim_limit)])
    assert fence == {
        "ResourceQuota plan hard requests.storage": "2Gi",
        "ResourceQuota plan hard persistentvolumeclaims": "2",
        "ResourceQuota plan hard fast.storageclass.storage.k8s.io/requests.storage": "0",
        "ResourceQuota scoped hard count/persistentvolumeclaims": "3",
        "ResourceQuota scoped scopes": "NotBestEffort",
        "LimitRange plan limits[1]": '{"max": {"storage": "1Gi"}, "type": "PersistentVolumeClaim"}',
    }, "pods, cpu, a pod-only quota's scopes and a container limit decide no claim: not compared"


@pytest.mark.parametrize(
    ("resource", "claims"),
    [
        ("requests.storage", True),
        ("persistentvolumeclaims", True),
        ("gold.storageclass.storage.k8s.io/persistentvolumeclaims", True),
        ("requests.ephemeral-storage", False),
        ("requests.cpu", False),
    ],
)
def test_which_quota_entries_limit_claims(resource: str, claims: bool) -> None:
    assert is_storage_resource(resource) is claims


def test_a_dry_run_claims_answer_is_its_outcome_and_class_never_its_message() -> None:
    admitted = Answered(A, "admitted", "-")
    assert claim_answer(admitted, {"spec": {"storageClassName": "lab-hostpath"}}) == "admitted, class lab-hostpath"
    assert claim_answer(admitted, {"spec": {}}) == "admitted, class (none)"
    assert claim_answer(Answered(D, "403: exceeded quota: plan, ns tenant-x", "quota"), None) == "rejected (quota)"
    assert claim_answer(Answered(Cell.ERROR, "503", "-"), None) == "error"


# --- the read-back: equal covers the tenant, anything differing sends it to a full observation ------------

T1, T2, T3, T4 = Tenant("t001", "small"), Tenant("t002", "medium"), Tenant("t003", "small"), Tenant("t004", "medium")
GROUP = Group("small", "hs-pks-shared", T1, (T3,))
SAME = DryRun("claim beyond requests.storage", "rejected (quota)", "rejected (quota)")


def _fences(**hard: Mapping[str, str]) -> dict[str, Mapping[str, str] | str]:
    return {name: storage_fence([_quota(h)], []) for name, h in hard.items()}


def test_an_equal_storage_quota_and_dry_run_cover_the_tenant() -> None:
    read = compare(GROUP, T3, _fences(t001=SMALL, t003=SMALL), READ, SAME)
    assert read.covered
    assert "same storage quota and claim limits" in read.describe()


def test_a_differing_quota_entry_is_named_and_the_tenant_not_covered() -> None:
    read = compare(GROUP, T3, _fences(t001=SMALL, t003={**SMALL, "requests.storage": "20Gi"}), READ, SAME)
    assert not read.covered
    assert read.differences == ("ResourceQuota plan hard requests.storage: representative 2Gi, tenant 20Gi",)


def test_a_differing_dry_run_answer_or_an_unread_quota_is_not_covered() -> None:
    other = DryRun(SAME.what, "rejected (quota)", "rejected (admission webhook)")
    assert not compare(GROUP, T3, _fences(t001=SMALL, t003=SMALL), READ, other).covered
    unread: dict[str, Mapping[str, str] | str] = {"t001": storage_fence([_quota(SMALL)], []), "t003": "403: forbidden"}
    read = compare(GROUP, T3, unread, READ, SAME)
    assert not read.covered
    assert read.error == "403: forbidden"


# --- check_storage_005 end to end on fakes: observed once per plan, a mutation turns the verdict red ---------


def _observe_quota(hard: Mapping[str, Mapping[str, str]], seen: list[str]) -> Any:
    """A fake observe_quota: the row the tenant's own quota gives (a quota mutated to MUTATED admits the
    claim just beyond its plan's `requests.storage`)."""

    def observe(tenant: Tenant) -> Matrix:
        seen.append(tenant.name)
        beyond = A if hard[tenant.name]["requests.storage"] == MUTATED else D
        cells = dict(zip(COLUMNS, (A, beyond, A, D), strict=True))
        return Matrix.build([tenant.name], COLUMNS, {(tenant.name, c): v for c, v in cells.items()}, {})

    return observe


def _run(hard: Mapping[str, Mapping[str, str]], tenants: tuple[Tenant, ...]) -> tuple[Matrix, list[str], Any]:
    seen: list[str] = []

    def read_back(group: Group) -> list[ReadBack]:
        fences = {t.name: storage_fence([_quota(hard[t.name])], []) for t in (group.representative, *group.covered)}
        return [compare(group, t, dict(fences), READ, SAME) for t in group.covered]

    represented = observe_once_per_plan(tenants, lambda _: "hs-pks-shared", _observe_quota(hard, seen), read_back)
    return quota_matrix(represented), seen, represented


def _verdict(matrix: Matrix) -> str:
    comparison = quota_comparison(matrix, WANTED)
    return "FAIL" if comparison.mismatches else "ERROR" if comparison.incomplete else "pass"


MUTATED = "20Gi"
MEDIUM = {**SMALL, "requests.storage": "5Gi", "persistentvolumeclaims": "5"}
PLANS = {"t001": SMALL, "t002": MEDIUM, "t003": SMALL, "t004": MEDIUM}


def test_two_tenants_per_plan_observe_only_the_representatives_and_pass() -> None:
    matrix, seen, represented = _run(PLANS, (T1, T2, T3, T4))
    assert seen == ["t001", "t002"], "one observation per (plan, cluster), never per tenant"
    assert matrix.rows == ("t001", "t002", "t003", "t004"), "every tenant keeps its row"
    assert _verdict(matrix) == "pass"
    head = summary(represented, lambda name: {"t001": "small", "t002": "medium"}.get(name, "?")).splitlines()[0]
    assert head == (
        "observed t001 (plan small), t002 (plan medium); read back 2 tenants: "
        "2 storage quota and claim limits and dry-run claim equal, 0 differ (observed in full)"
    )


def test_a_covered_tenants_mutated_quota_is_observed_in_full_and_fails() -> None:
    mutated = {**PLANS, "t003": {**SMALL, "requests.storage": MUTATED}}
    matrix, seen, _ = _run(mutated, (T1, T2, T3, T4))
    assert seen == ["t001", "t002", "t003"], "the differing tenant is observed itself"
    assert matrix["t003", COLUMNS[1]] is A, "its own observation, not its representative's, decides its row"
    assert _verdict(matrix) == "FAIL"


def test_one_tenant_per_plan_is_observed_in_full_as_before() -> None:
    matrix, seen, represented = _run(PLANS, (T1, T2))
    assert seen == ["t001", "t002"]
    assert not represented.read_backs
    assert matrix.rows == ("t001", "t002")
    assert _verdict(matrix) == "pass"


def test_a_covered_row_is_the_representatives_cells_said_of_the_tenant() -> None:
    table = Matrix.build(
        ["t001/sto-claim-1"], ["bound"], {("t001/sto-claim-1", "bound"): A}, {("t001/sto-claim-1", "bound"): "-> pv-1"}
    )
    read = ReadBack("t003", "small", "hs-pks-shared", "t001", probed="dry-run x: admitted", read=READ)
    covered = as_covered(table, read)
    assert covered.rows == ("t003 (as t001/sto-claim-1)",)
    assert covered["t003 (as t001/sto-claim-1)", "bound"] is A
    assert covered.evidence["t003 (as t001/sto-claim-1)", "bound"] == (
        "covered by t001's observation (same storage quota and claim limits; dry-run x: admitted): -> pv-1"
    )
    with pytest.raises(ValueError, match="one row"):
        as_covered(Matrix.build(["a", "b"], ["bound"], {}), read)


def test_groups_are_by_plan_and_cluster() -> None:
    found = groups((T4, T3, T2, T1), lambda t: "hs-pks-shared")
    assert [(g.representative.name, [t.name for t in g.covered]) for g in found] == [
        ("t001", ["t003"]),
        ("t002", ["t004"]),
    ]


def test_check_storage_001_binds_the_representatives_claim_and_says_it_of_the_covered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """binding_table asks only the claims created (the representatives'); a covered tenant's row is its
    representative's cell, named after both."""
    from checks.representatives import Represented
    from checks.storage import dynamic

    asked: list[tuple[str, str]] = []

    def bound(_ws: Any, tenant: str, claim: str, _timeout: float) -> tuple[Cell, str]:
        asked.append((tenant, claim))
        return A, "-> pv-1 (lab-hostpath), which names claim c1"

    monkeypatch.setattr(dynamic, "_bound", bound)
    read = ReadBack("t003", "small", "hs-pks-shared", "t001", probed="dry-run claim: admitted, class lab-hostpath")
    ws: Any = object()  # never used: _bound is the fake's
    table = dynamic.binding_table(ws, Represented({"t001": ("t001", "c1")}, (read,)), 60.0)
    assert asked == [("t001", "c1")], "one claim bound, not one per tenant"
    assert table.rows == ("t001/c1", "t003 (as t001/c1)")
    assert table["t003 (as t001/c1)", dynamic.BOUND] is A
