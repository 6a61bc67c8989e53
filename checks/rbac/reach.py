"""Issue 19's observations past the tenant users' matrix: tenants' service accounts (with tokens the
tenants request), streams into real pods, non-resource paths and requests without credentials; each
asked three ways (two without credentials) and judged against the model. Steps and lab tests share them."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from checks.answered import Answered, failed, succeeded
from checks.matrix import Cell, Comparison, Matrix, Mismatch, apply_positive_control, compare
from checks.rbac.access import AccessObserver, real_request
from checks.rbac.design import CROSS_SHARE, chosen, cross_checked, cross_checked_linear, subject_of
from checks.rbac.discovery import ApiResource, discover
from checks.rbac.matrix import (
    AccessRun,
    ProviderScope,
    Question,
    namespaces_of_no_tenant,
    own_stream_controls,
    record_run_figure,
    service_account_families,
    stream_family,
)
from checks.rbac.path_questions import anonymous_questions, non_resource_questions
from checks.rbac.rendering import attach_comparison, attach_ways, render_comparison
from checks.rbac.service_accounts import client_maker, extra_identities, grant, request_token, service_accounts
from checks.verdicts import Inconclusive, require
from harness.settings import Covering
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

T = TypeVar("T")
EVERY_DEFAULT = Covering()  # the settings' defaults: a budget the lab's runs stay within


def observe(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    questions: Sequence[Question],
    covering: Covering | None = None,
) -> AccessRun:
    """Ask `questions` of the tenancy's identities, three ways: every question with `covering` None or
    a cluster of at most its `every_cell_tenants` tenants, else every question by the real request and
    `cross_checked_linear`'s subset (seed `covering.seed` or a fresh one, in the run's report) by the
    access reviews too (a check linear in the tenants: its questions are asked of every tenant, whose
    answers can differ from its plan-mates': its own bindings, fences and groups)."""
    seed = secrets.randbelow(2**31) if covering is None or covering.seed is None else covering.seed
    keys = linear_keys(cluster, questions)
    every = EVERY_DEFAULT.every_cell_tenants if covering is None else covering.every_cell_tenants
    cross = None if covering is None else cross_checked_linear(keys, seed, CROSS_SHARE, every)
    observer = AccessObserver(tenancy, cluster)
    try:
        observation = observer.observe([q.probe for q in questions], cross=cross)
    finally:
        observer.close()
    return AccessRun(tuple(questions), observation, cross_seed=None if cross is None else seed)


def linear_keys(cluster: ProvisionedCluster, questions: Sequence[Question]) -> list[tuple[str, str, str]]:
    """(identity kind, tenant, item) of each question for `cross_checked_linear` (pure): the item is the
    column with the identity's own namespace named "<own>" (a positive control's column names it)."""
    homes = {t.name: t.namespace for t in cluster.tenants}
    found = []
    for q in questions:
        subject = subject_of(q.identity)
        home = homes.get(subject.tenant, "")
        found.append((subject.kind, subject.tenant, q.probe.column.replace(home, "<own>") if home else q.probe.column))
    return found


def _observed(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, questions: Sequence[Question], cross: set[int] | None
) -> AccessRun:
    observer = AccessObserver(tenancy, cluster)
    try:
        return AccessRun(tuple(questions), observer.observe([q.probe for q in questions], cross=cross))
    finally:
        observer.close()


def observe_streams(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    pods: Mapping[str, str],
    covering: Covering = EVERY_DEFAULT,
) -> AccessRun:
    """Stream handshakes into `pods` (namespace -> a running pod's name): every identity x namespace x
    stream on a cluster of at most `covering.every_cell_tenants` tenants, else the covering design of
    `stream_family` (checks.rbac.design.chosen) and every identity's own-namespace streams (the positive
    controls, `own_stream_controls`); the run's figure says how many were asked."""
    ordered = dict(sorted(pods.items()))
    family = stream_family(tenancy, cluster, ordered)
    design, asked = chosen(
        [family], covering.budget, covering.sample, covering.seed, covering.every_cell_tenants, pairs=False
    )
    cross = cross_checked([family], design)
    if design is not None and cross is not None:
        keys = {(q.probe.row, q.probe.column) for q in asked}
        controls = [
            q for q in own_stream_controls(tenancy, cluster, ordered) if (q.probe.row, q.probe.column) not in keys
        ]
        asked = controls + asked
        cross = {len(controls) + at for at in cross}
    run = _observed(tenancy, cluster, asked, cross)
    return replace(run, design=design, budgeted=True)


def observe_service_accounts(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    scope: ProviderScope,
    run_id: str,
    enforce: float,
    keep: Callable[[ApiResource], bool] = lambda _r: True,
    covering: Covering = EVERY_DEFAULT,
) -> AccessRun:
    """Each tenant admin creates its builder service account bound to view and requests tokens for it
    and for `default`; those tokens ask the questions of `service_account_families` (every cell within
    `covering`'s budget, else its covering design; and every relabel) (on the resources
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
    families, relabels = service_account_families(tenancy, cluster, resources, namespaces, accounts, scope)
    design, asked = chosen(
        families, covering.budget, covering.sample, covering.seed, covering.every_cell_tenants, pairs=False
    )
    questions = asked + relabels
    cross = cross_checked(families, design)  # and every relabel
    cross = None if cross is None else cross | set(range(len(asked), len(questions)))
    observer = AccessObserver(tenancy, cluster, extra=extra_identities(makers, accounts))
    try:
        tokens = {account.user: token_control(observer.client(account.user), account.user) for account in accounts}
        if cluster.handle.authorization is AuthorizationMode.RBAC:
            for probe in [q.probe for q in questions if q.expected is Cell.ALLOWED][:1]:
                wait_until(
                    functools.partial(real_request, observer.client(probe.user), probe),
                    lambda answer: answer[0] is Cell.ALLOWED,
                    timeout=enforce,
                    what=f"{probe.reproduce()} to be allowed by its tenant's binding",
                )
        observed = observer.observe([q.probe for q in questions], cross=cross)
        return TokenRun(tuple(questions), observed, positive_control=False, design=design, budgeted=True, tokens=tokens)
    finally:
        observer.close()


IDENTITY_CONTROL = "authenticates as itself (the positive control)"


def token_control(api: Any, user: str) -> Answered:
    """The positive control of a service account's row: a SelfSubjectReview with its token. ALLOWED when
    the token authenticates as `user` (or the review was refused by a layer after authentication: ABAC
    grants none, so the cluster knew who asked), DENIED when it authenticates as another user or the
    authenticator refused it (401), ERROR when nothing was decided (`checks.answered.failed` with the
    authenticator as the fence). Observes only; never raises."""
    try:
        said = kube.who_am_i(api).get("username")
    except kube.ApiFailure as failure:
        seen = failed(failure, answers.AUTHENTICATION_FENCE)
        return Answered(seen.cell, f"the SelfSubjectReview of {user}'s token: {seen.evidence}", seen.layer)
    if said != user:
        return Answered(Cell.DENIED, f"the token of {user} authenticates as {said}", answers.Layer.AUTHENTICATION.value)
    return succeeded(f"the token authenticates as {user}")


@dataclass(frozen=True)
class TokenRun(AccessRun):
    """A run of service accounts' tokens: the access run and, per service account (row), its token's
    positive control (`token_control`), a column of its own (IDENTITY_CONTROL)."""

    tokens: Mapping[str, Answered] = field(default_factory=dict)

    def compare(self, keep: Callable[[Question], bool] = lambda _q: True) -> Comparison:
        """The access run's comparison with the IDENTITY_CONTROL column: every token expected to be its account's,
        compared by the one rule with those cells as the named positive controls
        (`checks.matrix.apply_positive_control`): when a token is not its service account's, no denial of
        the table is evidence (ERROR)."""
        plain = super().compare(keep)
        rows = tuple(dict.fromkeys([*plain.expected.rows, *self.tokens]))
        columns = (*plain.expected.columns, IDENTITY_CONTROL)
        token_keys = {(row, IDENTITY_CONTROL): seen for row, seen in self.tokens.items()}
        expected = Matrix.build(rows, columns, {**plain.expected.cells, **dict.fromkeys(token_keys, Cell.ALLOWED)})
        observed = Matrix.build(
            rows,
            columns,
            {**plain.observed.cells, **{k: seen.cell for k, seen in token_keys.items()}},
            {**plain.observed.evidence, **{k: seen.evidence for k, seen in token_keys.items()}},
            {**plain.observed.layers, **{k: seen.layer for k, seen in token_keys.items()}},
        )
        return compare(expected, apply_positive_control(expected, observed, list(token_keys)))


def observe_paths(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, scope: ProviderScope, covering: Covering = EVERY_DEFAULT
) -> tuple[AccessRun, AccessRun]:
    """(tenants' non-resource paths, three ways (past `covering.every_cell_tenants` tenants the access
    reviews only of `cross_checked_linear`'s subset, as `observe`); requests without credentials, two
    ways: no self review)."""
    admin = tenancy.admin_client(cluster)
    try:
        resources = discover(admin)
    finally:
        admin.close()
    tenants = non_resource_questions(tenancy, cluster, scope)
    nobody = anonymous_questions(tenancy, cluster, resources, scope)
    paths = observe(tenancy, cluster, tenants, covering)
    observer = AccessObserver(tenancy, cluster)
    try:
        anonymous = observer.observe([q.probe for q in nobody], ways=("request", "subjectaccessreview"))
    finally:
        observer.close()
    return paths, AccessRun(tuple(nobody), anonymous)


def judge(runs: Sequence[tuple[str, AccessRun]]) -> list[str]:
    """Reports of each named run, judged together by the one verdict rule (checks.verdicts.require):
    AssertionError on a contradiction (a cell, or a disagreement of the ways, which counts as one),
    Inconclusive when cells could not be observed, else the reports (for attaching). The runs'
    comparisons are judged as one (`joined`), so every cell's deciding layer reaches the verdict."""
    reports: list[str] = []
    mismatches: list[Mismatch] = []
    incomplete: list[Mismatch] = []
    compared: list[tuple[str, Comparison]] = []
    for name, run in runs:
        comparison = run.compare()
        compared.append((name, comparison))
        reports.append(f"{name}:\n{render_comparison(comparison)}\n{run.report()}")
        mismatches += [*comparison.mismatches, *(disagreement(name, d) for d in run.observation.disagreements)]
        incomplete += comparison.incomplete
    expected = joined([(name, c.expected) for name, c in compared])
    observed = joined([(name, c.observed) for name, c in compared])
    require(Comparison(expected, observed, tuple(mismatches), tuple(incomplete)), "\n".join(reports))
    return reports


def joined(matrices: Sequence[tuple[str, Matrix]]) -> Matrix:
    """Named matrices as one (pure): each one's rows named `<name>: <row>`, one under the other, over the
    union of their columns (in order); cells, evidence and deciding layers kept."""

    def rekeyed(name: str, cells: Mapping[tuple[str, str], T]) -> dict[tuple[str, str], T]:
        return {(f"{name}: {row}", column): value for (row, column), value in cells.items()}

    rows = [f"{name}: {row}" for name, m in matrices for row in m.rows]
    columns = list(dict.fromkeys(c for _, m in matrices for c in m.columns))
    return Matrix.build(
        rows,
        columns,
        {k: v for name, m in matrices for k, v in rekeyed(name, m.cells).items()},
        {k: v for name, m in matrices for k, v in rekeyed(name, m.evidence).items()},
        {k: v for name, m in matrices for k, v in rekeyed(name, m.layers).items()},
    )


def disagreement(name: str, text: str) -> Mismatch:
    """A disagreement of the ways of run `name` (Observation.disagreements' `text`) as a contradiction for
    the verdict rule: two answers the API server gave to one question differ (pure; its cells say only
    that, the text says which ways answered what)."""
    return Mismatch(f"{name}: the ways", text, Cell.ALLOWED, Cell.DENIED, "the ways of observing disagree")


def attach_and_judge(runs: Sequence[tuple[str, AccessRun]]) -> None:
    """Attach each named run's comparison and its three ways, then `judge` them all together; a run chosen by
    the cell budget (the service accounts' matrix) records its figure first (`checks.rbac.matrix.record_run_figure`)."""
    for name, run in runs:
        record_run_figure(run)
        attach_comparison(run.compare(), name, run.report())
        attach_ways(run.observation, name)
    judge(runs)
