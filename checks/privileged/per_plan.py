"""check_privileged_003, 005, 007 and 008 observed once per (plan, cluster): each group's representative
observed in full, its plan-mates read back (checks/privileged/read_back.py) and observed in full where the
read-back differs or errs (checks/representatives.py `observe_once_per_plan`). Each returns the
`Represented` (its `describe()` is the record of who was observed and what was read back) and every
tenant's observation, the covered tenants' their representative's said to be so."""

from __future__ import annotations

from collections.abc import Sequence

from checks.privileged.limits import LimitsObservation, covered_limits, observe_limits
from checks.privileged.object_limits import Rows, covered_rows, observe_object_counts, observe_system_priorities
from checks.privileged.read_back import cluster_name, deployment_read_backs, priority_read_backs, quota_read_backs
from checks.privileged.workloads import DeploymentObservation, covered_deployment, observe_forbidden_deployment
from checks.representatives import Represented, observe_once_per_plan
from provisioning.model.privileges import forbidden_case
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedTenancy


def forbidden_deployments(
    tenancy: ProvisionedTenancy, tenants: Sequence[Tenant], run_id: str, timeout: float
) -> tuple[Represented[DeploymentObservation], list[DeploymentObservation]]:
    """003 for `tenants` whose plan forbids a case (`forbidden_case`; the others are left out): the
    forbidden Deployment of each representative, its plan-mates' labels and Deployment dry run read back."""
    cases = {t.name: forbidden_case(tenancy.product.plan(t.plan)) for t in tenants}

    def observe(tenant: Tenant) -> DeploymentObservation:
        case = cases[tenant.name]
        assert case is not None  # only such tenants are grouped
        return observe_forbidden_deployment(tenancy, tenant, case, run_id, timeout)

    forbidding = [t for t in tenants if cases[t.name] is not None]
    seen = observe_once_per_plan(
        forbidding, cluster_name(tenancy), observe, lambda g: deployment_read_backs(tenancy, g, run_id)
    )
    return seen, seen.each(covered_deployment)


def plan_limits(
    tenancy: ProvisionedTenancy, tenants: Sequence[Tenant], run_id: str, timeout: float
) -> tuple[Represented[LimitsObservation], list[LimitsObservation]]:
    """005: each representative's limits (`observe_limits`), its plan-mates' quotas read back."""
    seen = observe_once_per_plan(
        tenants,
        cluster_name(tenancy),
        lambda t: observe_limits(tenancy, t, run_id, timeout),
        lambda g: quota_read_backs(tenancy, g, run_id),
    )
    return seen, seen.each(covered_limits)


def object_counts(
    tenancy: ProvisionedTenancy, tenants: Sequence[Tenant], run_id: str, timeout: float
) -> tuple[Represented[Rows], Rows]:
    """007: each representative's counts filled (`observe_object_counts`), its plan-mates' quotas read
    back; the rows of every tenant, in one table."""
    seen = observe_once_per_plan(
        tenants,
        cluster_name(tenancy),
        lambda t: observe_object_counts(tenancy, t, run_id, timeout),
        lambda g: quota_read_backs(tenancy, g, run_id),
    )
    return seen, _joined(seen.each(covered_rows))


def system_priorities(
    tenancy: ProvisionedTenancy, tenants: Sequence[Tenant], run_id: str
) -> tuple[Represented[Rows], Rows]:
    """008: each representative's system-critical dry runs (`observe_system_priorities`), its plan-mates'
    quotas, labels and one system-critical dry run read back; the rows of every tenant, in one table."""
    seen = observe_once_per_plan(
        tenants,
        cluster_name(tenancy),
        lambda t: observe_system_priorities(tenancy, t, run_id),
        lambda g: priority_read_backs(tenancy, g, run_id),
    )
    return seen, _joined(seen.each(covered_rows))


def _joined(each: Sequence[Rows]) -> Rows:
    rows: Rows = {}
    for tenant_rows in each:
        rows |= tenant_rows
    return rows
