"""checks.rbac.covering: the covering design asks at least one cell of every requirement (issue 23), the
same seed gives the same design, and its size grows near-linearly while the matrix grows quadratically."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.rbac.covering import (
    CLUSTER,
    KIND_ITEM,
    KIND_NAMESPACE,
    OTHER,
    OWN,
    PAIRS,
    PROVIDER,
    Design,
    Namespace,
    Space,
    Subject,
    cover,
    every_cell,
    relation,
)

KINDS = ("certificate admin", "certificate developer", "certificate viewer", "oidc admin")
ITEMS = tuple(f"{verb} {resource}" for resource in ("pods", "secrets", "roles") for verb in ("get", "list", "create"))


def tenants(count: int) -> list[str]:
    return [f"t{i:03d}" for i in range(count)]


def matrix(count: int, provider: int = 2, items: tuple[str, ...] = ITEMS) -> list[Space]:
    """The shape of the access matrix: every kind of every tenant x tenant and provider namespaces."""
    subjects = tuple(Subject(kind, t) for t in tenants(count) for kind in KINDS)
    namespaces = tuple(Namespace(f"tenant-{t}", t) for t in tenants(count))
    namespaces += tuple(Namespace(f"kube-{i}") for i in range(provider))
    cluster = (Namespace(""),)
    return [Space("namespaced", subjects, namespaces, items), Space("cluster", subjects, cluster, items[:2])]


def covered(spaces: list[Space], design: Design) -> dict[tuple[int, str], set[tuple[str, ...]]]:
    found: dict[tuple[int, str], set[tuple[str, ...]]] = {}
    for k, s, n, i in design.asked:
        for name, key in spaces[k].keys(s, n, i).items():
            found.setdefault((k, name), set()).add(key)
    return found


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(0, 3), st.integers(0, 2**32), st.integers(0, 50))
def test_every_requirement_of_every_space_is_asked(count: int, provider: int, seed: int, sample: int) -> None:
    spaces = matrix(count, provider)
    design = cover(spaces, seed, sample)
    found = covered(spaces, design)
    for k, space in enumerate(spaces):
        for name, keys in space.required().items():
            assert keys <= found.get((k, name), set()), f"{space.scope}: {name} not covered"
    assert len(set(design.asked)) == len(design.asked)
    assert design.inferred == design.cells - len(design.asked) >= 0


def test_every_ordered_tenant_pair_and_relation_is_required() -> None:
    spaces = matrix(3)
    required = spaces[0].required()
    assert required[PAIRS] == {(a, b) for a in tenants(3) for b in tenants(3) if a != b}
    assert {r for _k, r, _i in required[KIND_ITEM]} == {OWN, OTHER, PROVIDER}
    assert {r for _k, r, _i in spaces[1].required()[KIND_ITEM]} == {CLUSTER}
    assert len(required[KIND_NAMESPACE]) == len(KINDS) * (3 + 2)


def test_the_same_seed_gives_the_same_design_and_another_seed_another_sample() -> None:
    spaces = matrix(6)
    assert cover(spaces, 7, 40) == cover(spaces, 7, 40)
    assert cover(spaces, 7, 40).asked != cover(spaces, 8, 40).asked


def test_the_sample_adds_uniform_cells_and_never_more_than_the_matrix() -> None:
    spaces = matrix(2)
    design = cover(spaces, 1, 10**6)
    assert len(design.asked) == design.cells == sum(s.cells for s in spaces)
    assert design.inferred == 0
    with pytest.raises(ValueError, match="sample"):
        cover(spaces, 1, -1)


def test_the_design_is_bounded_by_its_requirements_while_the_matrix_grows_with_every_factor() -> None:
    """The pairs' N(N-1) is the design's only square term (one cell per pair, against kinds x items cells
    per pair in the matrix): at most one cell per requirement key plus the sample."""
    for count in (10, 40):
        spaces = matrix(count)
        design = cover(spaces, 3, 25)
        bound = sum(len(keys) for space in spaces for keys in space.required().values()) + 25
        assert len(design.asked) <= bound
        assert len(design.asked) <= count * (count - 1) + len(KINDS) * (count + 3) * 2 + 4 * 3 * len(ITEMS) * 2 + 25
    small, large = (cover(matrix(n), 3, 0) for n in (10, 40))
    assert large.cells / small.cells > 12  # 4 x the tenants: ~14 x the cells
    assert len(large.asked) / large.cells < len(small.asked) / small.cells  # the share asked falls
    assert len(large.asked) < 0.05 * large.cells


def test_every_cell_asks_the_whole_product_in_order() -> None:
    spaces = matrix(2)
    design = every_cell(spaces)
    assert len(design.asked) == design.cells
    assert design.inferred == 0
    assert design.asked == tuple(sorted(design.asked))


def test_relation_reads_the_owner() -> None:
    admin = Subject("certificate admin", "blue")
    assert relation(admin, Namespace("tenant-blue", "blue")) == OWN
    assert relation(admin, Namespace("tenant-green", "green")) == OTHER
    assert relation(admin, Namespace("kube-system")) == PROVIDER
    assert relation(admin, Namespace("")) == CLUSTER
    assert relation(Subject("anonymous"), Namespace("tenant-blue", "blue")) == OTHER


def test_describe_names_the_seed_and_what_was_inferred() -> None:
    design = cover(matrix(4), 42, 5)
    text = design.describe()
    assert "seed 42" in text
    assert f"{len(design.asked)} of {design.cells} cells asked" in text
    assert f"{design.inferred} inferred from the model, not observed" in text
