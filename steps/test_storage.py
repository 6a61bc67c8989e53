"""Steps of the storage checks: dynamic volumes, persistence, separation, reclaim and quota, as the tenants.

Each check takes the road of `checks.verdicts`: the When steps observe through the engines in
checks/storage (tables of cells, never asserting), the Then steps compare and decide."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_bdd import given, scenarios, then, when

from checks.evidence import attach_text
from checks.matrix import Cell, Matrix
from checks.representatives import Represented
from checks.storage.block_remnants import WrittenDevice, claim_and_mark, controls, delete_device, remnant_row
from checks.storage.dynamic import Claim, binding_table, claim_once_per_plan, default_class_table
from checks.storage.persistence import reread_after_the_writer_is_gone
from checks.storage.quota import observe_quotas, quota_comparison, quota_matrix
from checks.storage.reclaim import CONTROL, Deleted, delete_claim, delete_reclaimed, reclaim_table, reuse_table
from checks.storage.represented import summary
from checks.storage.separation import Parties, observe_separation, separation_comparison
from checks.storage.volumes import Workspace, WrittenVolume, claim_and_write
from checks.storage.volumes import workspace as scenario_workspace
from checks.verdicts import decide, requirement_comparison
from harness.settings import Settings
from provisioning.model.needs import applicable
from provisioning.model.tenancy import Placement, Tenant
from provisioning.tenancy import ProvisionedTenancy

scenarios("storage")


@pytest.fixture
def workspace(tenancy: ProvisionedTenancy, settings: Settings) -> Iterator[Workspace]:
    """What the scenario creates; removed after it (unless --keep)."""
    with scenario_workspace(tenancy, settings.timeouts.pod_ready, settings.keep) as ws:
        yield ws


def _shared_tenants(tenancy: ProvisionedTenancy) -> list[Tenant]:
    return [t for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED for t in c.tenants]


def _other_tenant(tenancy: ProvisionedTenancy, owner: str) -> str | None:
    return next((t.name for t in tenancy.cluster_of(owner).tenants if t.name != owner), None)


def _another(tenancy: ProvisionedTenancy, owner: str) -> str:
    return applicable(_other_tenant(tenancy, owner), "needs_two_tenants_on_a_cluster")


@when("every tenant on a shared cluster claims a volume without naming a storage class", target_fixture="claims")
def claim_everywhere(tenancy: ProvisionedTenancy, workspace: Workspace) -> Represented[Claim]:
    claims = claim_once_per_plan(workspace, _shared_tenants(tenancy))
    attach_text(summary(claims, _plan_of(tenancy)), "tenants observed, and the others' storage quota read back")
    return claims


def _plan_of(tenancy: ProvisionedTenancy) -> Callable[[str], str]:
    return lambda name: tenancy.tenant(name).plan


@then("the cluster offers exactly one default storage class")
def one_default_class(workspace: Workspace, claims: Represented[Claim]) -> None:
    table = default_class_table(workspace, list(claims.observed.values()))
    decide(requirement_comparison(table), "default storage classes")


@then("every claim is bound to a new volume of the default class within the volume deadline")
def bound_in_time(workspace: Workspace, settings: Settings, claims: Represented[Claim]) -> None:
    table = binding_table(workspace, claims, settings.timeouts.volume_bound)
    decide(requirement_comparison(table), "bound claims")


@given("a tenant on a shared cluster whose pod wrote a secret token to its claimed volume", target_fixture="written")
def tenant_wrote_token(tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings) -> WrittenVolume:
    return claim_and_write(workspace, _shared_tenants(tenancy)[0].name, settings.timeouts.volume_bound)


@when("that pod is deleted and a new pod of the tenant mounts the same claim", target_fixture="read_back")
def new_pod_same_claim(workspace: Workspace, written: WrittenVolume) -> Matrix:
    return reread_after_the_writer_is_gone(workspace, written)


@then("the new pod reads the same token")
def reads_same_token(read_back: Matrix) -> None:
    decide(requirement_comparison(read_back), "data read back")


@when("another tenant on that cluster tries to use the volume with its own credentials", target_fixture="parties")
def other_tries(tenancy: ProvisionedTenancy, written: WrittenVolume) -> Parties:
    return Parties(written.tenant, _another(tenancy, written.tenant))


@then("the observed access is exactly:")
def access_is_exactly(
    workspace: Workspace, written: WrittenVolume, parties: Parties, datatable: list[list[str]]
) -> None:
    table = [(subject.strip(), action.strip(), access.strip()) for subject, action, access in datatable[1:]]
    observed = observe_separation(workspace, written, parties, [(subject, action) for subject, action, _ in table])
    comparison = separation_comparison(workspace, parties, table, observed)
    decide(comparison, "volume separation", f"owner {parties.owner}, other tenant {parties.other}")


@when("the tenant deletes its pods and its claim", target_fixture="deleted")
def delete_the_claim(workspace: Workspace, written: WrittenVolume) -> Deleted:
    return delete_claim(workspace, written)


@then("the volume is removed as its reclaim policy says within the volume deadline")
def volume_reclaimed(workspace: Workspace, settings: Settings, deleted: Deleted) -> None:
    decide(requirement_comparison(reclaim_table(workspace, deleted, settings.timeouts.volume_bound)), "reclaim")


@when("the tenant deletes its pods and its claim and its volume is reclaimed")
def delete_and_reclaim(workspace: Workspace, settings: Settings, written: WrittenVolume) -> None:
    delete_reclaimed(workspace, written, settings.timeouts.volume_bound)


@then("a new claim of another tenant on that cluster gets a different, empty volume")
def new_claim_empty(
    tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings, written: WrittenVolume
) -> None:
    table = reuse_table(workspace, written, _another(tenancy, written.tenant), settings.timeouts.volume_bound)
    decide(requirement_comparison(table, [(table.rows[0], CONTROL)]), "a new claim after the deletion")


@when(
    "every tenant on a shared cluster whose plan has a storage quota claims up to it and beyond",
    target_fixture="quota_matrix",
)
def claims_up_to_quota(tenancy: ProvisionedTenancy, workspace: Workspace) -> Matrix:
    seen = applicable(observe_quotas(workspace, _shared_tenants(tenancy)), "needs_plan_storage_quotas")
    attach_text(summary(seen, _plan_of(tenancy)), "tenants observed, and the others' storage quota read back")
    return quota_matrix(seen)


@then("the observed claims are exactly:")
def claims_are_exactly(quota_matrix: Matrix, datatable: list[list[str]]) -> None:
    comparison = quota_comparison(quota_matrix, {column: Cell(access) for column, access in datatable[1:]})
    decide(comparison, "storage quota")


@given(
    "a tenant on a shared cluster whose pod wrote a marker to the raw device of its Block claim",
    target_fixture="marked",
)
def tenant_marked_device(tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings) -> WrittenDevice:
    return claim_and_mark(workspace, _shared_tenants(tenancy)[0].name, "", settings.timeouts.volume_bound)


@when("the tenant deletes its pods and its Block claim and its volume is reclaimed")
def delete_the_block_claim(workspace: Workspace, settings: Settings, marked: WrittenDevice) -> None:
    delete_device(workspace, marked, settings.timeouts.volume_bound)


@then("a new Block claim of another tenant on that cluster reads no byte of the marker off its raw device")
def new_device_clean(
    tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings, marked: WrittenDevice
) -> None:
    table = remnant_row(workspace, marked, _another(tenancy, marked.tenant), settings.timeouts.volume_bound)
    decide(requirement_comparison(table, controls(table.rows[0])), "a new Block claim after the deletion")
