"""checks.network.reachability.tenant_pairs: which tenant pairs a probe matrix observed both ways."""

from __future__ import annotations

from checks.matrix import Cell, Matrix
from checks.network.reachability import tenant_pairs

ROWS = ["t1/a", "t2/a", "t3/a"]
COLUMNS = ["t1/a:8080/tcp", "t2/a:8080/tcp", "t3/a:8080/tcp", "10.0.0.1:53/udp"]


def matrix(cells: dict[tuple[str, str], Cell]) -> Matrix:
    return Matrix.build(ROWS, COLUMNS, cells)


def every(cell: Cell) -> dict[tuple[str, str], Cell]:
    return {(r, c): cell for r in ROWS for c in COLUMNS}


def test_every_pair_observed_both_ways_when_every_cell_is_answered() -> None:
    assert tenant_pairs(matrix(every(Cell.DENIED))) == (3, 3)


def test_a_pair_seen_one_way_only_is_not_counted() -> None:
    cells = every(Cell.ALLOWED)
    cells[("t1/a", "t2/a:8080/tcp")] = Cell.ERROR
    assert tenant_pairs(matrix(cells)) == (2, 3)


def test_unobserved_cells_observe_nothing() -> None:
    cells = every(Cell.DENIED)
    del cells[("t3/a", "t1/a:8080/tcp")]
    assert tenant_pairs(matrix(cells)) == (2, 3)


def test_address_columns_and_one_tenant_make_no_pairs() -> None:
    one = Matrix.build(["t1/a"], ["t1/a:8080/tcp", "10.0.0.1:53/udp"], {("t1/a", "t1/a:8080/tcp"): Cell.ALLOWED})
    assert tenant_pairs(one) == (0, 0)


def test_a_matrix_into_one_tenant_makes_no_pairs() -> None:
    into_one = Matrix.build(ROWS, ["t1/a:53/udp"], {(r, "t1/a:53/udp"): Cell.DENIED for r in ROWS})
    assert tenant_pairs(into_one) == (0, 0)
