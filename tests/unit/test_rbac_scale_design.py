"""The RBAC covering design at provider scale (issue 23), pure: at 100 tenants every guarantee of the issue
holds (every identity kind x namespace, every identity kind x relation x resource x verb, every ordered
tenant pair, a seeded random sample), the required part grows by one cell per ordered tenant pair per
space (N(N-1), not N(N-1) x kinds x items) plus a part linear in the tenants, so the cells asked per tenant
fall from 10 to 100 tenants; up to 5 tenants every cell is asked; the budget cuts the sample, never the
required cells; the streams check (check_rbac_009) is under the same design (every identity kind x namespace,
its tenant pairs left to the access matrix) with one own-namespace stream per identity always asked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from checks.matrix import Cell, Matrix
from checks.rbac import matrix as rbac
from checks.rbac.access import Observation
from checks.rbac.covering import KIND_ITEM, KIND_NAMESPACE, PAIRS, Design, Namespace, Space, Subject, cover
from checks.rbac.design import chosen, tenants_of
from harness.settings import DEFAULT_TARGETS, Covering, covering_of
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.tenancy import Authenticator, AuthorizationMode, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

# 3 roles x 2 authenticators: the lab's pks identities of a tenant
KINDS = tuple(f"{a} {r}" for a in ("certificate", "oidc") for r in ("admin", "developer", "viewer"))
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
ITEMS = tuple(f"{v} resource-{r}" for r in range(12) for v in VERBS)  # 96 resource x verb items
PROVIDER = ("default", "kube-node-lease", "kube-public", "kube-system")
SEED, SAMPLE = 5, 300


def names(count: int) -> list[str]:
    return [f"t{i:03d}" for i in range(count)]


def spaces(count: int) -> list[Space]:
    """The access matrix's shape at `count` tenants: tenant namespaces, namespaces of no tenant, cluster-wide."""
    subjects = tuple(Subject(kind, t) for t in names(count) for kind in KINDS)
    tenant_namespaces = tuple(Namespace(f"tenant-{t}", t) for t in names(count))
    return [
        Space("namespaced", subjects, tenant_namespaces, ITEMS),
        Space("provider", subjects, tuple(Namespace(n) for n in PROVIDER), ITEMS),
        Space("cluster", subjects, (Namespace(""),), ITEMS[:40]),
    ]


def covered(found: list[Space], design: Design) -> dict[tuple[int, str], set[tuple[str, ...]]]:
    keys: dict[tuple[int, str], set[tuple[str, ...]]] = {}
    for k, s, n, i in design.asked:
        for name, key in found[k].keys(s, n, i).items():
            keys.setdefault((k, name), set()).add(key)
    return keys


@pytest.fixture(scope="module")
def hundred() -> tuple[list[Space], Design]:
    found = spaces(100)
    return found, cover(found, SEED, SAMPLE)


def test_at_100_tenants_every_guarantee_of_the_issue_holds(hundred: tuple[list[Space], Design]) -> None:
    found, design = hundred
    keys = covered(found, design)
    tenants = names(100)
    both_ways = {(a, b) for a in tenants for b in tenants if a != b}
    assert keys[(0, PAIRS)] == both_ways  # every tenant pair, in both directions: 9,900
    for k, space in enumerate(found):
        assert keys[(k, KIND_NAMESPACE)] == {(kind, n.name, n.owner) for kind in KINDS for n in space.namespaces}
        assert keys[(k, KIND_ITEM)] == space.required()[KIND_ITEM]
    assert {r for _kind, r, _item in keys[(0, KIND_ITEM)]} == {"own", "other tenant's"}
    assert design.seed == SEED
    assert design.drawn == SAMPLE
    assert f"covering design (seed {SEED})" in design.describe()
    assert design.inferred == design.cells - len(design.asked) > 0


def test_the_required_part_is_one_cell_per_tenant_pair_not_per_pair_kind_and_item(
    hundred: tuple[list[Space], Design],
) -> None:
    _found, design = hundred
    pairs = 100 * 99
    linear = len(KINDS) * (100 + len(PROVIDER) + 1)  # every kind in every namespace
    constant = len(KINDS) * (2 * len(ITEMS) + len(ITEMS) + 40)  # every kind x relation x item
    assert len(design.asked) <= pairs + linear + constant + SAMPLE
    assert len(design.asked) < pairs * len(KINDS)  # far below pairs x kinds, let alone x items
    assert design.cells == 600 * (100 * 96 + 4 * 96 + 40)


def test_the_cells_asked_per_tenant_fall_from_10_to_100_tenants() -> None:
    """Asked cells: 2,261 at 10 tenants, 11,592 at 100 (5.1x for 10x the tenants) while the matrix grows
    72x; past the pairs' N(N-1) what is asked does not grow (2,171 at 10, 1,692 at 100: the pair cells
    cover most kind x namespace and kind x item keys)."""
    asked = {n: len(cover(spaces(n), SEED, SAMPLE).asked) for n in (10, 20, 50, 100)}
    cells = {n: sum(s.cells for s in spaces(n)) for n in (10, 100)}
    assert asked[100] / 100 < asked[10] / 10
    assert asked[100] / asked[10] < 10
    assert cells[100] / cells[10] > 50
    rest = {n: asked[n] - n * (n - 1) for n in asked}  # the part besides one cell per ordered pair
    assert all(rest[n] / n <= rest[10] / 10 for n in asked)


def test_up_to_5_tenants_every_cell_is_asked_and_the_budget_cuts_only_the_sample() -> None:
    small = spaces(5)
    families = [rbac_family(s) for s in small]
    design, asked = chosen(families, budget=10, sample=SAMPLE, seed=SEED)
    assert design is None
    assert len(asked) == sum(s.cells for s in small)
    larger = [rbac_family(s) for s in spaces(6)]
    full, _ = chosen(larger, budget=10**6, sample=SAMPLE, seed=SEED)
    assert full is not None
    assert full.drawn == SAMPLE
    required_only, _ = chosen(larger, budget=10, sample=SAMPLE, seed=SEED)
    assert required_only is not None
    assert required_only.drawn == 0
    assert "a random sample of 0 (cut from 300 by the cell budget)" in required_only.describe()
    keys = covered([f.space for f in larger], required_only)
    assert keys[(0, PAIRS)] == {(a, b) for a in names(6) for b in names(6) if a != b}
    capped, _ = chosen(larger, budget=len(required_only.asked) + 50, sample=SAMPLE, seed=SEED)
    assert capped is not None
    assert capped.drawn == 50
    assert len(capped.asked) <= len(required_only.asked) + 50
    assert chosen(larger, budget=10**6, sample=SAMPLE, seed=SEED, every_cell_tenants=6)[0] is None


def rbac_family(space: Space) -> rbac.Family[tuple[int, int, int]]:
    return rbac.Family(space, lambda s, n, i: (s, n, i))  # type: ignore[type-var]


def test_the_tenants_of_spaces_are_their_identities_and_namespaces_owners() -> None:
    assert tenants_of(spaces(7)) == 7
    assert tenants_of([Space("cluster", (Subject("anonymous"),), (Namespace(""),), ("get pods",))]) == 0


def test_the_every_cell_tenants_come_from_the_environment() -> None:
    assert covering_of({"CAAS_RBAC_EVERY_CELL_TENANTS": "3"}) == Covering(every_cell_tenants=3)
    assert Covering().every_cell_tenants == 5


def shared(count: int) -> tuple[ProvisionedTenancy, ProvisionedCluster]:
    """pks's shared cluster with `count` tenants, certificate and OIDC identities (6 a tenant)."""
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab"
    )
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    tenants = tuple(Tenant(name, "small") for name in names(count))
    cluster = ProvisionedCluster(handle, tenants, authenticators=(Authenticator.CERTIFICATE, Authenticator.OIDC))
    tenancy.clusters.append(cluster)
    return tenancy, cluster


def pods_of(cluster: ProvisionedCluster) -> dict[str, str]:
    return {t.namespace: f"probe-{t.name}" for t in cluster.tenants}


def test_the_streams_at_100_tenants_are_a_covering_design_with_every_identitys_own_stream() -> None:
    tenancy, cluster = shared(100)
    pods = pods_of(cluster)
    family = rbac.stream_family(tenancy, cluster, pods)
    assert family.space.cells == 600 * 100 * 6  # identities x namespaces x (exec, attach, portforward) x 2
    design, asked = chosen([family], sample=SAMPLE, seed=SEED, pairs=False)  # the pairs are the access matrix's
    assert design is not None
    kinds = {(f"{q.identity.authenticator} {q.identity.role}", q.probe.attributes["namespace"]) for q in asked}
    assert len(kinds) >= 6 * 100  # every kind of identity in every namespace
    streams = {(q.probe.attributes["subresource"], q.probe.attributes["verb"]) for q in asked}
    assert len(streams) == 6
    assert len(asked) <= 6 * 100 + 6 * 2 * 6 + SAMPLE
    controls = rbac.own_stream_controls(tenancy, cluster, pods)
    assert len(controls) == 600  # one per identity: linear
    assert {q.probe.user for q in controls} == {i.user for i in cluster.identities}
    assert all(q.probe.attributes["namespace"] == f"tenant-{q.identity.tenant}" for q in controls)
    admins = [q for q in controls if q.identity.role.value == "admin"]
    assert admins
    assert all(q.expected is Cell.ALLOWED for q in admins)


def test_up_to_5_tenants_every_stream_is_asked_in_the_order_it_was() -> None:
    tenancy, cluster = shared(3)
    pods = pods_of(cluster)
    design, asked = chosen([rbac.stream_family(tenancy, cluster, pods)])
    assert design is None
    assert [q.probe.column for q in asked] == [q.probe.column for q in rbac.stream_questions(tenancy, cluster, pods)]
    assert len(asked) == 18 * 3 * 6
    assert asked[0].probe.column == "tenant-t000: exec over websocket (get)"


def test_a_streams_run_records_the_covering_figure() -> None:
    tenancy, cluster = shared(8)
    design, asked = chosen([rbac.stream_family(tenancy, cluster, pods_of(cluster))], sample=20, seed=SEED)
    assert design is not None
    rows = list(dict.fromkeys(q.probe.row for q in asked))
    columns = list(dict.fromkeys(q.probe.column for q in asked))
    matrix = Matrix.build(rows, columns, {(q.probe.row, q.probe.column): q.expected for q in asked})
    run = dataclasses.replace(rbac.AccessRun(tuple(asked), Observation({"request": matrix}, (), {})), design=design)
    run = dataclasses.replace(run, budgeted=True)
    assert run.figure() == (
        f"asked {len(design.asked):,} of {design.cells:,} cells (covering design, seed {SEED}); "
        f"{design.inferred:,} inferred from the model, agreement 100.00%"
    )
