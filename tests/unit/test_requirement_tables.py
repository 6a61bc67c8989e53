"""Requirement tables of the privileged and storage features as expected matrices, and the rules that
turn an API answer into a cell for them: checks/privileged/tampering.py (check_privileged_004),
checks/storage/quota.py (check_storage_005) and checks/storage/separation.py (check_storage_003).

A refusal is DENIED only when the API server said so for the reason the requirement is about (403, the
quota exceeded); any other failure is ERROR, never a denial. The tables are read from the feature files,
so a table that no longer fits its engine fails here before it fails a run.
"""

from __future__ import annotations

import json
import types
from typing import Any, cast

import pytest

from checks.answered import Answered
from checks.matrix import Cell, Matrix
from checks.privileged import tampering
from checks.storage import quota, separation
from checks.storage.volumes import Workspace
from checks.verdicts import Inconclusive, require
from provisioning.kube.client import ApiFailure
from tests.support import ROOT

FEATURES = ROOT / "features"


def feature_rows(path: str) -> list[list[str]]:
    """The rows of the feature's first data table, header left out, cells stripped."""
    lines = [line.strip() for line in (FEATURES / path).read_text().splitlines()]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    return rows[1:]


def verdict(comparison: Any) -> str:
    """ "pass", "FAIL" or "ERROR", as the run's report would show the check."""
    try:
        require(comparison, comparison.render())
    except AssertionError:
        return "FAIL"
    except Inconclusive:
        return "ERROR"
    return "pass"


def observed(rows: list[str], columns: tuple[str, ...], values: list[list[Cell]]) -> Matrix:
    cells = {(r, c): values[i][j] for i, r in enumerate(rows) for j, c in enumerate(columns)}
    return Matrix.build(rows, columns, cells, dict.fromkeys(cells, "observed"))


# --- check_privileged_004: a tenant cannot weaken its own fences -------------------------------------------

FENCES = {action: Cell(access) for action, access in feature_rows("privileged/namespace_tampering.feature")}
A, D, E = Cell.ALLOWED, Cell.DENIED, Cell.ERROR


def test_the_fences_table_names_the_engines_actions_with_the_control_allowed() -> None:
    assert tuple(FENCES) == tampering.ACTIONS
    assert FENCES[tampering.CONTROL] is Cell.ALLOWED
    assert FENCES[tampering.RELABEL] is FENCES[tampering.NEW_NAMESPACE] is Cell.DENIED


@pytest.mark.parametrize(
    ("blue", "green", "outcome"),
    [
        ([A, D, D], [A, D, D], "pass"),
        ([A, A, D], [A, D, D], "FAIL"),  # blue relabelled its namespace to privileged
        ([A, D, A], [A, D, D], "FAIL"),  # blue created a namespace
        ([D, D, D], [A, D, D], "ERROR"),  # blue's control was refused: its denials prove nothing
        ([A, E, D], [A, D, D], "ERROR"),
    ],
)
def test_every_tenants_row_is_held_to_the_fences_table(blue: list[Cell], green: list[Cell], outcome: str) -> None:
    tampered = observed(["blue", "green"], tampering.ACTIONS, [blue, green])
    assert verdict(tampering.fences_comparison(tampered, FENCES)) == outcome


def test_a_fence_action_the_table_does_not_name_is_refused() -> None:
    tampered = observed(["blue"], tampering.ACTIONS, [[A, D, D]])
    with pytest.raises(KeyError, match="create a namespace"):
        tampering.fences_comparison(tampered, {k: v for k, v in FENCES.items() if k != tampering.NEW_NAMESPACE})


@pytest.mark.parametrize(
    ("status", "body", "cell", "layer"),
    [
        (403, "Forbidden", Cell.DENIED, "unknown layer"),  # refused (the request as a whole), by a layer unnamed
        (403, 'namespaces "x" is forbidden: no namespaces here', Cell.DENIED, "admission"),  # an unnamed plugin
        (403, 'namespaces "x" is forbidden: User "blue-admin" cannot patch resource', Cell.DENIED, "authorizer"),
        (401, "other", Cell.ERROR, "authentication"),
        (422, "other", Cell.ERROR, "API validation"),  # the request's form, not the fence
        (429, "other", Cell.ERROR, "-"),
        (0, "other", Cell.ERROR, "-"),
    ],
)
def test_a_fence_holds_only_on_a_refusal_the_classifier_reads(status: int, body: str, cell: Cell, layer: str) -> None:
    def refused() -> None:
        raise ApiFailure(status, "Forbidden" if status == 403 else "other", body)

    assert tampering._cell(refused) == Answered(cell, f"{status}: {body}", layer)
    assert tampering._cell(lambda: None) == Answered(Cell.ALLOWED, "succeeded", "-")


# --- check_storage_005: the storage quota holds -----------------------------------------------------------

QUOTA = {claim: Cell(access) for claim, access in feature_rows("storage/quota.feature")}


def test_the_quota_table_is_the_engines_columns_in_order() -> None:
    assert tuple(QUOTA) == quota.COLUMNS
    assert [QUOTA[c] for c in quota.COLUMNS] == [A, D, A, D]


@pytest.mark.parametrize(
    ("row", "outcome"),
    [
        ([A, D, A, D], "pass"),
        ([A, A, A, D], "FAIL"),  # a claim beyond the storage quota was admitted
        ([A, D, A, A], "FAIL"),  # a claim beyond the claim count was admitted
        ([D, D, A, D], "ERROR"),  # the claim within the quota was refused: the refusals prove nothing
        ([A, E, A, D], "ERROR"),
    ],
)
def test_the_quota_is_held_to_the_table(row: list[Cell], outcome: str) -> None:
    matrix = observed(["blue"], quota.COLUMNS, [row])
    assert verdict(quota.quota_comparison(matrix, QUOTA)) == outcome


def test_a_quota_table_in_another_order_or_missing_a_row_is_refused() -> None:
    matrix = observed(["blue"], quota.COLUMNS, [[A, D, A, D]])
    reordered = dict(reversed(list(QUOTA.items())))
    with pytest.raises(KeyError, match="the feature's rows must be"):
        quota.quota_comparison(matrix, reordered)
    with pytest.raises(KeyError, match="the feature's rows must be"):
        quota.quota_comparison(matrix, dict(list(QUOTA.items())[:3]))


def _workspace(failure: ApiFailure | None) -> Workspace:
    def create_claim(_tenant: str, _manifest: dict[str, Any]) -> None:
        if failure is not None:
            raise failure

    return cast(Workspace, types.SimpleNamespace(create_claim=create_claim, tenancy=types.SimpleNamespace(run_id="r")))


EXCEEDED = (
    'persistentvolumeclaims "sto-quota-1" is forbidden: exceeded quota: caas-quota, '
    "requested: requests.storage=3Gi, used: requests.storage=1Mi, limited: requests.storage=2Gi"
)

# the quota admission plugin joins the resources of one list with "," (k8s.io/apiserver resourcequota)
COUNT_EXCEEDED = (
    'persistentvolumeclaims "sto-quota-9" is forbidden: exceeded quota: tenant-quota, '
    "requested: persistentvolumeclaims=1, used: persistentvolumeclaims=2, limited: persistentvolumeclaims=2"
)
BOTH_EXCEEDED = (
    'persistentvolumeclaims "sto-quota-9" is forbidden: exceeded quota: tenant-quota, requested: '
    "persistentvolumeclaims=1,requests.storage=1Gi, used: persistentvolumeclaims=2,requests.storage=2Gi, "
    "limited: persistentvolumeclaims=2,requests.storage=2Gi"
)


@pytest.mark.parametrize(
    ("failure", "resource", "cell"),
    [
        (None, quota.STORAGE, Cell.ALLOWED),
        (ApiFailure(403, "Forbidden", json.dumps({"message": EXCEEDED})), quota.STORAGE, Cell.DENIED),
        # refused for the storage quota while the claim count was asked about: no evidence of that limit
        (ApiFailure(403, "Forbidden", json.dumps({"message": EXCEEDED})), quota.COUNT, Cell.ERROR),
        (ApiFailure(403, "Forbidden", json.dumps({"message": COUNT_EXCEEDED})), quota.COUNT, Cell.DENIED),
        (ApiFailure(403, "Forbidden", json.dumps({"message": BOTH_EXCEEDED})), quota.COUNT, Cell.DENIED),
        (ApiFailure(403, "Forbidden", '{"message": "User cannot create persistentvolumeclaims"}'), quota.STORAGE, E),
        (ApiFailure(500, "Internal Server Error"), quota.STORAGE, Cell.ERROR),
        (ApiFailure(0, "connection refused"), quota.COUNT, Cell.ERROR),
    ],
)
def test_a_claim_is_denied_only_when_refused_for_exceeding_that_quota(
    failure: ApiFailure | None, resource: str, cell: Cell
) -> None:
    got, evidence = quota._try_claim(_workspace(failure), "blue", "3Gi", resource)
    assert got is cell
    if cell is Cell.DENIED:
        assert evidence in (EXCEEDED, COUNT_EXCEEDED, BOTH_EXCEEDED)
    if cell is Cell.ALLOWED:
        assert evidence == "a claim of 3Gi was admitted"


# --- check_storage_003: volumes stay with their tenant ----------------------------------------------------

SEPARATION = [tuple(row) for row in feature_rows("storage/tenant_separation.feature")]


def test_every_row_of_the_separation_table_is_an_attempt_of_its_subject() -> None:
    assert SEPARATION, "the feature has its table"
    for subject, action, access in SEPARATION:
        role, _attempt = separation.ACTIONS[action]
        assert separation.ROLES[subject] == role, f"{subject} {action}"
        assert access in ("allowed", "denied", separation.PLAN_RULE)
        assert access != separation.PLAN_RULE or action in separation.PLAN_CASES


@pytest.mark.parametrize(
    ("failure", "cell", "evidence", "layer"),
    [
        (
            ApiFailure(403, "Forbidden", '{"message": "pods is forbidden: violates PodSecurity"}'),
            D,
            "403: pods is forbidden: violates PodSecurity",
            "PodSecurity admission",
        ),
        (
            ApiFailure(422, "Unprocessable Entity", '{"message": "spec.volumeName: Invalid"}'),
            E,
            "422: spec.volumeName: Invalid",
            "API validation",
        ),
        # the one mapping (checks.answered): an answer about the object after every fence went through
        (ApiFailure(404, "Not Found"), Cell.ALLOWED, "404: Not Found", "-"),
        (ApiFailure(0, "timed out"), E, "0: timed out", "-"),
    ],
)
def test_a_storage_attempt_is_read_by_the_one_mapping(
    failure: ApiFailure, cell: Cell, evidence: str, layer: str
) -> None:
    assert separation._refused(failure) == Answered(cell, evidence, layer)


def test_a_row_is_named_by_its_subject_and_action() -> None:
    assert separation.row_name("another tenant", "reads that claim") == "another tenant reads that claim"


def test_the_separation_table_with_written_cells_is_held_as_written() -> None:
    table = [
        ("the owner", "mounts its claim in a new pod", "allowed"),
        ("another tenant", "reads that claim", "denied"),
    ]
    rows = [separation.row_name(s, a) for s, a, _ in table]
    workspace = cast(Workspace, None)  # written cells need no plan
    parties = separation.Parties("blue", "green")
    ok = observed(rows, ("access",), [[A], [D]])
    assert verdict(separation.separation_comparison(workspace, parties, table, ok)) == "pass"
    leaked = observed(rows, ("access",), [[A], [A]])
    assert verdict(separation.separation_comparison(workspace, parties, table, leaked)) == "FAIL"
    no_control = observed(rows, ("access",), [[E], [D]])
    assert verdict(separation.separation_comparison(workspace, parties, table, no_control)) == "ERROR"
