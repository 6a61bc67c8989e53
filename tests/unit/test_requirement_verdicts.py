"""Requirement tables of the storage, provisioning and smoke checks, and the one verdict rule they end
by (checks/verdicts.py, checks/tenancy.py, checks/storage/reclaim.py): a requirement that
holds passes, one contradicted fails, one that could not be observed is ERROR, and a failed positive
control turns every contradiction into ERROR (no cluster)."""

from __future__ import annotations

import types
from typing import Any, cast

import pytest

from checks import tenancy as tenancy_checks
from checks.matrix import Cell, Comparison
from checks.network.reachability import Verdict
from checks.network.reachability import require as network_require
from checks.readback import TenantObjects
from checks.storage import dynamic, persistence, reclaim
from checks.storage.volumes import Workspace, WrittenVolume
from checks.verdicts import (
    Inconclusive,
    decide,
    holds,
    require,
    requirement_comparison,
    requirement_row,
    requirement_table,
    stacked,
)
from harness.wait import WaitTimeout
from provisioning.kube.client import ApiFailure
from provisioning.model.tenancy import Placement, Plan, PodSecurityLevel, Tenant
from provisioning.tenancy import ProvisionedTenancy
from tests.unit.test_requirement_tables import verdict

A, D, E = Cell.ALLOWED, Cell.DENIED, Cell.ERROR


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([A, A], "pass"),
        ([A, D], "FAIL"),
        ([A, E], "ERROR"),
        ([D, E], "FAIL"),  # a contradiction observed is a failure, whatever else could not be seen
    ],
)
def test_every_cell_of_a_requirement_table_must_hold(cells: list[Cell], expected: str) -> None:
    table = requirement_table("holds", {f"s{i}": (c, "seen") for i, c in enumerate(cells)})
    assert verdict(requirement_comparison(table)) == expected


def test_a_failed_positive_control_turns_contradictions_into_errors() -> None:
    table = requirement_row("t/c", {"control": (E, "the pod never ran"), "empty": (D, "found a token")})
    comparison = requirement_comparison(table, [("t/c", "control")])
    assert verdict(comparison) == "ERROR"
    assert comparison.observed["t/c", "empty"] is E
    assert (
        "positive control failed (t/c -> control is error: the pod never ran)"
        in (comparison.observed.evidence["t/c", "empty"])
    )
    held = requirement_row("t/c", {"control": (A, "listed"), "empty": (D, "found a token")})
    assert verdict(requirement_comparison(held, [("t/c", "control")])) == "FAIL"
    with pytest.raises(KeyError, match="not a cell"):
        requirement_comparison(held, [("t/c", "absent")])


def test_tables_stack_only_with_the_same_columns_and_distinct_rows() -> None:
    one = requirement_table("c", {"a": holds(True, "")})
    two = requirement_table("c", {"b": holds(False, "no")})
    both = stacked([one, two])
    assert both.rows == ("a", "b")
    assert both["b", "c"] is D
    with pytest.raises(ValueError, match="same columns"):
        stacked([one, requirement_table("other", {"b": holds(True, "")})])
    with pytest.raises(ValueError, match="distinct rows"):
        stacked([one, one])


def test_decide_attaches_the_evidence_and_fails_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    attached: list[tuple[str, str]] = []
    monkeypatch.setattr("checks.verdicts.attach_text", lambda body, name: attached.append((name, body)))
    table = requirement_table("bound", {"blue/c1": holds(False, "bound to pv-1 of class slow, not the default")})
    with pytest.raises(AssertionError, match="not the default"):
        decide(requirement_comparison(table), "bound claims", "heading")
    assert attached[0][0] == "bound claims"
    assert attached[0][1].startswith("heading\nFAIL")


# --- provisioning and smoke tables ---------------------------------------------------------------------


def _tenancy(clusters: list[tuple[str, list[Tenant]]], plans: dict[str, Plan]) -> ProvisionedTenancy:
    provisioned = [
        types.SimpleNamespace(handle=types.SimpleNamespace(name=name), tenants=tuple(ts), authenticators=())
        for name, ts in clusters
    ]
    tenants = [t for _, ts in clusters for t in ts]
    return cast(
        ProvisionedTenancy,
        types.SimpleNamespace(
            clusters=provisioned,
            tenants=tenants,
            tenant=lambda name: next(t for t in tenants if t.name == name),
            cluster_of=lambda name: next(c for c in provisioned if any(t.name == name for t in c.tenants)),
            product=types.SimpleNamespace(plan=lambda name: plans[name]),
        ),
    )


BLUE, GREEN = Tenant("blue", "small"), Tenant("green", "small")
RED = Tenant("red", "large", Placement.DEDICATED)
PLANS = {"small": Plan("small"), "large": Plan("large", pod_security=PodSecurityLevel.BASELINE)}


def test_a_mixed_tenancy_laid_out_as_its_placements_say_holds() -> None:
    tenancy = _tenancy([("shared", [BLUE, GREEN]), ("red", [RED])], PLANS)
    assert verdict(requirement_comparison(tenancy_checks.layout_table(tenancy))) == "pass"
    assert verdict(requirement_comparison(tenancy_checks.alone_table(tenancy.clusters))) == "pass"
    assert verdict(requirement_comparison(tenancy_checks.apart_table(tenancy.clusters))) == "pass"
    found = {"shared": {"tenant-blue", "tenant-green"}, "red": {"tenant-red"}}
    assert verdict(requirement_comparison(tenancy_checks.namespaces_table(found, tenancy))) == "pass"


def test_a_dedicated_tenant_sharing_its_cluster_fails_naming_the_tenants() -> None:
    tenancy = _tenancy([("shared", [BLUE]), ("red", [RED, GREEN])], PLANS)
    comparison = requirement_comparison(tenancy_checks.alone_table(tenancy.clusters))
    assert verdict(comparison) == "FAIL"
    assert comparison.observed.evidence["cluster red", tenancy_checks.ALONE] == "tenants ['red', 'green']"
    assert verdict(requirement_comparison(tenancy_checks.apart_table(tenancy.clusters))) == "FAIL"
    assert verdict(requirement_comparison(tenancy_checks.layout_table(tenancy))) == "FAIL"


def test_a_tenant_namespace_on_the_wrong_cluster_fails() -> None:
    tenancy = _tenancy([("shared", [BLUE, GREEN]), ("red", [RED])], PLANS)
    found = {"shared": {"tenant-blue"}, "red": {"tenant-red", "tenant-green"}}
    comparison = requirement_comparison(tenancy_checks.namespaces_table(found, tenancy))
    assert [m.row for m in comparison.mismatches] == ["cluster shared", "cluster red"]
    unknown = requirement_comparison(tenancy_checks.namespaces_table({**found, "stray": {"tenant-x"}}, tenancy))
    assert "cluster stray" in [m.row for m in unknown.mismatches]


def test_the_namespace_label_and_the_bindings_follow_the_plan() -> None:
    tenancy = _tenancy([("shared", [BLUE, GREEN])], PLANS)
    onboarded = [
        TenantObjects("blue", "abac", {"pod-security.kubernetes.io/enforce": "restricted"}, frozenset(), frozenset()),
        TenantObjects("green", "abac", {"pod-security.kubernetes.io/enforce": "baseline"}, frozenset(), frozenset()),
    ]
    levels = requirement_comparison(tenancy_checks.pod_security_table(onboarded, tenancy))
    assert [m.row for m in levels.mismatches] == ["green"]
    assert verdict(requirement_comparison(tenancy_checks.bindings_table(onboarded, tenancy))) == "pass"  # no RBAC
    bound = [TenantObjects("blue", "abac", {}, frozenset(), frozenset({("admin", "blue:admins")}))]
    assert verdict(requirement_comparison(tenancy_checks.bindings_table(bound, tenancy))) == "FAIL"


def test_the_smoke_table_holds_for_listed_levels_and_fails_without_tenants() -> None:
    levels = ["privileged", "baseline", "restricted"]
    assert verdict(requirement_comparison(tenancy_checks.plan_levels_table({"blue": PLANS["small"]}, levels))) == "pass"
    assert verdict(
        requirement_comparison(tenancy_checks.plan_levels_table({"red": PLANS["large"]}, ["restricted"]))
    ) == ("FAIL")
    assert verdict(requirement_comparison(tenancy_checks.plan_levels_table({}, levels))) == "FAIL"


# --- check_storage_004: a new claim after the deletion ------------------------------------------------------

WRITTEN = WrittenVolume("blue", "sto-data-1", "sto-writer-1", "pv-old", "lab-hostpath", "16Mi", "t0k3n")


def _workspace(listing: str | Exception, volume: str = "pv-new") -> Workspace:
    def run(_tenant: str, _pod: str, _command: list[str]) -> str:
        if isinstance(listing, Exception):
            raise listing
        return listing

    bound = types.SimpleNamespace(spec=types.SimpleNamespace(volume_name=volume))
    fake: Any = types.SimpleNamespace(
        tenancy=types.SimpleNamespace(run_id="r"),
        create_claim=lambda *_: None,
        wait_bound=lambda *_: bound,
        run_pod=lambda *_: None,
        run=run,
    )
    return cast(Workspace, fake)


def _reuse(ws: Workspace) -> Comparison:
    table = reclaim.reuse_table(ws, WRITTEN, "green", 1.0)
    return requirement_comparison(table, [(table.rows[0], reclaim.CONTROL)])


@pytest.mark.parametrize(
    ("ws", "expected"),
    [
        (_workspace(f"{reclaim.MARKER}\n"), "pass"),
        (_workspace(f"{reclaim.MARKER}\ntoken\n"), "FAIL"),  # the deleted claim's data is still there
        (_workspace(f"{reclaim.MARKER}\n", volume="pv-old"), "FAIL"),  # the deleted volume, given again
        (_workspace("token\n"), "ERROR"),  # the listing does not show the marker: it proves nothing
        (_workspace(ApiFailure(0, "exec timed out")), "ERROR"),
    ],
)
def test_a_new_claim_after_the_deletion_gets_another_empty_volume(ws: Workspace, expected: str) -> None:
    assert verdict(_reuse(ws)) == expected


def test_a_reachability_verdict_ends_by_the_same_rule_with_its_own_report() -> None:
    assert network_require is require  # one rule, re-exported for the network steps
    failing = requirement_comparison(requirement_table("holds", {"a -> b": holds(False, "connected")}))
    with pytest.raises(AssertionError, match="observed in 2 attempt"):
        require(Verdict(failing, 2, 1.5, 8))
    unobserved = requirement_comparison(requirement_table("holds", {"a -> b": (E, "probe failed")}))
    with pytest.raises(Inconclusive, match="probe failed"):
        require(unobserved)
    require(requirement_comparison(requirement_table("holds", {"a -> b": holds(True, "refused")})))


# --- check_storage_001 and check_storage_002: volumes on demand, data that outlives its pods ---------------------


def _claims_workspace(monkeypatch: pytest.MonkeyPatch, bound: Any, defaults: list[str], volume: Any) -> Workspace:
    monkeypatch.setattr(dynamic, "default_storage_classes", lambda _tenancy, _tenant: defaults)
    monkeypatch.setattr(dynamic, "read_volume", lambda _tenancy, _tenant, _name: volume)

    def wait_bound(_tenant: str, _claim: str, _timeout: float) -> Any:
        if isinstance(bound, Exception):
            raise bound
        return bound

    cluster = types.SimpleNamespace(handle=types.SimpleNamespace(name="shared"))
    fake: Any = types.SimpleNamespace(
        tenancy=types.SimpleNamespace(cluster_of=lambda _tenant: cluster), wait_bound=wait_bound
    )
    return cast(Workspace, fake)


def _claim(volume: str, storage_class: str) -> Any:
    return types.SimpleNamespace(spec=types.SimpleNamespace(volume_name=volume, storage_class_name=storage_class))


def _volume(claim: str) -> Any:
    return types.SimpleNamespace(spec=types.SimpleNamespace(claim_ref=types.SimpleNamespace(name=claim)))


@pytest.mark.parametrize(
    ("bound", "defaults", "volume", "expected"),
    [
        (_claim("pv-1", "standard"), ["standard"], _volume("c1"), "pass"),
        (_claim("pv-1", "fast"), ["standard"], _volume("c1"), "FAIL"),  # not the default class
        (_claim("pv-1", "standard"), ["standard"], None, "FAIL"),  # its volume is gone
        (_claim("pv-1", "standard"), ["standard"], _volume("other"), "FAIL"),  # the volume names another claim
        (_claim("pv-1", "standard"), ["a", "b"], _volume("c1"), "ERROR"),  # no one default to compare with
        (WaitTimeout("claim tenant-blue/c1 to be Bound", 60, "Pending", None), ["standard"], None, "ERROR"),
    ],
)
def test_a_claim_is_bound_to_a_volume_of_the_default_class_that_names_it(
    monkeypatch: pytest.MonkeyPatch, bound: Any, defaults: list[str], volume: Any, expected: str
) -> None:
    ws = _claims_workspace(monkeypatch, bound, defaults, volume)
    assert verdict(requirement_comparison(dynamic.binding_table(ws, [("blue", "c1")], 60.0))) == expected


def test_each_cluster_must_mark_exactly_one_default_class(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _claims_workspace(monkeypatch, None, ["a", "b"], None)
    table = dynamic.default_class_table(ws, [("blue", "c1"), ("green", "c2")])
    assert table.rows == ("cluster shared",)  # one row per cluster, however many tenants claimed there
    assert verdict(requirement_comparison(table)) == "FAIL"
    monkeypatch.setattr(dynamic, "default_storage_classes", lambda *_: ["standard"])
    assert verdict(requirement_comparison(dynamic.default_class_table(ws, [("blue", "c1")]))) == "pass"


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ("token\nt0k3n\n", "pass"),
        ("token\nsomething else\n", "FAIL"),
        (ApiFailure(0, "cat exited 1"), "ERROR"),
    ],
)
def test_a_new_pod_must_read_back_the_token_its_tenant_wrote(
    monkeypatch: pytest.MonkeyPatch, listing: str | Exception, expected: str
) -> None:
    def mount_and_list(_ws: Workspace, _tenant: str, _claim: str) -> tuple[str, str]:
        if isinstance(listing, Exception):
            raise listing
        return "sto-reader-1", listing

    monkeypatch.setattr(persistence, "mount_and_list", mount_and_list)
    fake: Any = types.SimpleNamespace(delete_pod=lambda *_: None)
    table = persistence.reread_after_the_writer_is_gone(cast(Workspace, fake), WRITTEN)
    assert verdict(requirement_comparison(table)) == expected
