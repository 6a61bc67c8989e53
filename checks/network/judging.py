"""The expectations of a probe run, from the feature's requirement table, the tenants' plans or the
NetworkPolicies in force, and the checks of them that are no matrix comparison. The verdict road stays
model -> probe -> compare -> record: these build the expected matrix; reachability.observe_until_converged
compares, attach records, require decides."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import allure

from checks.matrix import Cell, Matrix
from checks.network.changes import ChangeVerdict, PartnerChanges, enforce_one_at_a_time
from checks.network.dns import ABSENT
from checks.network.expectations import AS_PLAN_SAYS, Pair, Resolver, expected_matrix, requirement_rules
from checks.network.policies_in_force import expected_by_policies, read_endpoints, read_policies
from checks.network.probe import ProbePod
from checks.network.reachability import Verdict, observe_until_converged
from checks.network.runs import ProbeRun
from checks.network.tenant_objects import Finalize, OpenedFlow
from checks.verdicts import Observed, holds, require_rows
from harness.targets import DataplaneSpec
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy


def as_plan_says(tenancy: ProvisionedTenancy) -> Resolver:
    """Resolves a requirement cell: "as its plan says" is allowed where the source tenant's plan has
    control_plane_egress (targets file), denied otherwise; any other value is the cell as written."""

    def resolve(source: ProbePod, value: str) -> Cell:
        if value != AS_PLAN_SAYS:
            return Cell(value)
        plan = tenancy.product.plan(tenancy.tenant(source.tenant).plan)
        return Cell.ALLOWED if plan.control_plane_egress else Cell.DENIED

    return resolve


def judge_table(run: ProbeRun, datatable: Sequence[Sequence[str]], resolve: Resolver, attempts: int) -> Verdict:
    """The run against the feature's `| from | to | tcp | udp |` table, re-probed until it matches or
    `attempts` observations were made (the last one decides)."""
    rules = requirement_rules(datatable)
    expected = expected_matrix(run.sources, run.columns, run.pairs, rules, run.relation, resolve)
    return observe_until_converged(expected, run.observe, attempts, recheck=run.recheck)


def expected_in_force(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, run: ProbeRun, ip_block_matches_pods: bool
) -> Matrix:
    """What the NetworkPolicies in force on `cluster` allow for every pair of `run`, read now (policies,
    namespace labels, then the pods as they are); `ip_block_matches_pods` is the product's reading of
    ipBlock (targets file: dataplane). Raises kube.ApiFailure, LookupError for a probe pod gone."""
    policies, namespace_labels = read_policies(tenancy, cluster)
    endpoints = read_endpoints(tenancy, cluster)
    return expected_by_policies(
        run.sources, run.columns, run.pairs, policies, namespace_labels, endpoints, ip_block_matches_pods
    )


def judge_partner_changes(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    run: ProbeRun,
    dataplane: DataplaneSpec,
    finalize: Finalize,
    baseline_seconds: float,
) -> list[ChangeVerdict]:
    """check_network_009: the cluster's first two tenants and their provider change pods, labels and policies
    one at a time (changes.PartnerChanges, undone by the finaliser registered), each judged against what
    the policies in force then allow (`expected_in_force`) within dataplane.enforce_within_seconds, after a
    baseline judged within `baseline_seconds`. -> the verdicts made (changes.enforce_one_at_a_time)."""
    first, second = cluster.tenants[:2]
    partners = PartnerChanges(tenancy, cluster, first, second)
    finalize(partners.restore)
    expect = functools.partial(expected_in_force, tenancy, cluster, run, dataplane.ip_block_matches_pods)
    return enforce_one_at_a_time(
        partners.changes, expect, run.observe, dataplane.enforce_within_seconds, baseline_seconds
    )


def opened_between_tenants(pairs: Iterable[Pair], expected: Matrix) -> set[tuple[str, str]]:
    """The (row, column) cells `expected` allows between different tenants (pure)."""
    return {
        (s.label, t.column) for s, o, t in pairs if s.tenant != o.tenant and expected[s.label, t.column] is Cell.ALLOWED
    }


def require_only_flow(pairs: Iterable[Pair], expected: Matrix, opened: OpenedFlow) -> None:
    """The policies in force open exactly the flow the tenants named between tenants, ended by the one
    verdict rule (`checks.verdicts.require_rows`): a row per flow they open between tenants and one for
    the named flow, each holding when it is the named flow and open; raises AssertionError naming what
    else they open or that the named flow is closed (the tenancy's own fences are missing: a finding,
    before any probe)."""
    cross_tenant = opened_between_tenants(pairs, expected)
    named = (opened.source, opened.column)
    rows: dict[str, Observed] = {
        f"{source} -> {column}": holds((source, column) == named, "opened by the policies in force")
        for source, column in sorted(cross_tenant | {named})
    }
    rows[f"{named[0]} -> {named[1]}"] = holds(named in cross_tenant, "the flow the tenants named")
    require_rows(
        rows,
        f"the policies in force open {sorted(cross_tenant)} between tenants, not only the flow the tenants "
        f"named ({opened.source} -> {opened.column}): the tenancy's own fences are missing",
        "the only flow open between tenants is the one named",
    )


def attach_time_to_enforce(verdict: Verdict) -> None:
    """Record the time to enforce (seconds since the change, observations made) of a verdict that passed."""
    if verdict.comparison.passed:
        allure.attach(
            f"time to enforce: {verdict.seconds:.1f}s ({verdict.attempts} attempts)",
            name="time to enforce",
            attachment_type=allure.attachment_type.TEXT,
        )


def expected_disclosure(
    sources: Sequence[ProbePod], columns: Sequence[str], pairs: Iterable[Pair], discloses: Callable[[str], bool]
) -> Matrix:
    """Which names resolve (pure): a name of no Service never (negative control), a tenant's own names
    always, another tenant's where `discloses(source tenant)` (its plan's other_tenants_in_dns)."""

    def disclosed(source: ProbePod, owner: ProbePod) -> Cell:
        if owner.app == ABSENT:
            return Cell.DENIED
        if source.tenant == owner.tenant:
            return Cell.ALLOWED
        return Cell.ALLOWED if discloses(source.tenant) else Cell.DENIED

    return Matrix.build(
        [s.label for s in sources], columns, {(s.label, t.column): disclosed(s, o) for s, o, t in pairs}
    )
