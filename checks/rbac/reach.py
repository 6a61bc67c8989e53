"""Issue 19's observations past the tenant users' matrix: tenants' service accounts (with tokens the
tenants request), streams into real pods, non-resource paths and requests without credentials; each
asked three ways (two without credentials) and judged against the model. Steps and lab tests share them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from checks.answered import classified
from checks.matrix import Cell, Comparison, Matrix, Mismatch
from checks.rbac.access import AccessObserver, real_request
from checks.rbac.discovery import ApiResource, discover
from checks.rbac.matrix import (
    AccessRun,
    ProviderScope,
    Question,
    anonymous_questions,
    attach_comparison,
    attach_ways,
    namespaces_of_no_tenant,
    non_resource_questions,
    render_comparison,
    service_account_questions,
    stream_questions,
)
from checks.rbac.service_accounts import client_maker, extra_identities, grant, request_token, service_accounts
from checks.verdicts import Inconclusive, require
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy


def observe(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, questions: Sequence[Question]) -> AccessRun:
    """Ask `questions` of the tenancy's identities, three ways."""
    observer = AccessObserver(tenancy, cluster)
    try:
        return AccessRun(tuple(questions), observer.observe([q.probe for q in questions]))
    finally:
        observer.close()


def observe_streams(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, pods: Mapping[str, str]) -> AccessRun:
    """Stream handshakes into `pods` (namespace -> a running pod's name) by every identity."""
    return observe(tenancy, cluster, stream_questions(tenancy, cluster, dict(sorted(pods.items()))))


def observe_service_accounts(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    scope: ProviderScope,
    run_id: str,
    enforce: float,
    keep: Callable[[ApiResource], bool] = lambda _r: True,
) -> AccessRun:
    """Each tenant admin creates its builder service account bound to view and requests tokens for it
    and for `default`; those tokens ask every question of `service_account_questions` (on the resources
    `keep` selects: all, in the check). On RBAC clusters
    the first allowed cell is awaited (up to `enforce` seconds) before the matrix: bindings reach the
    authorizer's cache asynchronously. Inconclusive if a tenant admin cannot make its grant or tokens."""
    admin = tenancy.admin_client(cluster)
    try:
        resources = [r for r in discover(admin) if keep(r)]
        namespaces = namespaces_of_no_tenant(admin, tenancy, scope.named)
    finally:
        admin.close()
    accounts = service_accounts(cluster.tenants)
    makers = {}
    for tenant in cluster.tenants:
        tenant_admin = tenancy.client_for(f"{tenant.name}-admin")
        try:
            grant(tenant_admin, tenant, run_id)
            for account in (a for a in accounts if a.tenant == tenant.name):
                makers[account.user] = client_maker(cluster, request_token(tenant_admin, account))
        except kube.ApiFailure as failure:  # the tenant could not make its grants or tokens: nothing to ask
            raise Inconclusive(
                f"{tenant.name}-admin could not create its service account or tokens: {failure}"
            ) from None
        finally:
            tenant_admin.close()
    questions = service_account_questions(tenancy, cluster, resources, namespaces, accounts, scope)
    observer = AccessObserver(tenancy, cluster, extra=extra_identities(makers, accounts))
    try:
        for account in accounts:  # the positive control: each token is the service account it was asked for
            try:
                user = kube.who_am_i(observer.client(account.user)).get("username")
            except kube.ApiFailure as failure:
                if classified(failure).kind is answers.Kind.DENIED:  # authenticated, then refused (ABAC grants none)
                    continue
                raise Inconclusive(f"the token of {account.user} is not accepted: {failure}") from None
            if user != account.user:
                raise Inconclusive(f"the token of {account.user} authenticates as {user}")
        if cluster.handle.authorization is AuthorizationMode.RBAC:
            for probe in [q.probe for q in questions if q.expected is Cell.ALLOWED][:1]:
                wait_until(
                    functools.partial(real_request, observer.client(probe.user), probe),
                    lambda answer: answer[0] is Cell.ALLOWED,
                    timeout=enforce,
                    what=f"{probe.reproduce()} to be allowed by its tenant's binding",
                )
        observed = observer.observe([q.probe for q in questions])
        return AccessRun(tuple(questions), observed, positive_control=False)
    finally:
        observer.close()


def observe_paths(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, scope: ProviderScope
) -> tuple[AccessRun, AccessRun]:
    """(tenants' non-resource paths, three ways; requests without credentials, two ways: no self review)."""
    admin = tenancy.admin_client(cluster)
    try:
        resources = discover(admin)
    finally:
        admin.close()
    tenants = non_resource_questions(tenancy, cluster, scope)
    nobody = anonymous_questions(tenancy, cluster, resources, scope)
    observer = AccessObserver(tenancy, cluster)
    try:
        observed = observer.observe([q.probe for q in tenants])
        anonymous = observer.observe([q.probe for q in nobody], ways=("request", "subjectaccessreview"))
    finally:
        observer.close()
    return AccessRun(tuple(tenants), observed), AccessRun(tuple(nobody), anonymous)


def judge(runs: Sequence[tuple[str, AccessRun]]) -> list[str]:
    """Reports of each named run, judged together by the one verdict rule (checks.verdicts.require):
    AssertionError on a contradiction (a cell, or a disagreement of the ways, which counts as one),
    Inconclusive when cells could not be observed, else the reports (for attaching)."""
    reports: list[str] = []
    mismatches: list[Mismatch] = []
    incomplete: list[Mismatch] = []
    for name, run in runs:
        comparison = run.compare()
        reports.append(f"{name}:\n{render_comparison(comparison)}\n{run.observation.report()}")
        mismatches += [*comparison.mismatches, *(disagreement(name, d) for d in run.observation.disagreements)]
        incomplete += comparison.incomplete
    nothing = Matrix.build((), (), {})
    require(Comparison(nothing, nothing, tuple(mismatches), tuple(incomplete)), "\n".join(reports))
    return reports


def disagreement(name: str, text: str) -> Mismatch:
    """A disagreement of the ways of run `name` (Observation.disagreements' `text`) as a contradiction for
    the verdict rule: two answers the API server gave to one question differ (pure; its cells say only
    that, the text says which ways answered what)."""
    return Mismatch(f"{name}: the ways", text, Cell.ALLOWED, Cell.DENIED, "the ways of observing disagree")


def attach_and_judge(runs: Sequence[tuple[str, AccessRun]]) -> None:
    """Attach each named run's comparison and its three ways, then `judge` them all together."""
    for name, run in runs:
        attach_comparison(run.compare(), name, run.observation.report())
        attach_ways(run.observation, name)
    judge(runs)
