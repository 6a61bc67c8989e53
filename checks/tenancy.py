"""Requirement tables of the provisioning checks (check_provisioning_001..003) and the wiring smoke check
(check_smoke_001), from what was read back or looked up (pure: the reading is checks.readback's).

Each function returns a requirement table (`checks.verdicts`): one row per subject (a tenant, a
cluster), a cell ALLOWED where the requirement holds and DENIED, with what was seen, where it does not.
What a plan implies comes from the model: the onboarding objects (provisioning.model.onboarding), the
namespace's pod-security label (Pod Security Admission's `pod-security.kubernetes.io/enforce`) and the
bindings of each role's group (provisioning.model.tenancy.role_group).

Under `onboarding: existing` (the `provider_*` tables) the objects are the provider's and carry its own
names, so nothing is compared by name: what the provider's fences amount to (`fences.effective_plan`) is
compared with the plan the targets file declares, fence by fence where the plan promises one
(`promise_breaches`), every tenant is expected isolated both ways (`fences.isolation`), and each identity
is expected to hold its declared role through the provider's bindings as its credentials authenticate
(`fences.identity_role`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from checks.matrix import Cell, Matrix
from checks.onboarding_objects import plan_differences
from checks.readback import ProviderFences, TenantObjects
from checks.verdicts import Observed, holds, requirement_table
from provisioning.model import fences
from provisioning.model.tenancy import Placement, Plan, Quota, Role, TenancyModel, role_group
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

PLAN_OBJECTS = "exactly the onboarding objects its plan implies"
POD_SECURITY = "enforces its plan's pod-security level"
BINDINGS = "bindings for its admins, developers and viewers (RBAC clusters)"
ALONE = "a dedicated tenant is alone on it"
APART = "one placement and a name of its own"
NAMESPACES = "its tenant namespaces are exactly its tenants'"
LAYOUT = "shared tenants on one cluster, each dedicated tenant on its own"
PLAN_LEVEL = "its plan's pod-security level is one of the table's"
PROVIDER_PLAN = "the provider's fences keep its declared plan and isolate it"


def plan_objects_table(onboarded: Sequence[TenantObjects], tenancy: ProvisionedTenancy) -> Matrix:
    """Per shared tenant: the objects read back are exactly those its plan implies (bindings aside)."""
    rows: dict[str, Observed] = {}
    for observed in onboarded:
        lines, differences = plan_differences([observed], tenancy)
        rows[observed.tenant] = holds(not differences, "; ".join(differences or lines))
    return requirement_table(PLAN_OBJECTS, rows)


def pod_security_table(onboarded: Sequence[TenantObjects], tenancy: ProvisionedTenancy) -> Matrix:
    """Per shared tenant: its namespace's enforce label is its plan's pod-security level."""
    rows: dict[str, Observed] = {}
    for observed in onboarded:
        level = tenancy.product.plan(tenancy.tenant(observed.tenant).plan).pod_security.value
        label = observed.namespace_labels.get(fences.ENFORCE)
        rows[observed.tenant] = holds(label == level, f"{fences.ENFORCE}={label}, plan level {level}")
    return requirement_table(POD_SECURITY, rows)


def bindings_table(onboarded: Sequence[TenantObjects], tenancy: ProvisionedTenancy) -> Matrix:
    """Per shared tenant: on a cluster authorized by RBAC, one binding of each role's cluster role to
    the role's group per authenticator, and nothing else; on any other cluster, no binding."""
    rows: dict[str, Observed] = {}
    for observed in onboarded:
        authenticators = tenancy.cluster_of(observed.tenant).authenticators  # e.g. certificates and OIDC
        expected = (
            {(role.cluster_role, role_group(observed.tenant, role, a)) for role in Role for a in authenticators}
            if observed.authorization == "rbac"
            else set()
        )
        seen = set(observed.binding_groups)
        evidence = f"{observed.authorization}: missing {sorted(expected - seen)}, extra {sorted(seen - expected)}"
        rows[observed.tenant] = holds(seen == expected, evidence)
    return requirement_table(BINDINGS, rows)


def promise_breaches(declared: Plan, effective: Plan) -> tuple[list[str], list[str]]:
    """(where the effective plan breaks what the declared plan promises, fences the plan does not promise)
    as `fences.plan_differences` lines. A quota or default the declared plan does not name is no promise:
    the provider may set it (a note, never a breach); every other fence (pod security, privileged pods,
    API-server egress) is a promise either way (pure)."""
    q, want = effective.quota, declared.quota
    notes = [
        f"{what}: not in the plan, found {extra}"
        for what, found, named in (
            ("quota.hard", q.hard, want.hard),
            ("quota.default_limits", q.default_limits, want.default_limits),
            ("quota.default_requests", q.default_requests, want.default_requests),
        )
        if (extra := {k: v for k, v in found.items() if k not in named})
    ]
    promised = Quota(
        hard={k: v for k, v in q.hard.items() if k in want.hard},
        default_limits={k: v for k, v in q.default_limits.items() if k in want.default_limits},
        default_requests={k: v for k, v in q.default_requests.items() if k in want.default_requests},
    )
    return fences.plan_differences(declared, replace(effective, quota=promised)), notes


def declared_plans(model: TenancyModel, product: str) -> dict[str, Plan]:
    """Tenant -> the plan the targets file declares for it (`model`: the targets file's, not the tenancy's,
    whose product holds the plans the provider's fences amount to under `onboarding: existing`)."""
    catalog = model.product(product)
    return {t.name: catalog.plan(t.plan) for t in model.tenants.get(product, ())}


def provider_plan_table(found: Sequence[ProviderFences], declared: Mapping[str, Plan]) -> Matrix:
    """Per shared tenant (`onboarding: existing`): the plan its fences amount to (`fences.effective_plan`)
    breaks no promise of its declared plan (`declared`: tenant -> the targets file's plan) and its fences
    isolate its pods' ingress and egress. Raises ValueError for a quantity that is none (effective_plan)."""
    rows: dict[str, Observed] = {}
    for observed in found:
        plan = declared[observed.tenant]
        breaches, notes = promise_breaches(plan, fences.effective_plan(plan, observed.fences, observed.api_server))
        isolated = fences.isolation(observed.fences.network_policies)
        if not isolated.ingress:
            breaches.append(f"no NetworkPolicy selecting every pod of {observed.fences.namespace} isolates ingress")
        if not isolated.egress:
            breaches.append(f"no NetworkPolicy selecting every pod of {observed.fences.namespace} isolates egress")
        kept = f"the fences keep plan {declared[observed.tenant].name}, ingress and egress isolated"
        rows[observed.tenant] = holds(not breaches, "; ".join(breaches or [kept, *notes]))
    return requirement_table(PROVIDER_PLAN, rows)


def provider_pod_security_table(found: Sequence[ProviderFences], declared: Mapping[str, Plan]) -> Matrix:
    """Per shared tenant (`onboarding: existing`): its namespace's enforce label is its declared plan's level."""
    rows: dict[str, Observed] = {}
    for observed in found:
        level = declared[observed.tenant].pod_security.value
        label = observed.fences.labels.get(fences.ENFORCE)
        rows[observed.tenant] = holds(label == level, f"{fences.ENFORCE}={label}, declared plan level {level}")
    return requirement_table(POD_SECURITY, rows)


def provider_bindings_table(found: Sequence[ProviderFences], roles: Mapping[str, Role]) -> Matrix:
    """Per shared tenant on a cluster authorized by RBAC (`onboarding: existing`): the provider's
    RoleBindings give each identity (`roles`: user -> its declared role) exactly that tenant role, as its
    credentials authenticate (the SelfSubjectReview read back); an identity whose review gave no answer is
    ERROR, never a denial. Tenants on other clusters have no row (bindings grant nothing there)."""
    rows: dict[str, Observed] = {}
    for observed in found:
        if observed.authorization != "rbac":
            continue
        seen: dict[str, str] = {}
        unanswered: list[str] = []
        for user, review in observed.reviews.items():
            if isinstance(review, str):
                unanswered.append(review)
                continue
            role = fences.identity_role(observed.fences.role_bindings, *review)
            seen[user] = role.value if role is not None else "no tenant role"
        if unanswered:
            rows[observed.tenant] = Cell.ERROR, "; ".join(unanswered)
            continue
        wrong = {u: r for u, r in seen.items() if r != roles[u].value}
        evidence = f"roles found {seen}" + (f", declared { ({u: roles[u].value for u in wrong}) }" if wrong else "")
        rows[observed.tenant] = holds(not wrong, evidence)
    return requirement_table(BINDINGS, rows)


def _cluster(provisioned: ProvisionedCluster) -> str:
    return f"cluster {provisioned.handle.name}"


def alone_table(clusters: Sequence[ProvisionedCluster]) -> Matrix:
    """Per cluster with a dedicated tenant: that tenant is its only tenant."""
    rows = {
        _cluster(c): holds(len(c.tenants) == 1, f"tenants {[t.name for t in c.tenants]}")
        for c in clusters
        if any(t.placement is Placement.DEDICATED for t in c.tenants)
    }
    return requirement_table(ALONE, rows)


def apart_table(clusters: Sequence[ProvisionedCluster]) -> Matrix:
    """Per cluster: its tenants have one placement, and no other cluster of the tenancy has its name."""
    names = [c.handle.name for c in clusters]
    rows: dict[str, Observed] = {}
    for index, c in enumerate(clusters):
        placements = sorted({t.placement.value for t in c.tenants})
        row = _cluster(c) if names.count(c.handle.name) == 1 else f"{_cluster(c)} (#{index + 1})"
        rows[row] = holds(
            len(placements) == 1 and names.count(c.handle.name) == 1,
            f"placements {placements}, {names.count(c.handle.name)} cluster(s) of that name",
        )
    return requirement_table(APART, rows)


def namespaces_table(found: Mapping[str, set[str]], tenancy: ProvisionedTenancy) -> Matrix:
    """Per cluster (of the tenancy or found): the namespaces carrying a tenant label of the run are
    exactly its tenants' namespaces."""
    expected = {c.handle.name: {t.namespace for t in c.tenants} for c in tenancy.clusters}
    rows: dict[str, Observed] = {}
    for name in [*expected, *(n for n in found if n not in expected)]:
        want, seen = expected.get(name, set()), found.get(name, set())
        evidence = f"missing {sorted(want - seen)}, extra {sorted(seen - want)}"
        rows[f"cluster {name}"] = holds(name in expected and name in found and want == seen, evidence)
    return requirement_table(NAMESPACES, rows)


def layout_table(tenancy: ProvisionedTenancy) -> Matrix:
    """The tenancy's layout: the shared tenants on one cluster holding exactly them, and one cluster
    more per dedicated tenant."""
    shared = [c for c in tenancy.clusters if any(t.placement is Placement.SHARED for t in c.tenants)]
    dedicated = [t for t in tenancy.tenants if t.placement is Placement.DEDICATED]
    wanted = {t.name for t in tenancy.tenants if t.placement is Placement.SHARED}
    on_shared = [sorted(t.name for t in c.tenants) for c in shared]
    rows = {
        "the shared tenants": holds(
            len(shared) == 1 and {t.name for t in shared[0].tenants} == wanted,
            f"shared clusters hold {on_shared}, shared tenants {sorted(wanted)}",
        ),
        "the dedicated tenants": holds(
            len(tenancy.clusters) == 1 + len(dedicated),
            f"{len(tenancy.clusters)} cluster(s) for {len(dedicated)} dedicated tenant(s) and the shared ones",
        ),
    }
    return requirement_table(LAYOUT, rows)


def plan_levels_table(plans: Mapping[str, Plan], levels: Sequence[str]) -> Matrix:
    """Per tenant: its plan (looked up in the product's catalog) has one of `levels`; a product without
    tenants is one DENIED row (nothing was wired)."""
    if not plans:
        return requirement_table(PLAN_LEVEL, {"the targets file": (Cell.DENIED, "the product has no tenants")})
    rows = {
        tenant: holds(plan.pod_security.value in levels, f"plan {plan.name}: {plan.pod_security.value}")
        for tenant, plan in plans.items()
    }
    return requirement_table(PLAN_LEVEL, rows)
