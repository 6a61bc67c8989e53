"""check_rbac_013: a customer's brokered user gets exactly the rights of its groups (issue #24).

The user DEVELOPER_LOGIN of each tenant's IdP is in the IdP's groups named like the tenant's developer
identity's (`developers`, `members`), which the API server names like the identity's own; so in every
tenant namespace of its cluster it must hold exactly the rules of the tenant's developer identity (its own
credentials, not the broker's): the rights of its groups in its own namespace, nothing more there, nothing
in other tenants' namespaces. Observed with SelfSubjectRulesReview (authorization.k8s.io/v1) as each of
the two, one rule per (API group, resource, verb, name) and non-resource (URL, verb); the developer
identity holding more in its own namespace than in each other is the positive control (else the
comparison would prove nothing: ERROR)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from checks.evidence import attach_text
from checks.matrix import Cell
from checks.rbac.federation_setup import DEVELOPER_LOGIN, Federated, brokered_client, developer, reviewer
from checks.verdicts import Observed, require_rows
from provisioning.kube import client as kube
from provisioning.tenancy import ProvisionedTenancy

RULES_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
EXACT = "exactly its group's rights"
Rules = frozenset[str]


def flat_rules(status: Mapping[str, Any]) -> Rules:
    """A SelfSubjectRulesReview's status as one string per (API group, resource, verb, name) and per
    non-resource (URL, verb), e.g. `apps/deployments create`, `/version get`."""
    rules = {
        f"{group or 'core'}/{resource} {verb}" + (f" {name}" if name else "")
        for rule in status.get("resourceRules") or []
        for group in rule.get("apiGroups") or [""]
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
        for name in rule.get("resourceNames") or [""]
    }
    rules |= {
        f"{url} {verb}"
        for rule in status.get("nonResourceRules") or []
        for url in rule.get("nonResourceURLs") or []
        for verb in rule.get("verbs") or []
    }
    return frozenset(rules)


def rules_of(api: Any, namespace: str) -> Rules:
    """What `api`'s user may do in `namespace` (flat_rules); ApiFailure when the review fails."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace}}
    answer = kube.request(api, "POST", RULES_REVIEW, body=body) or {}
    return flat_rules(answer.get("status") or {})


def rights_row(
    own: str, namespaces: Sequence[str], brokered: Callable[[str], Rules], native: Callable[[str], Rules]
) -> Observed:
    """One tenant's cell: DENIED naming, per namespace, the rules the brokered user holds beyond the
    tenant's developer identity (extra) and those it lacks (missing); ALLOWED when they agree in every
    namespace; ERROR when a review fails or the developer identity holds no more in `own` than in the
    other namespaces (the positive control)."""
    try:
        native_rules = {namespace: native(namespace) for namespace in namespaces}
        brokered_rules = {namespace: brokered(namespace) for namespace in namespaces}
    except Exception as exc:  # any failure to observe is ERROR, with its message
        return Cell.ERROR, f"{type(exc).__name__}: {exc}"
    others = [native_rules[namespace] for namespace in namespaces if namespace != own]
    if not native_rules[own] or any(native_rules[own] <= rules for rules in others):
        return Cell.ERROR, f"the developer identity holds nothing of its own in {own}: nothing to compare with"
    differences = [
        f"{namespace}: extra {sorted(brokered_rules[namespace] - native_rules[namespace])}, "
        f"missing {sorted(native_rules[namespace] - brokered_rules[namespace])}"
        for namespace in namespaces
        if brokered_rules[namespace] != native_rules[namespace]
    ]
    if differences:
        return Cell.DENIED, "; ".join(differences)
    counts = ", ".join(f"{namespace} {len(native_rules[namespace])}" for namespace in namespaces)
    return Cell.ALLOWED, f"the developer identity's rules in every namespace (rules: {counts})"


def _rules_as(make_client: Callable[[], Any], namespace: str) -> Rules:
    api = make_client()
    try:
        return rules_of(api, namespace)
    finally:
        api.close()


def _brokered_client(tenancy: ProvisionedTenancy, federated: Federated, tenant: str) -> Callable[[], Any]:
    token = federated.id_token(tenant, DEVELOPER_LOGIN)
    reviewer(tenancy, tenant)(token)  # waits until the API server accepts the broker's tokens
    return functools.partial(brokered_client, tenancy, tenant, token)


def observe_rights(tenancy: ProvisionedTenancy, federated: Federated) -> dict[str, Observed]:
    """Each tenant's brokered developer against its developer identity, in every tenant namespace of
    its cluster: tenant -> its cell (rights_row)."""
    rows = {}
    for tenant in federated.crafted:
        provisioned = tenancy.cluster_of(tenant)
        own = next(t for t in provisioned.tenants if t.name == tenant).namespace
        namespaces = [t.namespace for t in provisioned.tenants]
        try:
            brokered = _brokered_client(tenancy, federated, tenant)
        except Exception as exc:  # a login or a token the API server never takes is ERROR, never a denial
            rows[tenant] = (Cell.ERROR, f"{type(exc).__name__}: {exc}")
            continue
        native = functools.partial(tenancy.client_for, developer(tenancy, tenant).user)
        rows[tenant] = rights_row(
            own,
            namespaces,
            functools.partial(_rules_as, brokered),
            functools.partial(_rules_as, native),
        )
    return rows


def judge_rights(rows: Mapping[str, Observed]) -> None:
    """Attach each tenant's cell and end check_rbac_013 by the one verdict rule (require_rows)."""
    text = "\n".join(f"{tenant}: {cell.value} - {evidence}" for tenant, (cell, evidence) in rows.items())
    attach_text(text, "brokered rights")
    require_rows(rows, text, EXACT)
