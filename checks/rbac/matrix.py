"""The tenants' access matrix on a shared cluster: probes built from discovery, expected from the model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from checks.evidence import record_figure
from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare
from checks.rbac import covering
from checks.rbac.access import AccessObserver, Observation, Probe, resource_probe, subresource_probe
from checks.rbac.design import (
    CELL_BUDGET,
    EVERY_CELL_TENANTS,
    SAMPLE,
    Family,
    chosen,
    coverage,
    cross_checked,
    cross_line,
    family,
    figure,
    namespaces_of,
)
from checks.rbac.discovery import ApiResource, ApiSubresource, discover, discover_subresources
from checks.rbac.rendering import attach_comparison, render_comparison
from checks.rbac.service_accounts import ServiceAccount, relabel_namespace, tenant_grants
from checks.rbac.service_accounts import expected as account_expected
from checks.rbac.streaming import stream_probe, streams
from checks.verdicts import Inconclusive, require
from provisioning.kube import client as kube
from provisioning.model.access import (
    ALL_NAMESPACES,
    PublicRead,
    provider_namespaces,
    request_of,
    required_policy,
)
from provisioning.model.rbac import RbacPolicy
from provisioning.model.tenancy import Identity, Placement
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

# The introspection APIs every authenticated user may call about itself: not part of the boundary.
SELF_REVIEWS = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews")


@dataclass(frozen=True)
class Question:
    """A probe and what the model requires of it."""

    probe: Probe
    identity: Identity | ServiceAccount
    expected: Cell
    # namespaced, cluster, provider (namespaces of no tenant, all namespaces), subresource or control
    scope: str = "namespaced"


@dataclass(frozen=True)
class ProviderScope:
    """What the targets file says of a product's own namespaces: their names (besides kube-system and
    the other initial namespaces) and the reads it documents as open to every tenant."""

    named: tuple[str, ...] = ()
    public_reads: tuple[PublicRead, ...] = field(default_factory=tuple)
    non_resource_reads: tuple[str, ...] | None = None  # paths tenants may read; None: Kubernetes' defaults
    anonymous_reads: tuple[str, ...] | None = None  # paths open without credentials; None: Kubernetes' defaults


def shared_cluster(tenancy: ProvisionedTenancy) -> ProvisionedCluster | None:
    shared = [c for c in tenancy.clusters if c.tenants[0].placement is Placement.SHARED and len(c.tenants) >= 2]
    return shared[0] if shared else None


def row_of(identity: Identity) -> str:
    return identity.user


def _expected(policy: RbacPolicy, identity: Identity, probe: Probe) -> Cell:
    a = probe.attributes
    request = request_of(
        identity, a["verb"], a["group"], a["resource"], a["namespace"], a.get("name", ""), a.get("subresource", "")
    )
    return Cell.ALLOWED if policy.allows(request) else Cell.DENIED


def _items(resources: Sequence[ApiResource], verbs: Sequence[str] = ()) -> list[tuple[str, tuple[ApiResource, str]]]:
    """(label, (resource, verb)) of every verb of `resources` (only `verbs` when given)."""
    return [(f"{v} {r.label}", (r, v)) for r in resources for v in r.verbs if not verbs or v in verbs]


def _asker(policy: RbacPolicy, scope: str) -> Callable[[Identity, str, tuple[ApiResource, str]], Question]:
    def ask(identity: Identity, namespace: str, item: tuple[ApiResource, str]) -> Question:
        probe = resource_probe(identity.user, row_of(identity), item[0], item[1], namespace)
        return Question(probe, identity, _expected(policy, identity, probe), scope)

    return ask


def namespaced_family(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    scope: ProviderScope = ProviderScope(),
) -> Family[Question]:
    """Every identity (each authenticator's) x every tenant namespace of the cluster x every namespaced
    resource x its verbs."""
    tenants = cluster.tenants
    policy = required_policy(tenancy.product, tenants, cluster.authenticators, scope.public_reads)
    namespaces = namespaces_of([t.namespace for t in tenants], tenants)
    items = _items([r for r in resources if r.namespaced])
    return family("namespaced", cluster.identities, namespaces, items, _asker(policy, "namespaced"))


def namespaced_questions(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    scope: ProviderScope = ProviderScope(),
) -> list[Question]:
    """Every question of `namespaced_family`."""
    return namespaced_family(tenancy, cluster, resources, scope).every()


def cluster_scoped_family(cluster: ProvisionedCluster, resources: Sequence[ApiResource]) -> Family[Question]:
    """Every identity x every cluster-scoped resource x its verbs: all denied (self-reviews aside)."""
    items = _items([r for r in resources if not r.namespaced and r.name not in SELF_REVIEWS])

    def ask(identity: Identity, namespace: str, item: tuple[ApiResource, str]) -> Question:
        return Question(
            resource_probe(identity.user, row_of(identity), *item, namespace), identity, Cell.DENIED, "cluster"
        )

    return family("cluster", cluster.identities, namespaces_of([""], ()), items, ask)


def cluster_scoped_questions(cluster: ProvisionedCluster, resources: Sequence[ApiResource]) -> list[Question]:
    """Every question of `cluster_scoped_family`."""
    return cluster_scoped_family(cluster, resources).every()


def provider_families(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    namespaces: Sequence[str],
    scope: ProviderScope = ProviderScope(),
) -> list[Family[Question]]:
    """Every identity x every namespace of no tenant (`namespaces`) x every namespaced resource x its
    verbs, then every identity x every all-namespaces list and watch (secrets first). Expected from the
    model: denied, except the public reads the targets file documents."""
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators, scope.public_reads)
    namespaced = [r for r in resources if r.namespaced]
    secrets_first = sorted(namespaced, key=lambda r: (r.group, r.name) != ("", "secrets"))
    ask = _asker(policy, "provider")

    def everywhere(identity: Identity, namespace: str, item: tuple[ApiResource, str]) -> Question:
        question = ask(identity, ALL_NAMESPACES, item)
        probe = replace(question.probe, column=f"(all namespaces): {item[1]} {item[0].label}")
        return replace(question, probe=probe)

    return [
        family("provider", cluster.identities, namespaces_of(namespaces, ()), _items(namespaced), ask),
        family(
            "provider",
            cluster.identities,
            namespaces_of([""], ()),
            _items(secrets_first, ("list", "watch")),
            everywhere,
        ),
    ]


def provider_questions(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    namespaces: Sequence[str],
    scope: ProviderScope = ProviderScope(),
) -> list[Question]:
    """Every question of `provider_families`."""
    return [q for f in provider_families(tenancy, cluster, resources, namespaces, scope) for q in f.every()]


def subresource_families(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    subresources: Sequence[ApiSubresource],
    namespaces: Sequence[str],
    scope: ProviderScope = ProviderScope(),
) -> list[Family[Question]]:
    """Every identity x every subresource discovery lists x every verb it serves, in every tenant
    namespace of the cluster (its own and the others'), every namespace of no tenant (`namespaces`) and,
    for cluster-scoped parents, cluster-wide; a namespace's status and finalize are asked of each of
    those namespaces. Expected from the model (the default roles' subresource rules)."""
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators, scope.public_reads)
    every = namespaces_of([t.namespace for t in cluster.tenants] + list(namespaces), cluster.tenants)

    def of_namespaces(sub: ApiSubresource) -> bool:
        return sub.parent.namespaced or (sub.parent.group, sub.parent.name) == ("", "namespaces")

    def ask(identity: Identity, namespace: str, item: tuple[ApiSubresource, str]) -> Question:
        probe = subresource_probe(identity.user, row_of(identity), item[0], item[1], namespace)
        return Question(probe, identity, _expected(policy, identity, probe), "subresource")

    def items(where: bool) -> list[tuple[str, tuple[ApiSubresource, str]]]:
        return [
            (f"{v} {sub.label}", (sub, v)) for sub in subresources if of_namespaces(sub) is where for v in sub.verbs
        ]

    return [
        family("subresource", cluster.identities, every, items(True), ask),
        family("subresource", cluster.identities, namespaces_of([""], ()), items(False), ask),
    ]


def subresource_questions(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    subresources: Sequence[ApiSubresource],
    namespaces: Sequence[str],
    scope: ProviderScope = ProviderScope(),
) -> list[Question]:
    """Every question of `subresource_families`."""
    return [q for f in subresource_families(tenancy, cluster, subresources, namespaces, scope) for q in f.every()]


def stream_family(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, pods: Mapping[str, str]
) -> Family[Question]:
    """Every identity x every tenant namespace with a running pod (`pods`: namespace -> pod name) x
    exec, attach and portforward x WebSocket (get) and SPDY (create), items labelled "<sub> over
    <transport>". Expected from the model: its own namespace's streams are the positive control for admins
    and developers, never for viewers."""
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators)
    namespaces = namespaces_of(list(pods), cluster.tenants)
    items = [(f"{sub} over {transport}", (sub, transport)) for sub, transport in streams()]

    def ask(identity: Identity, namespace: str, item: tuple[str, str]) -> Question:
        probe = stream_probe(identity.user, row_of(identity), namespace, pods[namespace], *item)
        return Question(probe, identity, _expected(policy, identity, probe), "stream")

    return family("stream", cluster.identities, namespaces, items, ask)


def stream_questions(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, pods: Mapping[str, str]
) -> list[Question]:
    """Every question of `stream_family`, identity-major."""
    return stream_family(tenancy, cluster, pods).every()


def own_stream_controls(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, pods: Mapping[str, str]
) -> list[Question]:
    """One stream of every identity in its own namespace, the streams dealt in turn over a tenant's
    identities (one question per identity: linear in the tenants), asked whatever the covering design
    asks: each tenant's admins and developers open theirs (the positive controls), its viewers cannot."""
    streams_of = stream_family(tenancy, cluster, pods)
    space = streams_of.space
    dealt: dict[str, int] = {}
    found = []
    for s, subject in enumerate(space.subjects):
        for n, namespace in enumerate(space.namespaces):
            if namespace.owner and namespace.owner == subject.tenant:
                turn = dealt.get(subject.tenant, 0)
                dealt[subject.tenant] = turn + 1
                found.append(streams_of.question(s, n, turn % len(space.items)))
    return found


def service_account_questions(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    namespaces: Sequence[str],
    accounts: Sequence[ServiceAccount],
    scope: ProviderScope = ProviderScope(),
) -> list[Question]:
    """Every tenant service account (`accounts`) x every verb on every namespaced resource in every
    tenant namespace of the cluster and every namespace of no tenant, every cluster-scoped resource and
    the relabel of its own namespace; expected from the model plus the tenants' own grants (the builder
    bound to view in its namespace). What view gives the builders at home is the positive control."""
    families, relabels = service_account_families(tenancy, cluster, resources, namespaces, accounts, scope)
    return [q for f in families for q in f.every()] + relabels


def service_account_families(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    namespaces: Sequence[str],
    accounts: Sequence[ServiceAccount],
    scope: ProviderScope = ProviderScope(),
) -> tuple[list[Family[Question]], list[Question]]:
    """(the families of `service_account_questions`: namespaced and cluster-scoped, the relabels of their
    own namespaces: one per account, always asked)."""
    grants = [m for t in cluster.tenants for m in tenant_grants(t, "model") if m["kind"] == "RoleBinding"]
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators, scope.public_reads, grants)
    every = namespaces_of([t.namespace for t in cluster.tenants] + list(namespaces), cluster.tenants)

    def ask(account: ServiceAccount, namespace: str, item: tuple[ApiResource, str]) -> Question:
        probe = resource_probe(account.user, account.user, *item, namespace)
        return Question(probe, account, account_expected(policy, account, probe), "serviceaccount")

    cluster_wide = [r for r in resources if not r.namespaced and r.name not in SELF_REVIEWS]
    families = [
        family("serviceaccount", accounts, every, _items([r for r in resources if r.namespaced]), ask),
        family("serviceaccount", accounts, namespaces_of([""], ()), _items(cluster_wide), ask),
    ]
    relabels = [
        Question(p, a, account_expected(policy, a, p), "serviceaccount")
        for a in accounts
        for p in [relabel_namespace(a)]
    ]
    return families, relabels


def namespaces_of_no_tenant(admin: object, tenancy: ProvisionedTenancy, named: Sequence[str]) -> list[str]:
    """The cluster's namespaces that no tenant of the product owns, with the initial ones and the
    product's `named` ones (asked even where they do not exist: a grant there is a finding too)."""
    existing = [n["metadata"]["name"] for n in kube.request(admin, "GET", "/api/v1/namespaces")["items"]]
    return provider_namespaces(named, existing, (t.namespace for t in tenancy.tenants))


def own_namespace_controls(cluster: ProvisionedCluster, resources: Sequence[ApiResource]) -> list[Question]:
    """Positive controls: every identity can list pods in its own namespace."""
    pods = next(r for r in resources if r.group == "" and r.name == "pods")
    return [
        Question(resource_probe(i.user, row_of(i), pods, "list", t.namespace), i, Cell.ALLOWED, "control")
        for t in cluster.tenants
        for i in cluster.identities_of(t)
    ]


def expected_matrix(questions: Sequence[Question]) -> Matrix:
    rows = list(dict.fromkeys(q.probe.row for q in questions))
    columns = list(dict.fromkeys(q.probe.column for q in questions))
    return Matrix.build(rows, columns, {(q.probe.row, q.probe.column): q.expected for q in questions})


@dataclass(frozen=True)
class AccessRun:
    """What was asked on a cluster and what the three ways answered."""

    questions: tuple[Question, ...]
    observation: Observation
    # True: every expected-allowed cell is a positive control (a failed one makes denials prove nothing);
    # False: the credentials were proven otherwise (e.g. a SelfSubjectReview), an allowed cell observed
    # denied is a contradiction like any other
    positive_control: bool = True
    # the covering design the questions are (None: every cell of the matrix was asked)
    design: covering.Design | None = None
    # True: the questions were chosen by the cell budget (checks.rbac.design.chosen): `figure` says how many asked
    budgeted: bool = False
    # the seed of the questions the access reviews were asked besides the real request, in a check linear in
    # the tenants (checks.rbac.design.cross_checked_linear; None: every question every way, or a design's)
    cross_seed: int | None = None

    def figure(self) -> str:
        """What the run's verdicts rest on, for the records (`checks.rbac.design.figure`: asked N of M cells of
        a covering design with its seed, or every cell); "" for a run not chosen by the cell budget."""
        return figure(self.design, self.questions, self.observation) if self.budgeted else ""

    def report(self) -> str:
        """The ways' report, then what was asked and inferred from the model, and the model's agreement."""
        crossed = "" if self.cross_seed is None else f"\n{cross_line(self.observation, self.cross_seed)}"
        return f"{self.observation.report()}{crossed}\n{coverage(self.design, self.questions, self.observation)}"

    def ways_report(self) -> str:
        """The ways' report (`Observation.report`) and, for a check linear in the tenants whose access reviews
        asked a seeded subset, which (`cross_line`, with its seed); no model coverage or agreement lines (the
        attempts': their cells fenced by admission are the reviews' ALLOWED, not the model's)."""
        crossed = "" if self.cross_seed is None else f"\n{cross_line(self.observation, self.cross_seed)}"
        return f"{self.observation.report()}{crossed}"

    def compare(self, keep: Callable[[Question], bool] = lambda _q: True) -> Comparison:
        """The real requests of the questions `keep` selects against what the model expects of them; the
        observed matrix is cut to the selected cells (rendered whole, a matrix costs the square of its columns)."""
        selected = [q for q in self.questions if keep(q)]
        expected = expected_matrix(selected)
        observed = _cut(self.observation.request, expected)
        return compare(expected, apply_positive_control(expected, observed) if self.positive_control else observed)


def _cut(observed: Matrix, expected: Matrix) -> Matrix:
    """`observed` on `expected`'s rows, columns and cells only (their evidence and deciding layers kept)."""
    return observed.only(expected.cells.keys(), expected.rows, expected.columns)


def observe_cluster(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    extra: Sequence[Question] = (),
    scope: ProviderScope = ProviderScope(),
    budget: int = CELL_BUDGET,
    sample: int = SAMPLE,
    seed: int | None = None,
    every_cell_tenants: int = EVERY_CELL_TENANTS,
) -> tuple[AccessRun, list[ApiResource]]:
    """Discover the API and the namespaces of no tenant, ask the questions three ways: every cell of the
    matrix on a cluster of at most `every_cell_tenants` tenants, else its covering design
    (checks.rbac.design.chosen: `sample` random cells from `seed` or a fresh seed, at most `budget` cells
    when the required ones leave room), each cell by the real request and the design's cross-checked
    cells (checks.rbac.design.cross_checked) and `extra` by the access reviews too; the positive
    controls and `extra` are always asked."""
    admin = tenancy.admin_client(cluster)
    try:
        resources = discover(admin)
        subresources = discover_subresources(admin)
        namespaces = namespaces_of_no_tenant(admin, tenancy, scope.named)
    finally:
        admin.close()
    families = [
        namespaced_family(tenancy, cluster, resources, scope),
        cluster_scoped_family(cluster, resources),
        *provider_families(tenancy, cluster, resources, namespaces, scope),
        *subresource_families(tenancy, cluster, subresources, namespaces, scope),
    ]
    design, asked = chosen(families, budget, sample, seed, every_cell_tenants)
    controls = own_namespace_controls(cluster, resources)
    questions = controls + asked + list(extra)
    cross = cross_checked(families, design)
    if cross is not None:  # the design's cross-checked cells, and every extra question
        cross = {len(controls) + at for at in cross} | set(range(len(controls) + len(asked), len(questions)))
    observer = AccessObserver(tenancy, cluster)
    try:
        observation = observer.observe([q.probe for q in questions], cross=cross)
    finally:
        observer.close()
    return AccessRun(tuple(questions), observation, design=design, budgeted=True), resources


def by_column(questions: Sequence[Question]) -> Mapping[str, Question]:
    return {q.probe.column: q for q in questions}


def record_run_figure(run: AccessRun) -> None:
    """Record the run's figure (`AccessRun.figure`) beside the scenario's verdict, when it has one."""
    text = run.figure()
    if text:
        record_figure(text)


def judge_scope(run: AccessRun, scope: str, name: str) -> None:
    """The run's questions of one `scope` (Question.scope) and the positive controls, compared and attached
    as `name`; passes, fails (AssertionError) or is ERROR (Inconclusive) as checks.verdicts.require. The run's
    figure (`AccessRun.figure`: how many cells of the whole matrix were asked) is recorded first. A run that
    asked no question of `scope` is ERROR (Inconclusive) before any comparison: its positive controls alone
    would make a comparison of cells, but none of them is the check's."""
    record_run_figure(run)
    if not any(q.scope == scope for q in run.questions):
        raise Inconclusive(
            f"nothing was observed: the run asked no {scope} question (its {len(run.questions)} questions are "
            "other scopes' or positive controls, whose cells are no verdict of this check)"
        )
    comparison = run.compare(lambda q: q.scope in (scope, "control"))
    report = run.report()
    attach_comparison(comparison, name, report)
    require(comparison, f"{render_comparison(comparison)}\n{report}" if run.design else render_comparison(comparison))
