"""Pure parts of the storage and tenancy engines, and the one-column verdict, that no other unit test names
(issue 18): the reclaim table of a volume already gone (checks/storage/reclaim.py), which tenants the
quota check applies to (checks/storage/quota.py observe_quotas' selection), the plan-objects table and
the declared plans (checks/tenancy.py), require_rows and where requirement_table /
requirement_row put each cell (checks/verdicts.py).

Left to the lab tests because they call the API server: reclaim_table's wait for a volume still there
(read_volume as the operator), observe_quota (claims created as the tenant), and separation's
other_runs_hostpath_pod / other_runs_pod_with_own_volume (a dry-run pod create as the other tenant; the pod
manifest they send is volume_pod_manifest's, covered by test_engine_manifests.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import tenancy as tenancy_checks
from checks.matrix import Cell
from checks.readback import TenantObjects
from checks.storage import quota
from checks.storage.reclaim import RECLAIMED, Deleted, reclaim_table
from checks.storage.volumes import Workspace, WrittenVolume
from checks.verdicts import Inconclusive, require_rows, requirement_row, requirement_table
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.onboarding import onboarding_objects
from provisioning.model.tenancy import AuthorizationMode, Plan, Product, Quota, TenancyModel, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

HANDLE = ClusterHandle("pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab")
MODEL = load_targets(DEFAULT_TARGETS).model


def _tenancy(product: Product, tenants: tuple[Tenant, ...]) -> ProvisionedTenancy:
    return ProvisionedTenancy(product, "run-1", [ProvisionedCluster(HANDLE, tenants)])


# --- reclaim_table: a volume gone before its claim --------------------------------------------------------

WRITTEN = WrittenVolume("blue", "sto-data-1", "sto-writer-1", "pv-old", "lab-hostpath", "16Mi", "t0k3n")


def test_a_volume_gone_before_its_claim_was_deleted_is_denied_naming_volume_and_claim() -> None:
    """Nothing is read: the volume the operator read just before the deletion was already absent."""
    ws = Workspace(_tenancy(MODEL.product("pks"), MODEL.tenants["pks"][:2]), timeout=1.0)
    table = reclaim_table(ws, Deleted(WRITTEN, None), timeout=1.0)
    assert table.rows == ("volume pv-old",)
    assert table.columns == (RECLAIMED,)
    assert table["volume pv-old", RECLAIMED] is Cell.DENIED
    assert table.evidence["volume pv-old", RECLAIMED] == "volume pv-old of blue/sto-data-1 was gone before the claim"


# --- observe_quotas: which tenants the quota check applies to ----------------------------------------------

STORAGE_ONLY = Plan("storage-only", quota=Quota(hard={"requests.storage": "1Gi"}))
COUNT_ONLY = Plan("count-only", quota=Quota(hard={"persistentvolumeclaims": "2"}))
NO_QUOTA = Plan("none")
PARTIAL = Product("pks", "lab", (STORAGE_ONLY, COUNT_ONLY, NO_QUOTA))


def test_no_tenant_whose_plan_sets_both_a_storage_and_a_claim_count_quota_means_not_applicable() -> None:
    tenants = (Tenant("blue", "storage-only"), Tenant("green", "count-only"), Tenant("white", "none"))
    ws = Workspace(_tenancy(PARTIAL, tenants), timeout=1.0)
    assert quota.observe_quotas(ws, tenants) is None
    assert quota.observe_quotas(ws, ()) is None, "no tenant: nothing to observe"


# --- plan_objects_table -----------------------------------------------------------------------------------

PKS = MODEL.product("pks")
BLUE, GREEN = MODEL.tenants["pks"][:2]
ENFORCE = "pod-security.kubernetes.io/enforce"


def _onboarded(tenant: Tenant, objects: frozenset[tuple[str, str]]) -> TenantObjects:
    return TenantObjects(tenant.name, "rbac", {ENFORCE: "restricted"}, objects, frozenset())


def _implied(tenant: Tenant) -> frozenset[tuple[str, str]]:
    return onboarding_objects(tenant, PKS.plan(tenant.plan))


def test_the_objects_a_plan_implies_hold_and_the_role_bindings_are_left_to_the_bindings_table() -> None:
    tenancy = _tenancy(PKS, (BLUE, GREEN))
    without_bindings = frozenset(o for o in _implied(GREEN) if o[0] != "RoleBinding")
    table = tenancy_checks.plan_objects_table(
        [_onboarded(BLUE, _implied(BLUE)), _onboarded(GREEN, without_bindings)], tenancy
    )
    assert table.rows == ("blue", "green")
    assert table["blue", tenancy_checks.PLAN_OBJECTS] is Cell.ALLOWED
    assert table["green", tenancy_checks.PLAN_OBJECTS] is Cell.ALLOWED
    assert table.evidence["blue", tenancy_checks.PLAN_OBJECTS].startswith("blue on plan small: expected [")


def test_a_missing_or_extra_object_is_denied_naming_it() -> None:
    tenancy = _tenancy(PKS, (BLUE, GREEN))
    missing = _implied(BLUE) - {("ResourceQuota", "tenant-quota")}
    extra = _implied(GREEN) | {("NetworkPolicy", "allow-everything")}
    table = tenancy_checks.plan_objects_table([_onboarded(BLUE, missing), _onboarded(GREEN, extra)], tenancy)
    assert table["blue", tenancy_checks.PLAN_OBJECTS] is Cell.DENIED
    assert table.evidence["blue", tenancy_checks.PLAN_OBJECTS] == (
        "tenant blue: missing [('ResourceQuota', 'tenant-quota')], extra []"
    )
    assert table["green", tenancy_checks.PLAN_OBJECTS] is Cell.DENIED
    assert "extra [('NetworkPolicy', 'allow-everything')]" in table.evidence["green", tenancy_checks.PLAN_OBJECTS]


def test_another_plans_objects_are_no_match() -> None:
    """green (medium) opens the control plane; blue's plan (small) does not: green's objects are not blue's."""
    tenancy = _tenancy(PKS, (BLUE, GREEN))
    renamed = frozenset(("Namespace", "tenant-blue") if o[0] == "Namespace" else o for o in _implied(GREEN))
    table = tenancy_checks.plan_objects_table([_onboarded(BLUE, renamed)], tenancy)
    assert table["blue", tenancy_checks.PLAN_OBJECTS] is Cell.DENIED
    assert "extra [('NetworkPolicy', 'allow-control-plane')]" in table.evidence["blue", tenancy_checks.PLAN_OBJECTS]


def test_no_tenant_read_back_is_an_empty_table_and_a_plan_the_product_lacks_a_key_error() -> None:
    assert tenancy_checks.plan_objects_table([], _tenancy(PKS, (BLUE, GREEN))).rows == ()
    stray = Tenant("blue", "huge")
    with pytest.raises(KeyError, match='unknown plan "huge"'):
        tenancy_checks.plan_objects_table([_onboarded(stray, frozenset())], _tenancy(PKS, (stray,)))


# --- declared_plans ---------------------------------------------------------------------------------------


def test_the_declared_plans_are_each_tenants_plan_of_the_targets_file() -> None:
    plans = tenancy_checks.declared_plans(MODEL, "pks")
    assert {tenant: plan.name for tenant, plan in plans.items()} == {"blue": "small", "green": "medium", "red": "large"}
    assert plans["blue"] is PKS.plan("small")


def test_a_product_without_tenants_declares_nothing_and_an_unknown_product_is_a_key_error() -> None:
    lonely = TenancyModel((Product("gke", "lab", (Plan("small"),)),), {})
    assert tenancy_checks.declared_plans(lonely, "gke") == {}
    with pytest.raises(KeyError, match="unknown product"):
        tenancy_checks.declared_plans(MODEL, "eks")


def test_a_tenant_on_a_plan_its_product_does_not_offer_is_a_key_error() -> None:
    broken = TenancyModel((Product("gke", "lab", (Plan("small"),)),), {"gke": (Tenant("blue", "huge"),)})
    with pytest.raises(KeyError, match="unknown plan"):
        tenancy_checks.declared_plans(broken, "gke")


# --- require_rows: one requirement per subject, by the one verdict rule ------------------------------------


def test_rows_that_all_hold_pass_and_no_rows_is_error() -> None:
    require_rows({"blue": (Cell.ALLOWED, "bound"), "green": (Cell.ALLOWED, "bound")}, "report")
    with pytest.raises(Inconclusive, match="nothing was observed"):  # no rows: nothing observed, never a pass
        require_rows({}, "nothing was asked")


def test_a_denied_row_fails_with_the_report_even_beside_an_error() -> None:
    rows = {"blue": (Cell.ERROR, "timed out"), "green": (Cell.DENIED, "bound to pv-1 of class slow")}
    with pytest.raises(AssertionError, match=r"^the report$"):
        require_rows(rows, "the report", "bound to a volume of the default class")


@pytest.mark.parametrize("cell", [Cell.ERROR, Cell.UNOBSERVED])
def test_a_row_not_observed_is_error_never_a_failure_nor_a_pass(cell: Cell) -> None:
    with pytest.raises(Inconclusive, match=r"^the report$"):
        require_rows({"blue": (Cell.ALLOWED, "bound"), "green": (cell, "no answer")}, "the report")


def test_a_requirement_table_puts_each_subjects_cell_and_evidence_in_its_own_row_in_order() -> None:
    table = requirement_table("bound", {"green/c2": (Cell.DENIED, "pending"), "blue/c1": (Cell.ALLOWED, "pv-1")})
    assert (table.rows, table.columns) == (("green/c2", "blue/c1"), ("bound",))
    assert (table["green/c2", "bound"], table["blue/c1", "bound"]) == (Cell.DENIED, Cell.ALLOWED)
    assert table.evidence == {("green/c2", "bound"): "pending", ("blue/c1", "bound"): "pv-1"}
    row = requirement_row("blue/c1", {"control": (Cell.ALLOWED, "listed"), "empty": (Cell.ERROR, "no listing")})
    assert (row.rows, row.columns) == (("blue/c1",), ("control", "empty"))
    assert row["blue/c1", "empty"] is Cell.ERROR
    assert row.evidence["blue/c1", "control"] == "listed"
