"""check_rbac_004 level 2, check_rbac_005 and check_rbac_006 decided without a cluster (issue 18): what each
observation becomes as a cell, and the verdict the one rule (checks.verdicts.require) gives the cells; and
what the RBAC steps read of a product from the targets file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.answered import made
from checks.matrix import Cell, Matrix
from checks.rbac.access import Observation, Said, resource_probe
from checks.rbac.agreement import AGREE, agreement_rows
from checks.rbac.credentials import authentication_cell, portable
from checks.rbac.delegation import (
    BINDING,
    ROLE,
    Delegation,
    DeveloperCheck,
    after,
    after_cell,
    before,
    comparison,
    observe_after,
    own,
)
from checks.rbac.discovery import ApiResource
from checks.rbac.product_scope import provider_onboarding, provider_scope
from checks.verdicts import Inconclusive, Observed, require, requirement_comparison, requirement_table
from harness.settings import DEFAULT_TARGETS, Settings
from harness.targets import load_targets
from provisioning.backends.protocol import Credential
from provisioning.kube.client import ApiFailure

BINDINGS = ApiResource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, ("list", "create"))
FORBIDDEN = '403: rolebindings is forbidden: User "blue-developer" cannot list resource "rolebindings"'
GRANTED = {ROLE: (Cell.ALLOWED, "roles/r created"), BINDING: (Cell.ALLOWED, "rolebindings/r created")}
TIMEOUT = 60.0
DEV = "blue-developer"


def _delegation(
    before_: Observed = (Cell.DENIED, FORBIDDEN),
    own_: Observed = (Cell.ALLOWED, "authorized (2xx)"),
    grant: dict[str, Observed] | None = None,
    unbound: dict[str, str] | None = None,
) -> Delegation:
    probe = resource_probe(DEV, DEV, BINDINGS, "list", "tenant-blue")
    check = DeveloperCheck(DEV, None, probe, before_)
    return Delegation(
        "list", "rolebindings", "blue-admin", (check,), own_, GRANTED if grant is None else grant, unbound or {}
    )


def _verdict(delegation: Delegation, later: dict[str, Observed]) -> tuple[str, str]:
    try:
        require(comparison(delegation, later, TIMEOUT))
    except AssertionError as failed:
        return "fail", str(failed)
    except Inconclusive as error:
        return "error", str(error)
    return "pass", ""


def _after(last: Observed | None, error: str = "") -> dict[str, Observed]:
    return {DEV: after_cell(last, 1.5 if last and last[0] is Cell.ALLOWED else TIMEOUT, TIMEOUT, error)}


OUTCOMES = [  # (what was observed, the delegation, the developer's last answer after the grant, verdict, message)
    ("took effect", _delegation(), _after((Cell.ALLOWED, "authorized (2xx)")), "pass", ""),
    (
        "never took effect within the deadline: the product did not honour it",
        _delegation(),
        _after((Cell.DENIED, FORBIDDEN)),
        "fail",
        f"expected ALLOWED, observed DENIED: {DEV} -> list rolebindings through the delegated role, within 60s "
        "(still denied 60s after the grant",
    ),
    ("an API error after the grant", _delegation(), _after((Cell.ERROR, "503: unavailable")), "error", "503"),
    ("no answer at all", _delegation(), _after(None, "TimeoutError()"), "error", "TimeoutError()"),
    (
        "allowed before the delegation",
        _delegation(before_=(Cell.ALLOWED, "authorized (2xx)")),
        _after((Cell.ALLOWED, "authorized (2xx)")),
        "fail",
        f"expected DENIED, observed ALLOWED: {DEV} -> list rolebindings before the delegation",
    ),
    (
        "not observed before the delegation",
        _delegation(before_=(Cell.ERROR, "503: unavailable")),
        _after((Cell.ALLOWED, "authorized (2xx)")),
        "error",
        "before the delegation",
    ),
    (
        "the grant refused",
        _delegation(grant={ROLE: (Cell.DENIED, "refused: denied by authorizer"), BINDING: GRANTED[BINDING]}),
        {DEV: (Cell.UNOBSERVED, "not asked")},
        "fail",
        "blue-admin -> create the delegated role (refused",
    ),
    (
        "the grant unanswered",
        _delegation(grant={ROLE: (Cell.ERROR, "neither made nor refused: 503"), BINDING: GRANTED[BINDING]}),
        {DEV: (Cell.UNOBSERVED, "not asked")},
        "error",
        "create the delegated role",
    ),
    (
        "the positive control unobserved: a developer still denied proves nothing",
        _delegation(own_=(Cell.ERROR, "503: unavailable")),
        _after((Cell.DENIED, FORBIDDEN)),
        "error",
        "positive control failed (blue-admin -> list rolebindings (the tenant admin's own) is error: 503",
    ),
    (  # the one rule (checks.matrix.apply_positive_control): a control is never its own control
        "the tenant admin denied what its role holds: its control failed, no denial proves anything",
        _delegation(own_=(Cell.DENIED, "403: cannot list")),
        _after((Cell.ALLOWED, "authorized (2xx)")),
        "error",
        "positive control failed (blue-admin -> list rolebindings (the tenant admin's own) is denied: 403",
    ),
]


@pytest.mark.parametrize(
    ("delegation", "later", "verdict", "message"), [o[1:] for o in OUTCOMES], ids=[o[0] for o in OUTCOMES]
)
def test_the_delegation_outcome_table(
    delegation: Delegation, later: dict[str, Observed], verdict: str, message: str
) -> None:
    got, text = _verdict(delegation, later)
    assert got == verdict, text
    assert message in text


def test_after_the_grant_each_answer_is_a_cell_that_says_when() -> None:
    assert after_cell((Cell.ALLOWED, "2xx"), 1.25, TIMEOUT) == (Cell.ALLOWED, "allowed 1.2s after the grant: 2xx")
    cell, evidence = after_cell((Cell.DENIED, FORBIDDEN), TIMEOUT, TIMEOUT)
    assert cell is Cell.DENIED
    assert "never took effect" in evidence
    assert FORBIDDEN in evidence
    assert after_cell((Cell.UNOBSERVED, "?"), TIMEOUT, TIMEOUT)[0] is Cell.ERROR
    assert after_cell(None, TIMEOUT, TIMEOUT, "ApiFailure(0)") == (
        Cell.ERROR,
        "no answer within 60s of the grant: ApiFailure(0)",
    )


def test_developers_are_not_asked_again_without_the_whole_grant() -> None:
    refused = _delegation(grant={ROLE: (Cell.DENIED, "refused: 403"), BINDING: GRANTED[BINDING]})
    assert observe_after(refused, TIMEOUT) == {
        DEV: (Cell.UNOBSERVED, f"not asked: the grant was not made ({ROLE}: refused: 403)")
    }
    unbound = _delegation(unbound={DEV: "the SelfSubjectReview named no user"})
    assert observe_after(unbound, TIMEOUT) == {DEV: (Cell.UNOBSERVED, "not asked: the SelfSubjectReview named no user")}
    assert _verdict(unbound, observe_after(unbound, TIMEOUT))[0] == "error"
    nothing = _delegation(grant={}, unbound={DEV: "no user"})
    assert not nothing.granted
    assert "nothing was granted" in nothing.not_granted()


def test_the_matrix_rows_are_the_developers_and_the_admin() -> None:
    judged = comparison(_delegation(), _after((Cell.ALLOWED, "2xx")), TIMEOUT)
    assert judged.expected.rows == (DEV, "blue-admin")
    assert judged.expected.columns == (
        before("list", "rolebindings"),
        own("list", "rolebindings"),
        ROLE,
        BINDING,
        after("list", "rolebindings", TIMEOUT),
    )
    assert judged.expected[DEV, ROLE] is Cell.UNOBSERVED  # not required of a developer
    assert judged.passed


@pytest.mark.parametrize(
    ("status", "body", "cell", "layer"),
    [
        (
            403,
            '{"message": "roles is forbidden: User \\"blue-admin\\" cannot create resource"}',
            Cell.DENIED,
            "authorizer",
        ),
        (403, "... is attempting to grant RBAC permissions not currently held", Cell.DENIED, "RBAC escalation check"),
        (422, 'Role.rbac.authorization.k8s.io "r" is invalid', Cell.ERROR, "API validation"),  # was DENIED
        (503, "unavailable", Cell.ERROR, "-"),
        (0, "connection refused", Cell.ERROR, "-"),
        (409, "already exists", Cell.ERROR, "-"),
    ],
)
def test_a_grant_that_did_not_succeed_is_read_by_the_one_mapping(
    status: int, body: str, cell: Cell, layer: str
) -> None:
    seen = made(ApiFailure(status, "reason", body))
    assert (seen.cell, seen.layer) == (cell, layer)
    assert str(status) in seen.evidence


def test_an_invalid_grant_is_error_in_the_delegation_matrix_and_layers_survive() -> None:
    invalid = made(ApiFailure(422, "Unprocessable Entity", 'Role.rbac.authorization.k8s.io "r" is invalid'))
    delegation = _delegation(grant={ROLE: Said(invalid.cell, invalid.evidence, layer=invalid.layer)})
    before_ = Said(Cell.DENIED, FORBIDDEN, layer="authorizer")
    delegation = replace(delegation, checks=(replace(delegation.checks[0], before=before_),))
    judged = comparison(delegation, {DEV: (Cell.UNOBSERVED, "not asked")}, TIMEOUT)
    assert judged.observed["blue-admin", ROLE] is Cell.ERROR
    assert judged.observed.layers[DEV, before("list", "rolebindings")] == "authorizer"
    assert _verdict(delegation, {DEV: (Cell.UNOBSERVED, "not asked")})[0] == "error"


@pytest.mark.parametrize(
    ("status", "cell", "said"),
    [
        (401, Cell.DENIED, "the credentials are not accepted"),
        (403, Cell.ERROR, "no answer"),  # a 403 in no wording of the API server's: nobody known refused
        (429, Cell.ERROR, "no answer"),
        (503, Cell.ERROR, "no answer"),
        (0, Cell.ERROR, "no answer"),
        (404, Cell.ALLOWED, "authenticated, then granted"),  # after authentication: the authenticator let it through
        (422, Cell.ALLOWED, "authenticated, then invalid"),
    ],
)
def test_a_self_review_answer_says_whether_the_credentials_are_known(status: int, cell: Cell, said: str) -> None:
    got, evidence = authentication_cell(status, '{"message": "m", "reason": "r"}')
    assert got is cell
    assert said in evidence


def test_a_self_review_the_authorizer_refuses_was_authenticated() -> None:
    abac = (
        'selfsubjectreviews.authentication.k8s.io is forbidden: User "blue-viewer" cannot create resource '
        '"selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope: No policy matched.'
    )
    got, evidence = authentication_cell(403, json.dumps({"message": abac, "reason": "Forbidden"}))
    assert got is Cell.ALLOWED
    assert "authenticated, then denied by authorizer" in evidence


def test_only_a_token_or_a_certificate_with_its_key_travels_to_another_cluster(tmp_path: Any) -> None:
    assert portable(Credential(token="t"))
    assert portable(Credential(cert_pem=b"c", key_pem=b"k"))
    assert not portable(Credential(cert_pem=b"c"))
    assert not portable(Credential(kubeconfig=tmp_path / "kubeconfig", context="c"))
    assert not portable(Credential(impersonate=("blue-admin", ("g",))))


def _ways(cells: dict[str, dict[tuple[str, str], Cell]]) -> dict[str, Matrix]:
    return {w: Matrix.build(["a", "b"], ["x", "y"], c, {k: f"{w} said" for k in c}) for w, c in cells.items()}


ALL = {(r, c): Cell.DENIED for r in "ab" for c in "xy"}


def _agreement(observation: Observation) -> str:
    try:
        require(requirement_comparison(requirement_table(AGREE, agreement_rows(observation))))
    except AssertionError:
        return "fail"
    except Inconclusive:
        return "error"
    return "pass"


def test_ways_that_can_answer_agree_or_the_check_fails() -> None:
    agree = Observation(_ways({"request": ALL, "subjectaccessreview": ALL}), (), {})
    assert _agreement(agree) == "pass"
    said = "a -> x: request=denied, subjectaccessreview=allowed - reproduce: GET /x as a"
    disagree = Observation(
        _ways({"request": ALL, "subjectaccessreview": {**ALL, ("a", "x"): Cell.ALLOWED}}), (said,), {}
    )
    rows = agreement_rows(disagree)
    assert rows["a"] == (Cell.DENIED, f"1 disagreements: {said}")
    assert rows["b"][0] is Cell.ALLOWED
    assert _agreement(disagree) == "fail"
    unanswered = Observation(_ways({"request": {**ALL, ("b", "y"): Cell.ERROR}, "subjectaccessreview": ALL}), (), {})
    assert agreement_rows(unanswered)["b"] == (
        Cell.ERROR,
        "1 cells not observed properly: request: b -> y (request said)",
    )
    assert _agreement(unanswered) == "error"
    refused = {"selfsubjectaccessreview": "itself failed: 403"}  # e.g. ABAC refuses self reviews: left out
    ways = _ways({"request": ALL, "selfsubjectaccessreview": {k: Cell.ERROR for k in ALL}})
    assert _agreement(Observation(ways, (), refused)) == "pass"
    assert _agreement(Observation(ways, (), {})) == "error"


def test_the_product_scope_and_onboarding_come_from_the_targets_file() -> None:
    settings = Settings(load_targets(DEFAULT_TARGETS), "run-1", Path("/nowhere"), Path("/nowhere"))
    cfcr = provider_scope(settings, "cfcr")
    assert cfcr.anonymous_reads == ("/version",)
    assert not provider_onboarding(settings, "pks")
