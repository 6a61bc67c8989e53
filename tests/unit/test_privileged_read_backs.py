"""check_privileged_003/005/007/008 observe one tenant per (plan, cluster) and read back the others: the
quota objects' flattening, the comparison, the rule that a differing tenant is observed in full (a
patched ResourceQuota turns the verdict red), and the covered tenants' rows (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from checks.answered import Answered
from checks.matrix import Cell
from checks.privileged.fences import quota_fence
from checks.privileged.limits import LimitsObservation, covered_limits, require_limits
from checks.privileged.object_limits import CONTROL, control_row, covered_rows, require_held
from checks.privileged.read_back import QUOTAS, above_quota
from checks.privileged.workloads import DeploymentObservation, covered_deployment
from checks.representatives import DryRun, Group, ReadBack, compare, observe_once_per_plan
from provisioning.model.privileges import Case
from provisioning.model.tenancy import Plan, Quota, Tenant

SMALL_HARD = {"pods": "10", "requests.cpu": "1", "count/configmaps": "4"}
LIMITS = [{"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}}]


def _quota(hard: dict[str, str], name: str = "tenant-quota", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ignored"}, "spec": {"hard": hard, **spec}}


def _limit_range(limits: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": "tenant-limits"}, "spec": {"limits": limits}}


def _group(*names: str, plan: str = "small") -> Group:
    tenants = [Tenant(n, plan) for n in names]
    return Group(plan, "c1", tenants[0], tuple(tenants[1:]))


SAME_RUN = DryRun("pod requesting cpu 2", "rejected (quota)", "rejected (quota)")


def test_the_quota_fence_names_every_hard_value_scope_and_limit_item() -> None:
    flat = quota_fence(
        [
            _quota(SMALL_HARD),
            _quota(
                {"pods": "0"},
                name="critical",
                scopeSelector={"matchExpressions": [{"operator": "In", "scopeName": "PriorityClass", "values": ["x"]}]},
            ),
            _quota({"pods": "1"}, name="terminating", scopes=["Terminating", "BestEffort"]),
        ],
        [_limit_range(LIMITS)],
    )
    assert flat["ResourceQuota tenant-quota hard requests.cpu"] == "1"
    assert flat["ResourceQuota terminating scopes"] == "BestEffort,Terminating"
    assert '"PriorityClass"' in flat["ResourceQuota critical scopeSelector"]
    assert flat["LimitRange tenant-limits limits[0]"].startswith('{"default": {"cpu": "500m"}')
    assert quota_fence([], []) == {}


def test_a_covered_tenant_with_the_same_objects_and_dry_run_is_covered() -> None:
    group = _group("t001", "t004")
    same = quota_fence([_quota(SMALL_HARD)], [_limit_range(LIMITS)])
    read = compare(group, group.covered[0], {"t001": same, "t004": dict(same)}, QUOTAS, SAME_RUN)
    assert read.covered
    assert "same ResourceQuota and LimitRange specs" in read.describe()
    assert "dry-run pod requesting cpu 2: rejected (quota)" in read.describe()


def test_a_patched_quota_is_a_difference_naming_the_entry_and_both_values() -> None:
    group = _group("t001", "t004")
    mine = quota_fence([_quota({**SMALL_HARD, "requests.cpu": "8"})], [_limit_range(LIMITS)])
    theirs = quota_fence([_quota(SMALL_HARD)], [_limit_range(LIMITS)])
    read = compare(group, group.covered[0], {"t001": theirs, "t004": mine}, QUOTAS, SAME_RUN)
    assert not read.covered
    assert read.differences == ("ResourceQuota tenant-quota hard requests.cpu: representative 1, tenant 8",)


def test_a_removed_limit_range_or_scope_is_a_difference() -> None:
    group = _group("t001", "t004")
    theirs = quota_fence([_quota(SMALL_HARD, scopes=["NotBestEffort"])], [_limit_range(LIMITS)])
    mine = quota_fence([_quota(SMALL_HARD)], [])
    read = compare(group, group.covered[0], {"t001": theirs, "t004": mine}, QUOTAS, SAME_RUN)
    assert [d.split(":")[0] for d in read.differences] == [
        "LimitRange tenant-limits limits[0]",
        "ResourceQuota tenant-quota scopes",
    ]


def test_a_different_dry_run_answer_is_a_difference_and_an_unanswered_one_an_error() -> None:
    group = _group("t001", "t004")
    same = {"t001": {"a": "1"}, "t004": {"a": "1"}}
    admitted = DryRun("pod requesting cpu 2", "rejected (quota)", "admitted (-)")
    read = compare(group, group.covered[0], same, QUOTAS, admitted)
    assert read.differences == ("dry-run pod requesting cpu 2: representative rejected (quota), tenant admitted (-)",)
    unanswered = compare(group, group.covered[0], same, QUOTAS, DryRun("x", "", "", "503: unavailable"))
    assert not unanswered.covered
    assert "503" in unanswered.error
    unread = compare(group, group.covered[0], {"t001": {"a": "1"}, "t004": "403: forbidden"}, QUOTAS, SAME_RUN)
    assert not unread.covered
    assert unread.error == "403: forbidden"


def _plan_check(
    quotas: dict[str, dict[str, str]], tenants: Sequence[Tenant]
) -> tuple[list[str], list[LimitsObservation], str]:
    """005's flow with each tenant's namespace quota in `quotas`: the fake observation compares it with
    the small plan's (as observe_limits does), the read-back compares it with the representative's."""
    asked: list[str] = []

    def observe(tenant: Tenant) -> LimitsObservation:
        asked.append(tenant.name)
        seen = LimitsObservation(tenant.name, tenant.plan)
        got = quotas[tenant.name]
        seen.problems += [
            f"quota {k}: plan {v}, namespace {got.get(k)}" for k, v in SMALL_HARD.items() if got.get(k) != v
        ]
        return seen

    def read_back(group: Group) -> list[ReadBack]:
        fences = {t.name: quota_fence([_quota(quotas[t.name])], []) for t in (group.representative, *group.covered)}
        return [compare(group, t, fences, QUOTAS, SAME_RUN) for t in group.covered]

    seen = observe_once_per_plan(tenants, lambda t: "c1", observe, read_back)
    return asked, seen.each(covered_limits), seen.describe()


def test_plan_mates_with_the_same_quota_are_observed_once_and_covered() -> None:
    tenants = [Tenant("t004", "small"), Tenant("t001", "small"), Tenant("t007", "small")]
    asked, observations, text = _plan_check({t.name: dict(SMALL_HARD) for t in tenants}, tenants)
    assert asked == ["t001"]
    assert [o.tenant for o in observations] == ["t001", "t004", "t007"]
    assert "t004: covered: t004 (plan small on c1), represented by t001: same ResourceQuota" in text
    require_limits(observations)


def test_mutation_a_patched_quota_gets_its_tenant_observed_in_full_and_the_verdict_red() -> None:
    tenants = [Tenant("t001", "small"), Tenant("t004", "small")]
    quotas = {"t001": dict(SMALL_HARD), "t004": {**SMALL_HARD, "requests.cpu": "8"}}
    asked, observations, text = _plan_check(quotas, tenants)
    assert asked == ["t001", "t004"]
    assert "t004: observed in full (read back: t004 (plan small on c1), represented by t001: differs:" in text
    assert observations[1].problems == ["quota requests.cpu: plan 1, namespace 8"]
    with pytest.raises(AssertionError, match=r"requests\.cpu"):
        require_limits(observations)


def test_one_tenant_per_plan_reads_nothing_back_and_observes_each() -> None:
    tenants = [Tenant("t001", "small"), Tenant("t002", "medium"), Tenant("t003", "large")]

    def read_back(group: Group) -> list[ReadBack]:
        raise AssertionError(f"nothing to read back, yet asked for {group}")

    seen = observe_once_per_plan(tenants, lambda t: "c1", lambda t: t.name.upper(), read_back)
    assert seen.each(lambda rep, read: "never") == ["T001", "T002", "T003"]
    assert seen.read_backs == ()


def _covered(tenant: str = "t004", representative: str = "t001") -> ReadBack:
    return ReadBack(tenant, "small", "c1", representative, probed="dry-run x: rejected (quota)", read=QUOTAS)


def test_a_covered_tenants_rows_are_its_representatives_renamed_and_said_so() -> None:
    representative = Answered(Cell.ALLOWED, "admitted (dry run)", "-")
    rows = {
        control_row(Tenant("t001", "small")): representative,
        "t001: system-cluster-critical": Answered(Cell.DENIED, "admitted", "admission"),
        "t0010: pods": Answered(Cell.ALLOWED, "another tenant's row", "quota"),
    }
    mine = covered_rows(rows, _covered())
    assert set(mine) == {f"t004: {CONTROL}", "t004: system-cluster-critical"}
    assert mine["t004: system-cluster-critical"].cell is Cell.DENIED
    assert mine["t004: system-cluster-critical"].evidence.startswith("as t001 (its ResourceQuota and LimitRange")
    with pytest.raises(AssertionError):  # a representative's contradiction is its covered tenants' too
        require_held({**rows, **mine}, "refused")


def test_a_covered_tenants_limits_and_deployment_are_its_representatives() -> None:
    seen = LimitsObservation("t001", "small", ["hard = plan"], ["quota pods: plan 10, namespace 9"])
    mine = covered_limits(seen, _covered())
    assert (mine.tenant, mine.problems) == ("t004", ["as t001: quota pods: plan 10, namespace 9"])
    assert mine.facts[0].startswith("read back: t004 (plan small on c1), represented by t001")
    deployment = DeploymentObservation("t001", Case.HOST_NETWORK, True, ("w",), "refused", 0, control="runs")
    theirs = covered_deployment(deployment, _covered())
    assert (theirs.tenant, theirs.failed_create, theirs.pods) == ("t004", "refused", 0)
    assert theirs.control.startswith("as t001: runs; read back:")


def test_the_dry_run_above_quota_asks_one_unit_above_the_plans_cpu_else_memory() -> None:
    assert above_quota(Plan("small", quota=Quota(hard=SMALL_HARD))) == ("cpu", "2")
    assert above_quota(Plan("m", quota=Quota(hard={"requests.memory": "2Gi"}))) == ("memory", str(3 * 2**30))
    assert above_quota(Plan("none", quota=Quota(hard={"pods": "3"}))) is None
