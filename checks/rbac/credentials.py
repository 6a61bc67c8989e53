"""Which clusters accept an identity's credentials: its own must, every other cluster of the product
must refuse them (401). Observed with a SelfSubjectReview, which every authenticated user may send."""

from __future__ import annotations

import contextvars
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import allure
import pytest

from checks.answered import observed
from checks.evidence import attach_html
from checks.matrix import Cell, Comparison, Matrix, Mismatch, apply_positive_control, compare, to_html_table
from checks.verdicts import decide
from provisioning.backends.protocol import Credential
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.tenancy import Identity
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from reports.findings import impersonation_reasons

CREDENTIAL_LABEL = "credential"  # the Allure label: "real" or "impersonated"
FALLBACK_LABEL = "credential_fallback"  # the Allure label, once per reason: "users: why they are impersonated"
IMPERSONATED_NOTE = " (impersonated)"  # after a matrix row observed through the admin's impersonation

# the rows the current scenario observed through impersonation (set per scenario by the steps)
_ORIGIN = pytest.StashKey[str]()
_FALLBACKS = pytest.StashKey[list[str]]()
_IMPERSONATED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("impersonated", default=frozenset())


def impersonated_users(tenancy: ProvisionedTenancy) -> frozenset[str]:
    """The identities whose credential is the admin impersonating them (the fallback)."""
    return frozenset(user for c in tenancy.clusters for user, cred in c.credentials.items() if cred.impersonated)


def fallback_reasons(tenancy: ProvisionedTenancy) -> list[str]:
    """`users: why` per distinct reason the product's identities are impersonated (reports.findings'
    `impersonation_reasons`), e.g. ["blue-admin, green-admin: no CSR certificate for blue-admin: ..."]."""
    return impersonation_reasons(
        {
            user: cred.fallback_reason
            for c in tenancy.clusters
            for user, cred in c.credentials.items()
            if cred.impersonated
        }
    )


def credential_origin(tenancy: ProvisionedTenancy) -> str:
    """`impersonated` when any tenant identity of the product is observed through impersonation, else `real`."""
    return "impersonated" if impersonated_users(tenancy) else "real"


def label_credential(node: pytest.Item) -> None:
    """Set the running scenario's Allure label `credential` (real|impersonated), and `credential_fallback`
    once per reason identities are impersonated, from what `mark_scenario` remembered on its test item;
    call it once the scenario's Allure result exists (pytest-bdd's before-step hook), not from a
    fixture's setup, where a label is lost."""
    origin = node.stash.get(_ORIGIN, None)
    if origin is not None:
        allure.dynamic.label(CREDENTIAL_LABEL, origin)
    for reason in node.stash.get(_FALLBACKS, []):
        allure.dynamic.label(FALLBACK_LABEL, reason)


def mark_scenario(node: pytest.Item, tenancy: ProvisionedTenancy) -> contextvars.Token[frozenset[str]]:
    """Remember the scenario's credential origin on its test item and which rows its matrices mark
    (see `mark_impersonated`); the token resets the rows when the scenario ends."""
    node.stash[_ORIGIN] = credential_origin(tenancy)
    node.stash[_FALLBACKS] = fallback_reasons(tenancy)
    return _IMPERSONATED.set(impersonated_users(tenancy))


def end_scenario(token: contextvars.Token[frozenset[str]]) -> None:
    _IMPERSONATED.reset(token)


def _mark(row: str, users: Collection[str]) -> str:
    return row + IMPERSONATED_NOTE if row in users else row


def _marked_matrix(matrix: Matrix, users: Collection[str]) -> Matrix:
    return Matrix(
        tuple(_mark(r, users) for r in matrix.rows),
        matrix.columns,
        {(_mark(r, users), c): v for (r, c), v in matrix.cells.items()},
        {(_mark(r, users), c): v for (r, c), v in matrix.evidence.items()},
        {(_mark(r, users), c): v for (r, c), v in matrix.layers.items()},
    )


def _marked_mismatch(mismatch: Mismatch, users: Collection[str]) -> Mismatch:
    return replace(mismatch, row=_mark(mismatch.row, users))


def mark_impersonated(comparison: Comparison, users: Collection[str] | None = None) -> Comparison:
    """The comparison for display, each row observed through impersonation named `user (impersonated)`:
    `users`, or the current scenario's (see `mark_scenario`). Verdicts, deciding layers and terms do not
    change."""
    marked = _IMPERSONATED.get() if users is None else users
    if not marked:
        return comparison
    return Comparison(
        _marked_matrix(comparison.expected, marked),
        _marked_matrix(comparison.observed, marked),
        tuple(_marked_mismatch(m, marked) for m in comparison.mismatches),
        tuple(_marked_mismatch(m, marked) for m in comparison.incomplete),
        comparison.terms,
    )


def authentication_cell(status: int, message: str, reason: str = "") -> tuple[Cell, str]:
    """A SelfSubjectReview that did not succeed, as the one mapping of an answer to a cell
    (`checks.answered.observed`) with the authenticator as the fence probed (`answers.AUTHENTICATION_FENCE`):
    DENIED when the authenticator refused the credentials (401); ALLOWED for any answer from a stage
    after authentication (a layer that refused the review, e.g. ABAC's 403; a 404 or 422 of the review
    itself), so the cluster knew who asked; ERROR when nothing was decided (transport, 429, 5xx). The
    evidence names the deciding layer (pure)."""
    answer = answers.classify(status, message, reason)
    cell = observed(answer, "", answers.AUTHENTICATION_FENCE).cell
    if cell is Cell.DENIED:
        return cell, f"the credentials are not accepted: {answer}"
    if cell is Cell.ALLOWED:
        return cell, f"authenticated, then {answer}"
    return cell, f"no answer about the credentials: {answer}"


def authentication(tenancy: ProvisionedTenancy, identity: Identity, cluster: ProvisionedCluster) -> tuple[Cell, str]:
    """ALLOWED: the cluster knows who this is; DENIED: its authenticator refuses the credentials; else
    ERROR (`authentication_cell`)."""
    return authenticated(tenancy.client_on(cluster, identity.user))


def authenticated(api: Any) -> tuple[Cell, str]:
    """A SelfSubjectReview through `api` (closed after it), read as `authentication` reads it."""
    try:
        user = kube.who_am_i(api).get("username", "(no name)")
    except kube.ApiFailure as failure:
        return authentication_cell(failure.status, failure.body or failure.message, failure.reason)
    finally:
        api.close()
    return Cell.ALLOWED, f"authenticated as {user}"


def portable(credential: Credential) -> bool:
    """Whether the credential can be presented to another cluster: a token, or a certificate and its key
    (not a kubeconfig, not the admin impersonating)."""
    return bool(credential.token or (credential.cert_pem and credential.key_pem))


def not_applicable(tenancy: ProvisionedTenancy) -> str:
    """Why check_rbac_006 cannot judge the product ("" when it can): its backend's tenant credentials
    cannot be carried to another cluster, which only the provisioned tenancy shows (a product without a
    dedicated tenant is not applicable by the feature's @dedicated_cluster tag, before any step)."""
    identities = [i for c in tenancy.clusters for i in c.identities]
    if not all(portable(tenancy.cluster_of(i.tenant).credentials[i.user]) for i in identities):
        return "not applicable: the backend's tenant credentials are a kubeconfig or the admin impersonating"
    return ""


def cluster_column(cluster: ProvisionedCluster) -> str:
    return cluster.handle.name


def credential_matrices(tenancy: ProvisionedTenancy, identities: list[Identity] | None = None) -> tuple[Matrix, Matrix]:
    """(expected, observed): every identity (default: every certificate and OIDC identity of the product)
    against every cluster of the product; own cluster is the positive control, so a refusal elsewhere only
    counts if the credentials work at home."""
    if identities is None:
        identities = [i for c in tenancy.clusters for i in c.identities]
    clusters = tenancy.clusters
    pairs = [(i, c) for i in identities for c in clusters]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda pair: authentication(tenancy, *pair), pairs))
    rows = [i.user for i in identities]
    columns = [cluster_column(c) for c in clusters]
    home = {i.user: cluster_column(tenancy.cluster_of(i.tenant)) for i in identities}
    expected = Matrix.build(
        rows,
        columns,
        {
            (i.user, cluster_column(c)): Cell.ALLOWED if home[i.user] == cluster_column(c) else Cell.DENIED
            for i, c in pairs
        },
    )
    cells = {(i.user, cluster_column(c)): cell for (i, c), (cell, _) in zip(pairs, results, strict=True)}
    evidence = {(i.user, cluster_column(c)): text for (i, c), (_, text) in zip(pairs, results, strict=True)}
    observed = Matrix.build(rows, columns, cells, evidence)
    return expected, apply_positive_control(expected, observed)


def judge_credentials(matrices: tuple[Matrix, Matrix]) -> None:
    """Compare (expected, observed) of `credential_matrices`, attach the comparison (rows observed through
    impersonation marked) and end the check by the one verdict rule (`checks.verdicts.decide`)."""
    judged = mark_impersonated(compare(*matrices))
    attach_html(to_html_table(judged), "credentials per cluster (table)")
    decide(judged, "credentials per cluster")
