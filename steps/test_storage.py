"""Steps of the storage checks: dynamic volumes, persistence, separation, reclaim and quota, as the tenants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import allure
import pytest
from pytest_bdd import given, scenarios, then, when

from fixtures.storage.quota import COUNT, STORAGE, observe_quota, quota_comparison
from fixtures.storage.reclaim import wait_reclaimed
from fixtures.storage.separation import Parties, observe_separation, separation_comparison
from fixtures.storage.volumes import (
    TOKEN_FILE,
    Workspace,
    WrittenVolume,
    claim_and_write,
    claim_manifest,
    claim_volume,
    default_storage_classes,
    mount_and_list,
    read_volume,
    unique,
    volume_pod_manifest,
)
from fixtures.verdicts import require
from provisioning.model.tenancy import Placement, Tenant
from provisioning.settings import Settings
from provisioning.tenancy import ProvisionedTenancy
from reports.matrix import Cell, Matrix

scenarios("storage")


@pytest.fixture
def workspace(tenancy: ProvisionedTenancy, settings: Settings) -> Iterator[Workspace]:
    """What the scenario creates; removed after it (unless --keep)."""
    ws = Workspace(tenancy, settings.timeouts.pod_ready)
    yield ws
    if not settings.keep:
        ws.clean()


def _shared_tenants(tenancy: ProvisionedTenancy) -> list[Tenant]:
    shared = [t for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED for t in c.tenants]
    if not shared:
        pytest.skip("not applicable: the product has no shared cluster in the targets file")
    return shared


def _attach(title: str, text: str) -> None:
    allure.attach(text, name=title, attachment_type=allure.attachment_type.TEXT)


@when("every tenant on a shared cluster claims a volume without naming a storage class", target_fixture="claims")
def claim_everywhere(tenancy: ProvisionedTenancy, workspace: Workspace) -> list[tuple[str, str]]:
    claims = []
    for tenant in _shared_tenants(tenancy):
        name = unique("sto-claim")
        workspace.create_claim(tenant.name, claim_manifest(name, tenant.name, tenancy.run_id))
        claims.append((tenant.name, name))
    return claims


@then("the cluster offers exactly one default storage class")
def one_default_class(tenancy: ProvisionedTenancy, claims: list[tuple[str, str]]) -> None:
    for tenant, _ in claims:
        defaults = default_storage_classes(tenancy, tenant)
        assert len(defaults) == 1, f"tenant {tenant}'s cluster has default storage classes {defaults}, expected one"


@then("every claim is bound to a new volume of the default class within the volume deadline")
def bound_in_time(
    tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings, claims: list[tuple[str, str]]
) -> None:
    lines = []
    for tenant, name in claims:
        bound = workspace.wait_bound(tenant, name, settings.timeouts.volume_bound)
        (default,) = default_storage_classes(tenancy, tenant)
        assert bound.spec.storage_class_name == default, f"{tenant}/{name} got class {bound.spec.storage_class_name}"
        volume = read_volume(tenancy, tenant, bound.spec.volume_name)
        assert volume is not None, f"{tenant}/{name}: volume {bound.spec.volume_name} not found"
        assert volume.spec.claim_ref.name == name, f"{tenant}/{name}: volume not bound to it"
        lines.append(f"{tenant}/{name} -> {bound.spec.volume_name} ({default})")
    _attach("bound claims", "\n".join(lines))


@given("a tenant on a shared cluster whose pod wrote a secret token to its claimed volume", target_fixture="written")
def tenant_wrote_token(tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings) -> WrittenVolume:
    owner = _shared_tenants(tenancy)[0]
    return claim_and_write(workspace, owner.name, settings.timeouts.volume_bound)


@when("that pod is deleted and a new pod of the tenant mounts the same claim", target_fixture="read_back")
def new_pod_same_claim(workspace: Workspace, written: WrittenVolume) -> str:
    workspace.delete_pod(written.tenant, written.pod)
    _, listing = mount_and_list(workspace, written.tenant, written.claim)
    return listing


@then("the new pod reads the same token")
def reads_same_token(written: WrittenVolume, read_back: str) -> None:
    assert written.token in read_back, f"the new pod read {read_back!r} from {TOKEN_FILE}, not the token written"


def _other_tenant(tenancy: ProvisionedTenancy, owner: str) -> str:
    cluster = tenancy.cluster_of(owner)
    others = [t.name for t in cluster.tenants if t.name != owner]
    if not others:
        pytest.skip("not applicable: fewer than two tenants share a cluster")
    return others[0]


@when("another tenant on that cluster tries to use the volume with its own credentials", target_fixture="parties")
def other_tries(tenancy: ProvisionedTenancy, written: WrittenVolume) -> Parties:
    return Parties(written.tenant, _other_tenant(tenancy, written.tenant))


@then("the observed access is exactly:")
def access_is_exactly(
    workspace: Workspace, written: WrittenVolume, parties: Parties, datatable: list[list[str]]
) -> None:
    table = [(subject.strip(), action.strip(), access.strip()) for subject, action, access in datatable[1:]]
    observed = observe_separation(workspace, written, parties, [(subject, action) for subject, action, _ in table])
    comparison = separation_comparison(workspace, parties, table, observed)
    evidence = "\n".join(
        f"{row}: {observed[row, 'access'].value} - {observed.evidence.get((row, 'access'), '')}"
        for row in observed.rows
    )
    report = f"owner {parties.owner}, other tenant {parties.other}\n{comparison.render()}\nevidence:\n{evidence}"
    _attach("volume separation", report)
    require(comparison, report)


@when("the tenant deletes its pods and its claim", target_fixture="deleted")
def delete_claim(tenancy: ProvisionedTenancy, workspace: Workspace, written: WrittenVolume) -> Any:
    volume = read_volume(tenancy, written.tenant, written.volume)
    assert volume is not None, f"volume {written.volume} of {written.tenant}/{written.claim} is missing"
    workspace.delete_pod(written.tenant, written.pod)
    workspace.delete_claim(written.tenant, written.claim)
    return volume


@then("the volume is removed as its reclaim policy says within the volume deadline")
def volume_reclaimed(tenancy: ProvisionedTenancy, settings: Settings, written: WrittenVolume, deleted: Any) -> None:
    policy = deleted.spec.persistent_volume_reclaim_policy
    wait_reclaimed(tenancy, written, policy, settings.timeouts.volume_bound)
    _attach("reclaim", f"{written.volume}: policy {policy}, reclaimed")


@then("a new claim of another tenant on that cluster gets a different, empty volume")
def new_claim_empty(
    tenancy: ProvisionedTenancy, workspace: Workspace, settings: Settings, written: WrittenVolume
) -> None:
    other = _other_tenant(tenancy, written.tenant)
    claim = unique("sto-after")
    workspace.create_claim(other, claim_manifest(claim, other, tenancy.run_id))
    bound = workspace.wait_bound(other, claim, settings.timeouts.volume_bound)
    assert bound.spec.volume_name != written.volume, f"{other} was given {written.tenant}'s deleted volume"
    pod = unique("sto-reader")
    workspace.run_pod(other, volume_pod_manifest(pod, other, tenancy.run_id, claim_volume(claim)))
    listing = workspace.run(other, pod, ["ls", "-A", "/data"])
    assert written.token not in listing, f"{other}'s new volume holds {written.tenant}'s token"
    assert not listing.strip(), f"{other}'s new volume is not empty: {listing!r}"


@when(
    "every tenant on a shared cluster whose plan has a storage quota claims up to it and beyond",
    target_fixture="quota_matrix",
)
def claims_up_to_quota(tenancy: ProvisionedTenancy, workspace: Workspace) -> Matrix:
    observed: Matrix | None = None
    for tenant in _shared_tenants(tenancy):
        hard = dict(tenancy.product.plan(tenant.plan).quota.hard)
        if STORAGE not in hard or COUNT not in hard:
            continue
        matrix = observe_quota(workspace, tenant.name, hard)
        observed = matrix if observed is None else _stack(observed, matrix)
    if observed is None:
        pytest.skip(f"not applicable: no shared tenant's plan sets {STORAGE} and {COUNT} quotas")
    return observed


def _stack(upper: Matrix, lower: Matrix) -> Matrix:
    return Matrix.build(
        upper.rows + lower.rows, upper.columns, {**upper.cells, **lower.cells}, {**upper.evidence, **lower.evidence}
    )


@then("the observed claims are exactly:")
def claims_are_exactly(quota_matrix: Matrix, datatable: list[list[str]]) -> None:
    comparison = quota_comparison(quota_matrix, {column: Cell(access) for column, access in datatable[1:]})
    evidence = "\n".join(f"{r} / {c}: {e}" for (r, c), e in quota_matrix.evidence.items())
    report = f"{comparison.render()}\nevidence:\n{evidence}"
    _attach("storage quota", report)
    require(comparison, report)
