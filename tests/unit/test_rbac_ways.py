"""The RBAC area's requests at provider scale (issue 23), pure: past CAAS_RBAC_EVERY_CELL_TENANTS tenants every
asked cell is asked by the real request (the truth) and the access reviews (the cross-check ways) only a
seeded subset: the design's random sample, every (space, identity kind, relation) and every tenant once; the
checks linear in the tenants (escalation, the provider's objects, non-resource paths) ask every tenant's
questions by the real request and the reviews every (identity kind, item) and tenant once and a seeded share;
the tenant pairs are asked once per design, and the service accounts' and streams' designs keep every
identity kind x namespace without them. At 100 tenants the area's requests fall more than 3x, the requests
per tenant fall from 10 to 100 tenants, and up to 5 tenants every way of every cell is still asked."""

from __future__ import annotations

from typing import Any

import pytest

from checks.matrix import Cell
from checks.rbac import access
from checks.rbac import matrix as rbac
from checks.rbac.access import WAYS, AccessObserver, Probe, requests_of, resource_probe
from checks.rbac.agreement import agreement_rows
from checks.rbac.attempts import attempt_questions
from checks.rbac.covering import KIND_ITEM, KIND_NAMESPACE, PAIRS, Space, cover, relation
from checks.rbac.design import CROSS_SHARE, chosen, cross_checked, cross_checked_linear
from checks.rbac.discovery import ApiResource, ApiSubresource
from checks.rbac.path_questions import non_resource_questions
from checks.rbac.reach import linear_keys
from checks.rbac.service_accounts import service_accounts
from tests.unit.test_rbac_scale_design import KINDS, SAMPLE, SEED, covered, names, shared, spaces

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
NAMESPACED = [ApiResource(f"g{i % 5}", "v1", f"res{i}", f"K{i}", True, VERBS) for i in range(31)]
NAMESPACED.append(ApiResource("", "v1", "pods", "Pod", True, VERBS))
CLUSTER = [ApiResource("c", "v1", f"cres{i}", f"C{i}", False, VERBS[:7]) for i in range(25)]
SUBRESOURCES = [
    ApiSubresource(NAMESPACED[i], s, "X", ("get", "create")) for i in range(15) for s in ("status", "scale")
]
PROVIDER = ["default", "kube-node-lease", "kube-public", "kube-system"]
ESCALATIONS = (
    "bind cluster-admin in its namespace",
    "bind cluster-admin cluster-wide",
    "escalate a role beyond its own",
    "impersonate another tenant's admin",
    "impersonate the system:masters group",
    "approve certificate signing requests",
)


def matrix_families(count: int) -> tuple[list[rbac.Family[rbac.Question]], list[rbac.Question]]:
    """The access matrix's families (250-odd namespaced resource verbs like the lab's) and its controls."""
    tenancy, cluster = shared(count)
    resources = NAMESPACED + CLUSTER
    families = [
        rbac.namespaced_family(tenancy, cluster, resources),
        rbac.cluster_scoped_family(cluster, resources),
        *rbac.provider_families(tenancy, cluster, resources, PROVIDER),
        *rbac.subresource_families(tenancy, cluster, SUBRESOURCES, PROVIDER),
    ]
    return families, rbac.own_namespace_controls(cluster, resources)


def area_requests(count: int, every_way: bool = False) -> int:
    """The API requests of the access matrix, service accounts and the linear checks at `count` tenants."""
    families, controls = matrix_families(count)
    design, asked = chosen(families, sample=SAMPLE, seed=SEED)
    cross = None if every_way else cross_checked(families, design)
    found = sum(requests_of([q.probe for q in asked], WAYS, cross).values()) + 2 * len(controls)
    tenancy, cluster = shared(count)
    accounts_of, relabels = rbac.service_account_families(
        tenancy, cluster, NAMESPACED + CLUSTER, PROVIDER, service_accounts(cluster.tenants)
    )
    design, asked = chosen(accounts_of, sample=SAMPLE, seed=SEED, pairs=False)
    cross = None if every_way else cross_checked(accounts_of, design)
    found += sum(requests_of([q.probe for q in asked], WAYS, cross).values()) + 3 * len(relabels)
    linear = attempt_questions(cluster, NAMESPACED, [{"attempt": a} for a in ESCALATIONS])
    linear += non_resource_questions(tenancy, cluster)
    cross = None if every_way else cross_checked_linear(linear_keys(cluster, linear), SEED, CROSS_SHARE)
    return found + sum(requests_of([q.probe for q in linear], WAYS, cross).values())


def test_at_100_tenants_the_reviews_cut_the_areas_requests_and_the_requests_per_tenant_fall_from_10() -> None:
    """Measured: 10 tenants 12,480 requests, 100 tenants 33,911, against 83,588 at 100 with every way of every
    asked cell (the pairs already once per design: the next test's cut comes on top)."""
    at_10, at_100 = area_requests(10), area_requests(100)
    assert area_requests(100, every_way=True) > 2 * at_100
    assert at_100 / 100 < at_10 / 10 / 3


def test_the_reviews_cross_check_the_sample_every_kind_and_relation_and_every_tenant() -> None:
    found = spaces(100)
    design = cover(found, SEED, SAMPLE)
    families = [rbac.Family(space, lambda s, n, i: (s, n, i)) for space in found]
    cross = cross_checked(families, design)  # type: ignore[arg-type]
    assert cross is not None
    picked = [design.asked[at] for at in cross]
    assert set(design.sampled) <= set(picked)
    assert len(design.sampled) == SAMPLE
    kinds = {
        (k, found[k].subjects[s].kind, relation(found[k].subjects[s], found[k].namespaces[n])) for k, s, n, _ in picked
    }
    every = {
        (k, s.kind, relation(s, n)) for k, space in enumerate(found) for s in space.subjects for n in space.namespaces
    }
    assert kinds == every
    assert {found[k].subjects[s].tenant for k, s, _n, _i in picked} == set(names(100))
    assert len(cross) < len(design.asked) / 5
    assert cross == cross_checked(families, design), "repeatable from the design's seed"  # type: ignore[arg-type]
    assert cross_checked(families, None) is None, "a small tenancy's matrix: every way of every cell"  # type: ignore[arg-type]


def test_the_tenant_pairs_are_asked_once_per_design_and_left_to_the_access_matrix() -> None:
    found = spaces(100)
    twice = [found[0], Space("subresource", found[0].subjects, found[0].namespaces, ("get pods/log",))]
    design = cover(twice, SEED, 0)
    keys = covered(twice, design)
    both_ways = {(a, b) for a in names(100) for b in names(100) if a != b}
    assert keys[(0, PAIRS)] == both_ways
    assert design.required[PAIRS] == len(both_ways)
    assert len([cell for cell in design.asked if cell[0] == 1]) <= 6 * 100 + 6 * 2, "kind x namespace, no pair again"
    assert keys[(1, KIND_NAMESPACE)] == {(k, n.name, n.owner) for k in KINDS for n in twice[1].namespaces}
    per_space = sum(len(cover([space], SEED, 0).asked) for space in twice)
    assert per_space - len(design.asked) >= len(both_ways) - 6 * 100, "a pair per space asked 9,900 cells more"
    alone = cover(found, SEED, 0, pairs=False)
    keys = covered(found, alone)
    assert PAIRS not in alone.required
    for k, space in enumerate(found):
        assert keys[(k, KIND_NAMESPACE)] == {(kind, n.name, n.owner) for kind in KINDS for n in space.namespaces}
        assert keys[(k, KIND_ITEM)] == space.required()[KIND_ITEM]
    assert len(alone.asked) < len(both_ways) / 2


def test_a_linear_check_cross_checks_every_kind_and_item_every_tenant_and_a_seeded_share() -> None:
    _tenancy, cluster = shared(100)
    questions = attempt_questions(cluster, NAMESPACED, [{"attempt": a} for a in ESCALATIONS])
    keys = linear_keys(cluster, questions)
    cross = cross_checked_linear(keys, SEED, CROSS_SHARE)
    assert cross is not None
    assert {(keys[at][0], keys[at][2]) for at in cross} == {(kind, item) for kind, _t, item in keys}
    assert {keys[at][1] for at in cross} == set(names(100))
    assert len(cross) < len(keys) / 5
    assert "tenant-t000: list pods" not in {item for _k, _t, item in keys}, "a control's own namespace is <own>"
    five = [key for key in keys if key[1] in names(5)]
    assert cross_checked_linear(five, SEED, CROSS_SHARE) is None, "5 tenants: every way"
    with pytest.raises(ValueError, match="share"):
        cross_checked_linear(keys, SEED, 1.5)


class Fake(AccessObserver):
    """An observer whose clients are names; the ways are answered by the monkeypatched functions."""

    def client(self, user: str) -> Any:
        return user

    def groups(self, user: str) -> tuple[str, ...]:
        return ()


def test_the_reviews_are_asked_only_of_the_cross_checked_cells_and_their_matrices_hold_only_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pods = ApiResource("", "v1", "pods", "Pod", True, ("get", "list"))
    probes = [resource_probe(u, u, pods, v, "tenant-a") for u in ("a-admin", "b-admin") for v in ("get", "list")]
    sent: list[tuple[str, str, str]] = []

    def answering(way: str, cell: Cell) -> Any:
        def answer(*args: Any) -> tuple[Cell, str]:
            probe: Probe = next(a for a in args if isinstance(a, Probe))
            sent.append((way, probe.row, probe.column))
            return cell, way

        return answer

    monkeypatch.setattr(access, "real_request", answering("request", Cell.DENIED))
    monkeypatch.setattr(access, "self_review", answering("self", Cell.DENIED))
    monkeypatch.setattr(access, "subject_review", answering("subject", Cell.ALLOWED))
    observer = Fake.__new__(Fake)
    observer.workers, observer.infer_self = 2, False
    observation = observer.observe(probes, cross={1})
    assert [w for w, *_ in sent].count("request") == 4
    assert sorted((w, c) for w, _r, c in sent if w != "request") == [
        ("self", "tenant-a: list pods"),
        ("subject", "tenant-a: list pods"),
    ]
    assert observation.asked() == {"request": 4, "selfsubjectaccessreview": 1, "subjectaccessreview": 1}
    assert len(observation.disagreements) == 1, "the cross-checked cell's ways disagree; the others are not asked"
    monkeypatch.setattr(access, "subject_review", answering("subject", Cell.DENIED))
    agreeing = observer.observe(probes, cross={0})
    assert agreeing.report().splitlines()[0] == "the ways agree on every cell each was asked"
    run = rbac.AccessRun((), agreeing, cross_seed=SEED)
    assert run.ways_report().splitlines()[-1] == (
        f"the real request asked of every cell (4), the access reviews of a seeded subset (seed {SEED}): "
        "selfsubjectaccessreview 1 asked; subjectaccessreview 1 asked"
    )
    assert "model vs" not in run.ways_report(), "the attempts' reviews are not the model's (admission fences)"
    rows = agreement_rows(observation)
    assert rows["b-admin"][0] is Cell.ALLOWED, "a cell no review was asked is not unanswered"
    assert rows["a-admin"][0] is Cell.DENIED
    assert requests_of(probes, WAYS, {1}, infer_self=False) == {
        "request": 4,
        "selfsubjectaccessreview": 1,
        "subjectaccessreview": 1,
    }
