"""Pure row builders of the privileged and RBAC checks no other test names (issue 18): the positive
control's row of the system-priorities table (its suffix is how require_held finds the table's named
controls), the rows' text, and the sparse comparison's cell table (what differs is shaded, all escaped)."""

from __future__ import annotations

from checks.answered import Answered
from checks.matrix import Cell, Matrix, compare
from checks.privileged import object_limits
from checks.rbac import rendering
from provisioning.model.tenancy import Tenant


def test_the_control_row_ends_as_require_held_looks_for_named_controls() -> None:
    row = object_limits.control_row(Tenant("acme", "small"))
    assert row == f"acme: {object_limits.CONTROL}"
    assert row.endswith(f": {object_limits.CONTROL}")  # require_held's test for a positive-control row
    assert object_limits.control_row(Tenant("beta", "small")) != row  # one control per tenant


def test_rows_are_described_in_requirement_terms_with_the_deciding_layer() -> None:
    rows = {
        "acme: pods": Answered(Cell.ALLOWED, "403: exceeded quota", "ResourceQuota admission"),
        "acme: system-node-critical": Answered(Cell.DENIED, "201: created", "-"),
        "acme: services": Answered(Cell.ERROR, "0: TimeoutError", ""),
    }
    lines = object_limits.describe_rows(rows).splitlines()
    assert lines == [
        "acme: pods: holds [ResourceQuota admission] 403: exceeded quota",
        "acme: system-node-critical: contradicted 201: created",  # nobody decided: no layer shown
        "acme: services: error 0: TimeoutError",
    ]


def test_the_cell_table_shades_only_the_differing_cells_and_escapes_names() -> None:
    columns = tuple(f"c{i}" for i in range(40))
    expected = Matrix.build(["<a>", "b"], columns, {("<a>", "c0"): Cell.DENIED, ("b", "c1"): Cell.ALLOWED})
    observed = Matrix.build(
        ["<a>", "b"],
        columns,
        {("<a>", "c0"): Cell.ALLOWED, ("b", "c1"): Cell.ALLOWED},
        evidence={("<a>", "c0"): 'allowed by "x"'},
    )
    html = rendering.cell_table(compare(expected, observed))
    rows = html.split("<tr>")[2:]  # after the caption and the header
    assert len(rows) == 2  # one per cell the expected matrix sets, not 2 x 40
    differing, same = rows
    assert "<th>&lt;a&gt;</th>" in differing
    assert "<a>" not in differing
    assert 'style="background:#fbdada"' in differing
    assert "denied / allowed" in differing
    assert 'title="allowed by &quot;x&quot;"' in differing
    assert "style=" not in same
    assert "allowed / allowed" in same
