"""A tenant admin delegating one right to its developers with a Role and RoleBinding of its own (what the
tenant admin role exists for: Kubernetes' `admin` ClusterRole may create roles and bindings in its
namespace, within what it holds itself, https://kubernetes.io/docs/reference/access-authn-authz/rbac/).
Probes observe into one matrix, never assert (rows: each developer and the tenant admin; columns: the
requests), the model says what must hold (`expected_matrix`), and the one verdict rule ends the check:

    developer's request before the grant      DENIED   (observed ALLOWED: the fence is missing, FAIL)
    the tenant admin's own request            ALLOWED  (the positive control: when it is not ALLOWED, no
                                                        denial is evidence, its own included, ERROR:
                                                        checks.matrix.apply_positive_control)
    creating the Role, then its RoleBinding   ALLOWED  (refused: FAIL; unanswered, invalid or already
                                                        there: ERROR, checks.answered.made)
    developer's request after the grant       ALLOWED within the deadline (took effect: pass; still denied
                                                        at the deadline, the product did not honour the
                                                        grant: FAIL; an API error: ERROR)

The suite's onboarding gives each role a group of its own, so the grant names the developers' group. A
provider's (`onboarding: existing`) need not: its groups may hold every role of a tenant (the lab's acme
puts admin, developer and viewer in one), and the suite's groups are not in its credentials at all. There
the grant names each developer as the API server authenticates its credentials (a SelfSubjectReview's
user), which reaches exactly the developers."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks.answered import made
from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare
from checks.rbac.access import Probe, Said, layer_of, real_request, resource_probe
from checks.rbac.credentials import mark_impersonated
from checks.rbac.discovery import discover
from checks.verdicts import Observed, decide
from harness.wait import WaitTimeout, wait_until
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.onboarding import labels
from provisioning.model.tenancy import Role
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

RBAC = "rbac.authorization.k8s.io"
Finalize = Callable[[Callable[[], object]], None]  # registers an undo step, e.g. request.addfinalizer


ROLE = "create the delegated role"
BINDING = "create the delegated role's binding"


def before(verb: str, resource: str) -> str:
    """The column of a developer's request before the grant, e.g. `list rolebindings before the delegation`."""
    return f"{verb} {resource} before the delegation"


def own(verb: str, resource: str) -> str:
    """The column of the tenant admin's own request (the positive control)."""
    return f"{verb} {resource} (the tenant admin's own)"


def after(verb: str, resource: str, timeout: float) -> str:
    """The column of a developer's request after the grant, allowed within `timeout` seconds."""
    return f"{verb} {resource} through the delegated role, within {timeout:g}s"


@dataclass(frozen=True)
class DeveloperCheck:
    """One developer (one per authenticator), its own client, the request it makes and its answer before."""

    user: str
    api: Any  # the developer's ApiClient, closed by the finaliser registered
    probe: Probe
    before: Observed  # (cell, evidence) of the request before the grant


@dataclass(frozen=True)
class Delegation:
    """What was observed up to the grant: the developers' requests before it, the tenant admin's own
    request (the positive control) and the answers to the grant, `grant`: column (ROLE, BINDING) ->
    (cell, evidence). `unbound`: developer -> why the grant could not name it (`onboarding: existing`:
    the SelfSubjectReview of its credentials gave no user)."""

    verb: str
    resource: str
    admin: str  # the tenant admin's user, the row of its requests
    checks: tuple[DeveloperCheck, ...]
    own: Observed
    grant: Mapping[str, Observed]
    unbound: Mapping[str, str] = field(default_factory=dict)

    @property
    def granted(self) -> bool:
        """Both the Role and its RoleBinding were created."""
        return set(self.grant) == {ROLE, BINDING} and all(c is Cell.ALLOWED for c, _ in self.grant.values())

    def not_granted(self) -> str:
        """Why the developers are not asked again (the grant's cells that are not ALLOWED), or ""."""
        missing = [f"{c}: {e}" for c, (cell, e) in self.grant.items() if cell is not Cell.ALLOWED]
        return "; ".join(missing) or ("" if self.granted else "no developer's user is known, nothing was granted")


def delegated_role(
    name: str,
    namespace: str,
    object_labels: Mapping[str, str],
    group: str,
    resource: str,
    verb: str,
    groups: Sequence[str],
    users: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Role granting `verb` on `resource` (API group `group`) and the RoleBinding of it to `groups` and
    `users`, both named `name` in `namespace` (pure)."""
    meta = {"name": name, "namespace": namespace, "labels": dict(object_labels)}
    role = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": meta,
        "rules": [{"apiGroups": [group], "resources": [resource], "verbs": [verb]}],
    }
    binding = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name},
        "subjects": [
            *({"apiGroup": RBAC, "kind": "Group", "name": g} for g in groups),
            *({"apiGroup": RBAC, "kind": "User", "name": u} for u in users),
        ],
    }
    return role, binding


def delegate(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    verb: str,
    resource: str,
    run_id: str,
    finalize: Finalize,
    as_authenticated: bool = False,
) -> Delegation:
    """The cluster's first tenant's developers (one per authenticator) and its admin try `verb` on
    `resource` in their namespace, then the tenant's admin grants it to the developers with
    `delegated_role`: to their groups, or with `as_authenticated` (`onboarding: existing`) to the users
    their credentials authenticate as (a SelfSubjectReview each). Observes, never asserts: every answer is
    a cell. Clients and the objects created are closed and deleted by the finalisers registered. Raises
    StopIteration when discovery does not list `resource`."""
    tenant = cluster.tenants[0]
    ns = tenant.namespace
    admin = tenancy.admin_client(cluster)
    try:
        found = next(r for r in discover(admin) if r.name == resource)
    finally:
        admin.close()
    developers = [i for i in cluster.identities_of(tenant) if i.role is Role.DEVELOPER]  # one per authenticator
    checks = []
    for developer in developers:
        probe = resource_probe(developer.user, developer.user, found, verb, ns)
        dev_api = tenancy.client_for(developer.user)
        finalize(dev_api.close)
        checks.append(DeveloperCheck(developer.user, dev_api, probe, real_request(dev_api, probe)))
    admin_user = f"{tenant.name}-admin"
    tenant_admin = tenancy.client_for(admin_user)
    finalize(tenant_admin.close)
    own_answer = real_request(tenant_admin, resource_probe(admin_user, admin_user, found, verb, ns))
    unbound: dict[str, str] = {}
    groups = [] if as_authenticated else [d.groups[0] for d in developers]
    users = []
    for check in checks if as_authenticated else []:
        user, why = _authenticated_user(check.api, check.user)
        if user:
            users.append(user)
        else:
            unbound[check.user] = why
    name = f"caas-delegated-{verb}-{resource}"
    role, binding = delegated_role(name, ns, labels(run_id, tenant.name), found.group, resource, verb, groups, users)
    grant: dict[str, Observed] = {}
    base = f"/apis/{RBAC}/v1/namespaces/{ns}"
    for column, kind, body in ((ROLE, "roles", role), (BINDING, "rolebindings", binding)):
        if not (groups or users):
            break
        try:
            kube.request(tenant_admin, "POST", f"{base}/{kind}", body=body)
            finalize(functools.partial(_delete, tenancy, cluster, f"{base}/{kind}/{name}"))
            grant[column] = Cell.ALLOWED, f"{kind}/{name} created by {admin_user}"
        except kube.ApiFailure as failure:  # the one mapping: an invalid grant is ERROR, never a refusal
            seen = made(failure)
            said = f"creating {kind}/{name} as {admin_user}: {seen.evidence}"
            grant[column] = Said(seen.cell, said, layer=seen.layer)
    return Delegation(verb, resource, admin_user, tuple(checks), own_answer, grant, unbound)


def _authenticated_user(api: Any, identity: str) -> tuple[str, str]:
    """(the user the API server makes of `api`'s credentials (SelfSubjectReview), "") or ("", why not)
    when it answers with none or not at all."""
    try:
        user = str(kube.who_am_i(api).get("username") or "")
    except kube.ApiFailure as failure:
        return "", f"the SelfSubjectReview of {identity}'s credentials was not answered: {failure}"
    return user, "" if user else f"the SelfSubjectReview of {identity}'s credentials named no user"


def _delete(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, path: str) -> None:
    api = tenancy.admin_client(cluster)
    try:
        kube.delete_if_present(api, path)
    finally:
        api.close()


def after_cell(last: Observed | None, elapsed: float, timeout: float, error: str = "") -> Observed:
    """A developer's request after the grant, from its last answer when the wait ended (`elapsed`
    seconds after it began, `timeout` the deadline): ALLOWED, the grant took effect; DENIED, it never
    did within the deadline (the product did not honour it); ERROR when the request was not answered
    (`error`: the wait's last error, if any). Who decided the last answer is kept (`access.layer_of`) (pure)."""
    if last is None:
        return Cell.ERROR, f"no answer within {timeout:g}s of the grant" + (f": {error}" if error else "")
    cell, evidence = last
    if cell is Cell.ALLOWED:
        return Said(cell, f"allowed {elapsed:.1f}s after the grant: {evidence}", layer=layer_of(last))
    if cell is Cell.DENIED:
        still = f"still denied {timeout:g}s after the grant (the delegated role never took effect): {evidence}"
        return Said(cell, still, layer=layer_of(last))
    return Cell.ERROR, f"not observed within {timeout:g}s of the grant: {evidence}"


def observe_after(delegation: Delegation, timeout: float) -> dict[str, Observed]:
    """Each developer's request after the grant: asked until every one is allowed or `timeout` seconds
    have passed (one deadline for all), each read by `after_cell`; UNOBSERVED, saying why, for a
    developer not asked (the grant was not made, or could not name it). Never raises."""
    why = delegation.not_granted()
    if why:
        return {c.user: (Cell.UNOBSERVED, f"not asked: the grant was not made ({why})") for c in delegation.checks}
    asked = [c for c in delegation.checks if c.user not in delegation.unbound]
    cells = {u: (Cell.UNOBSERVED, f"not asked: {w}") for u, w in delegation.unbound.items()}
    if not asked:
        return cells
    what = f"{', '.join(c.user for c in asked)}'s {delegation.verb} {delegation.resource} to be allowed"
    start = time.monotonic()
    try:
        last: Mapping[str, Observed] = wait_until(
            lambda: {c.user: real_request(c.api, c.probe) for c in asked},
            lambda answers_: all(cell is Cell.ALLOWED for cell, _ in answers_.values()),
            timeout=timeout,
            what=f"{what} by the delegated role",
        )
        error = ""
    except WaitTimeout as late:
        last = late.last_state if isinstance(late.last_state, dict) else {}
        error = "" if late.last_error is None else repr(late.last_error)
    elapsed = time.monotonic() - start
    return {**cells, **{c.user: after_cell(last.get(c.user), elapsed, timeout, error) for c in asked}}


def expected_matrix(delegation: Delegation, timeout: float) -> Matrix:
    """What the model requires (pure): each developer's request DENIED before the grant and ALLOWED after
    it within `timeout` seconds; the tenant admin's own request, its Role and its RoleBinding ALLOWED
    (Kubernetes' `admin` ClusterRole: the tenant admin holds what it delegates and may create roles and
    bindings in its namespace). Other cells are not required."""
    verb, resource, admin = delegation.verb, delegation.resource, delegation.admin
    developers = [c.user for c in delegation.checks]
    columns = [before(verb, resource), own(verb, resource), ROLE, BINDING, after(verb, resource, timeout)]
    cells = {(d, before(verb, resource)): Cell.DENIED for d in developers}
    cells.update({(d, after(verb, resource, timeout)): Cell.ALLOWED for d in developers})
    cells.update({(admin, c): Cell.ALLOWED for c in (own(verb, resource), ROLE, BINDING)})
    return Matrix.build([*developers, admin], columns, cells)


def observedmatrix(delegation: Delegation, later: Mapping[str, Observed], timeout: float) -> Matrix:
    """What was observed (pure): `delegation`'s cells and `later`, each developer's request after the
    grant (developer -> cell and evidence), in the rows and columns of `expected_matrix`; who decided each
    cell (`access.layer_of`: the authorizer, an admission plugin, ...) in the matrix's layers."""
    verb, resource, admin = delegation.verb, delegation.resource, delegation.admin
    shape = expected_matrix(delegation, timeout)
    seen: dict[tuple[str, str], Observed] = {(c.user, before(verb, resource)): c.before for c in delegation.checks}
    seen.update({(user, after(verb, resource, timeout)): answer for user, answer in later.items()})
    seen.update({(admin, column): answer for column, answer in delegation.grant.items()})
    seen[admin, own(verb, resource)] = delegation.own
    cells = {key: cell for key, (cell, _) in seen.items()}
    layers = {key: layer_of(answer) for key, answer in seen.items()}
    decided = {key: layer for key, layer in layers.items() if layer != answers.Layer.NONE.value}
    return Matrix.build(shape.rows, shape.columns, cells, {key: e for key, (_, e) in seen.items()}, decided)


def comparison(delegation: Delegation, later: Mapping[str, Observed], timeout: float) -> Comparison:
    """The delegation's comparison (pure): `observedmatrix` against `expected_matrix` by the one rule,
    `checks.matrix.compare` after `checks.matrix.apply_positive_control` with the tenant admin's own
    request as the named control: when it is not ALLOWED, every DENIED cell (the control's own
    included: a cell is never its own control) becomes ERROR, its evidence naming the control, its
    deciding layer dropped; a denial counts only where the same request was seen to be allowed at all."""
    control = (delegation.admin, own(delegation.verb, delegation.resource))
    expected = expected_matrix(delegation, timeout)
    return compare(expected, apply_positive_control(expected, observedmatrix(delegation, later, timeout), [control]))


def decide_delegation(delegation: Delegation, timeout: float) -> None:
    """Ask the developers again (`observe_after`, `timeout` seconds at most), compare and end the check by
    the one verdict rule (checks.verdicts.decide): pass, fail (AssertionError) or ERROR (Inconclusive)."""
    judged = comparison(delegation, observe_after(delegation, timeout), timeout)
    heading = f"{delegation.admin} delegates {delegation.verb} {delegation.resource} to its developers"
    decide(mark_impersonated(judged), "delegation", heading)
