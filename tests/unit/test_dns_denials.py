"""When "no such host" counts as a denial of a name (checks/network/dns.py, check_network_011): only for
a name its owner's own pods were seen to resolve (the per-name positive control, through
checks.matrix.apply_positive_control), and only when the name is "no such host" again when asked once
more after the owners resolved theirs (a lookup the overloaded DNS server did not answer reads "no such
host" in Go's resolver: see the module's text)."""

from __future__ import annotations

from collections.abc import Callable

from checks.matrix import Cell, Matrix, compare
from checks.network.dns import (
    ABSENT,
    NOT_FOUND,
    SECOND_ASK,
    Cells,
    name_targets,
    owner_controls,
    reasked,
    resolve_names,
    rooted,
    with_owner_controls,
)
from checks.network.expectations import Pair
from checks.network.judging import expected_disclosure
from checks.network.probe import ProbePod
from checks.network.services import SERVICE, TenantService

BLUE_A = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
BLUE_B = ProbePod("blue", "pks-shared", "tenant-blue", "probe-b", "b", "10.244.1.8")
GREEN_A = ProbePod("green", "pks-shared", "tenant-green", "probe-a", "a", "10.244.2.9")
GREEN_B = ProbePod("green", "pks-shared", "tenant-green", "probe-b", "b", "10.244.2.10")
BLUE_SERVICE = TenantService("blue", "pks-shared", "tenant-blue", SERVICE, "10.96.0.15")
SOURCES = [BLUE_A, BLUE_B, GREEN_A, GREEN_B]  # each tenant runs pods a and b (probe.deploy_probe_pods)
TARGETS = name_targets(SOURCES, [BLUE_SERVICE])
PAIRS: list[Pair] = [(s, o, t) for s in SOURCES for o, t in TARGETS if s != o]  # a pod does not ask itself
SERVICE_NAME = f"{BLUE_SERVICE.dns_name} (name)"
BLUE_A_NAME = "blue/a pod (name)"
ABSENT_NAME = f"{ABSENT}.tenant-blue.svc.cluster.local (name)"
COLUMNS = [t.column for _, t in TARGETS]
ROWS = [s.label for s in SOURCES]
EVERY = {(s.label, t.column) for s, _, t in PAIRS}

RESOLVED = (Cell.ALLOWED, "connected: probe-a")
NO_SUCH_HOST = (Cell.DENIED, f"dns-failure: lookup x.: {NOT_FOUND}")
NO_ANSWER = (Cell.ERROR, "dns-failure: lookup x.: i/o timeout")


def matrix(cells: dict[tuple[str, str], tuple[Cell, str]]) -> Matrix:
    return Matrix.build(ROWS, COLUMNS, {k: v[0] for k, v in cells.items()}, {k: v[1] for k, v in cells.items()})


Answer = Callable[[tuple[str, str], int], tuple[Cell, str]]


class FakeDns:
    """Answers each ask from `answer(cell, ask number)`, as dns.as_resolution reads the probe; records the
    cells of every ask."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asks: list[set[tuple[str, str]]] = []

    def __call__(self, cells: Cells | None) -> tuple[Matrix, int]:
        asked = set(EVERY if cells is None else cells)
        self.asks.append(asked)
        return matrix({c: self.answer(c, len(self.asks)) for c in asked}), len(asked)


def as_the_plans_say(fenced: bool) -> Matrix:
    """Blue's names resolve for blue; for green only if its plan discloses other tenants (not `fenced`)."""
    return expected_disclosure(SOURCES, COLUMNS, PAIRS, lambda tenant: not fenced)


def tenant_of(name: str) -> str:
    """The tenant owning a name column (green's pods, else blue)."""
    return "green" if name.startswith("green/") else "blue"


def a_fenced_cluster(cell: tuple[str, str], _ask: int) -> tuple[Cell, str]:
    """Each tenant resolves its own names only; the absent name resolves for no one."""
    row, column = cell
    if column == ABSENT_NAME or tenant_of(row) != tenant_of(column):
        return NO_SUCH_HOST
    return RESOLVED


# --- fully qualified names ----------------------------------------------------------------------------


def test_a_name_is_asked_rooted_so_no_search_domain_is_tried_first() -> None:
    assert rooted("caas-probe.tenant-blue.svc.cluster.local") == "caas-probe.tenant-blue.svc.cluster.local."
    assert rooted("x.cluster.local.") == "x.cluster.local.", "a rooted name stays as it is"
    assert all(t.host.endswith(".") and not t.column.endswith(".") for _, t in TARGETS)


# --- the per-name positive control ---------------------------------------------------------------------


def test_each_names_controls_are_its_owner_tenants_own_pods_and_the_absent_name_borrows_its_services() -> None:
    controls = owner_controls(PAIRS)
    assert controls[SERVICE_NAME] == [("blue/a", SERVICE_NAME), ("blue/b", SERVICE_NAME)]
    assert controls[BLUE_A_NAME] == [("blue/b", BLUE_A_NAME)], "a pod does not ask its own name"
    assert controls["green/a pod (name)"] == [("green/b", "green/a pod (name)")]
    assert controls[ABSENT_NAME] == [("blue/a", SERVICE_NAME), ("blue/b", SERVICE_NAME)]


def test_a_denial_stands_only_where_the_names_owner_resolved_it() -> None:
    controls = owner_controls(PAIRS)
    held = matrix(
        {
            ("blue/a", SERVICE_NAME): RESOLVED,
            ("blue/b", SERVICE_NAME): RESOLVED,
            ("green/a", SERVICE_NAME): NO_SUCH_HOST,
        }
    )
    assert with_owner_controls(held, controls)["green/a", SERVICE_NAME] is Cell.DENIED

    failed = matrix(
        {
            ("blue/a", SERVICE_NAME): RESOLVED,
            ("blue/b", SERVICE_NAME): NO_ANSWER,
            ("green/a", SERVICE_NAME): NO_SUCH_HOST,
        }
    )
    checked = with_owner_controls(failed, controls)
    assert checked["green/a", SERVICE_NAME] is Cell.ERROR, "the owner's pod did not resolve it: no denial"
    assert checked.evidence["green/a", SERVICE_NAME].startswith("positive control failed (blue/b -> ")


def test_an_owner_that_cannot_resolve_its_own_name_is_error_never_a_denial() -> None:
    observed = matrix({("blue/b", BLUE_A_NAME): NO_SUCH_HOST, ("green/a", BLUE_A_NAME): NO_SUCH_HOST})
    checked = with_owner_controls(observed, owner_controls(PAIRS))
    assert checked["blue/b", BLUE_A_NAME] is Cell.ERROR, "a cell is never its own control"
    assert checked["green/a", BLUE_A_NAME] is Cell.ERROR


def test_a_name_no_owner_pod_asks_cannot_be_denied() -> None:
    without_green_b = [(s, o, t) for s, o, t in PAIRS if s != GREEN_B]  # green's only pod does not ask itself
    observed = matrix({("blue/a", "green/a pod (name)"): NO_SUCH_HOST})
    checked = with_owner_controls(observed, owner_controls(without_green_b))
    assert checked["blue/a", "green/a pod (name)"] is Cell.ERROR
    assert "no pod of the name's owner asked it" in checked.evidence["blue/a", "green/a pod (name)"]


def test_the_absent_name_is_denied_only_where_its_namespaces_service_name_resolved_for_its_owner() -> None:
    controls = owner_controls(PAIRS)
    unanswered = matrix({("blue/a", SERVICE_NAME): NO_ANSWER, ("green/a", ABSENT_NAME): NO_SUCH_HOST})
    assert with_owner_controls(unanswered, controls)["green/a", ABSENT_NAME] is Cell.ERROR
    answered = matrix(
        {("blue/a", SERVICE_NAME): RESOLVED, ("blue/b", SERVICE_NAME): RESOLVED, ("green/a", ABSENT_NAME): NO_SUCH_HOST}
    )
    assert with_owner_controls(answered, controls)["green/a", ABSENT_NAME] is Cell.DENIED


# --- the second ask ------------------------------------------------------------------------------------


def test_a_denial_asked_again_is_allowed_if_it_resolves_denied_if_not_found_again_and_error_unanswered() -> None:
    cells = {("green/a", SERVICE_NAME), ("green/a", BLUE_A_NAME), ("green/a", ABSENT_NAME)}
    first = matrix(dict.fromkeys(cells, NO_SUCH_HOST))
    again = matrix(
        {
            ("green/a", SERVICE_NAME): RESOLVED,
            ("green/a", BLUE_A_NAME): NO_ANSWER,
            ("green/a", ABSENT_NAME): NO_SUCH_HOST,
        }
    )
    judged = reasked(first, again, cells)
    assert judged["green/a", SERVICE_NAME] is Cell.ALLOWED
    assert judged.evidence["green/a", SERVICE_NAME].startswith(SECOND_ASK)
    assert judged["green/a", BLUE_A_NAME] is Cell.ERROR
    assert judged["green/a", ABSENT_NAME] is Cell.DENIED
    assert judged.evidence["green/a", ABSENT_NAME].startswith(f"{NOT_FOUND} on both asks")


def test_a_false_no_such_host_of_an_existing_name_ends_allowed_not_denied() -> None:
    """The measured failure: green's lookup of blue's service said "no such host" on the first ask
    under load; a disclosing plan then looked fenced for that name."""

    def overloaded_once(cell: tuple[str, str], ask: int) -> tuple[Cell, str]:
        if cell[1] == ABSENT_NAME:
            return NO_SUCH_HOST
        return NO_SUCH_HOST if ask == 1 and cell == ("green/a", SERVICE_NAME) else RESOLVED

    dns = FakeDns(overloaded_once)
    observed, probes = resolve_names(owner_controls(PAIRS), dns)
    assert observed["green/a", SERVICE_NAME] is Cell.ALLOWED
    assert compare(as_the_plans_say(fenced=False), observed).passed
    assert dns.asks[-1] == {("green/a", SERVICE_NAME), *((r, ABSENT_NAME) for r in ROWS)}, "only denials re-asked"
    assert probes == len(EVERY) + len(dns.asks[-1])


def test_the_owners_are_asked_until_they_resolve_before_the_denials_are_asked_again() -> None:
    def owner_late(cell: tuple[str, str], ask: int) -> tuple[Cell, str]:
        if cell == ("blue/b", SERVICE_NAME) and ask < 3:
            return NO_ANSWER  # the owner's pod resolves its service from the third ask on
        return a_fenced_cluster(cell, ask)

    dns = FakeDns(owner_late)
    observed, _ = resolve_names(owner_controls(PAIRS), dns, within=10.0)
    assert dns.asks[1] == {("blue/b", SERVICE_NAME)}, "the pending owner cell alone"
    assert ("green/a", SERVICE_NAME) in dns.asks[3], "the denials are asked again after the owner resolved"
    assert observed["green/a", SERVICE_NAME] is Cell.DENIED
    assert compare(as_the_plans_say(fenced=True), observed).passed


def test_an_owner_that_never_resolves_within_the_deadline_leaves_its_names_denials_error() -> None:
    def owner_down(cell: tuple[str, str], ask: int) -> tuple[Cell, str]:
        return NO_ANSWER if cell == ("blue/b", SERVICE_NAME) else a_fenced_cluster(cell, ask)

    observed, _ = resolve_names(owner_controls(PAIRS), FakeDns(owner_down), within=0.01)
    assert observed["green/a", SERVICE_NAME] is Cell.ERROR
    assert not compare(as_the_plans_say(fenced=True), observed).passed, "ERROR is never a pass"


# --- the fence and its mutation ------------------------------------------------------------------------


def test_a_fence_that_holds_passes_and_the_mutation_that_removes_it_turns_the_check_red() -> None:
    fenced, _ = resolve_names(owner_controls(PAIRS), FakeDns(a_fenced_cluster))
    assert compare(as_the_plans_say(fenced=True), fenced).passed

    def no_fence(cell: tuple[str, str], _ask: int) -> tuple[Cell, str]:  # the mutation: green resolves blue
        return NO_SUCH_HOST if cell[1] == ABSENT_NAME else RESOLVED

    disclosed, _ = resolve_names(owner_controls(PAIRS), FakeDns(no_fence))
    comparison = compare(as_the_plans_say(fenced=True), disclosed)
    assert {(m.row, m.column) for m in comparison.mismatches} == {
        (r, c) for r in ROWS for c in COLUMNS if c != ABSENT_NAME and tenant_of(r) != tenant_of(c)
    }, "every name of another tenant is a FAIL, none an ERROR"


def test_the_negative_control_name_resolving_turns_the_check_red() -> None:
    def absent_resolves(cell: tuple[str, str], ask: int) -> tuple[Cell, str]:
        return RESOLVED if cell[1] == ABSENT_NAME else a_fenced_cluster(cell, ask)

    observed, _ = resolve_names(owner_controls(PAIRS), FakeDns(absent_resolves))
    assert not compare(as_the_plans_say(fenced=True), observed).passed
