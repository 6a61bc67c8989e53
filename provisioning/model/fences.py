"""The provider's fences around a tenant namespace, and the plan they amount to (pure).

With `onboarding: existing` the provider's own tooling made the tenant's namespace, its pod-security labels,
NetworkPolicies, ResourceQuotas, LimitRanges and RoleBindings; provisioning/tenancy_existing.py reads them
into `NamespaceFences` (the API objects as JSON mappings). `effective_plan` turns them into the `Plan` the
checks expect from, as Kubernetes would enforce them:

- pod security: the namespace's `pod-security.kubernetes.io/enforce` label; none means `privileged`, the
  Pod Security admission's default (a cluster-wide default in its AdmissionConfiguration is not readable
  through the API); privileged pods are allowed exactly where the level is `privileged`;
- quota: per resource the lowest `spec.hard` of the namespace's ResourceQuotas without scopes (a scoped
  quota limits only some pods); the LimitRange's `Container` defaults (`default`, `defaultRequest`);
- API-server egress: open unless a policy selecting every pod isolates egress; otherwise open only where an
  egress rule of such a policy leads to an API-server endpoint address and port (rules are matched after
  the Service's address translation, as the dataplane sees the traffic);
- every other plan field (size, Service types, authorization, DNS views, external IPs) is a product fact the
  targets file states, not a fence: it is kept as declared.

Isolation between tenants is not a plan field: every tenant is expected isolated, so a namespace without a
default-deny policy fails the network checks rather than lowering what they expect (`isolation` tells it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from provisioning.model.onboarding import ServiceEndpoints
from provisioning.model.quantity import parse_quantity
from provisioning.model.tenancy import Plan, PodSecurityLevel, Quota, Role

Manifest = Mapping[str, Any]
ENFORCE = "pod-security.kubernetes.io/enforce"
RBAC_GROUP = "rbac.authorization.k8s.io"
# the built-in ClusterRoles of each tenant role, strongest first (Role.cluster_role)
_ROLES_BY_CLUSTER_ROLE = {role.cluster_role: role for role in Role}
_STRENGTH = (Role.ADMIN, Role.DEVELOPER, Role.VIEWER)


@dataclass(frozen=True)
class NamespaceFences:
    """What the provider set up in one namespace: its labels and the objects of each fence kind (JSON)."""

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    network_policies: tuple[Manifest, ...] = ()
    resource_quotas: tuple[Manifest, ...] = ()
    limit_ranges: tuple[Manifest, ...] = ()
    role_bindings: tuple[Manifest, ...] = ()


@dataclass(frozen=True)
class Isolation:
    """Whether a policy selecting every pod of the namespace isolates its ingress and its egress."""

    ingress: bool
    egress: bool


def pod_security_level(labels: Mapping[str, str]) -> PodSecurityLevel:
    """The enforced Pod Security level; `privileged` without the label (admission's default) or with a value
    admission does not know (it refuses such a namespace label since 1.25, so only a stale object has one)."""
    try:
        return PodSecurityLevel(labels.get(ENFORCE, PodSecurityLevel.PRIVILEGED.value))
    except ValueError:
        return PodSecurityLevel.PRIVILEGED


def _policy_types(policy: Manifest) -> set[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}  # the API server's defaulting


def _selects_every_pod(policy: Manifest) -> bool:
    selector = (policy.get("spec") or {}).get("podSelector") or {}
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def isolation(policies: Iterable[Manifest]) -> Isolation:
    """Which directions every pod of the namespace is isolated in (NetworkPolicy semantics: a pod is
    isolated for a direction once any policy of that type selects it)."""
    whole = [p for p in policies if _selects_every_pod(p)]
    return Isolation(
        ingress=any("Ingress" in _policy_types(p) for p in whole),
        egress=any("Egress" in _policy_types(p) for p in whole),
    )


def _peer_reaches(peer: Manifest, addresses: Sequence[str]) -> bool:
    block = peer.get("ipBlock")
    if block is None:  # pod or namespace selectors name pods, never the API server's host addresses
        return False
    network = ipaddress.ip_network(block["cidr"], strict=False)
    excepted = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
    return any((ip := ipaddress.ip_address(a)) in network and not any(ip in e for e in excepted) for a in addresses)


def _port_matches(rule: Manifest, ports: Sequence[tuple[str, int]]) -> bool:
    listed = rule.get("ports")
    if not listed:
        return True
    for entry in listed:
        protocol = entry.get("protocol", "TCP")
        port = entry.get("port")
        end = entry.get("endPort", port)
        for want_protocol, want_port in ports:
            if protocol != want_protocol:
                continue
            if port is None or (isinstance(port, int) and port <= want_port <= end):
                return True
    return False  # a named port names a container's port, never the API server's


def reaches_api_server(policies: Iterable[Manifest], api_server: ServiceEndpoints) -> bool:
    """Whether a tenant pod may open connections to the API server's endpoints: egress not isolated, or an
    egress rule of a policy selecting every pod allowing one of its addresses and ports. Unknown endpoints
    (no addresses or ports): only a rule open to every destination and port counts."""
    listed = list(policies)
    if not isolation(listed).egress:
        return True
    for policy in listed:
        if not _selects_every_pod(policy) or "Egress" not in _policy_types(policy):
            continue
        for rule in (policy.get("spec") or {}).get("egress") or []:
            peers = rule.get("to")
            to_it = not peers or any(_peer_reaches(p, api_server.addresses) for p in peers)
            if to_it and _port_matches(rule, api_server.ports or (("TCP", -1),)):
                return True
    return False


def quota_hard(quotas: Iterable[Manifest]) -> dict[str, str]:
    """Resource -> the lowest hard limit over the quotas without scopes (quantities as the API wrote them)."""
    lowest: dict[str, str] = {}
    for quota in quotas:
        spec = quota.get("spec") or {}
        if spec.get("scopes") or spec.get("scopeSelector"):
            continue
        for resource, quantity in (spec.get("hard") or {}).items():
            text = str(quantity)
            if resource not in lowest or parse_quantity(text) < parse_quantity(lowest[resource]):
                lowest[resource] = text
    return dict(sorted(lowest.items()))


def container_defaults(limit_ranges: Iterable[Manifest]) -> tuple[dict[str, str], dict[str, str]]:
    """(default limits, default requests) of the `Container` limits, in the LimitRanges' order (several
    LimitRanges: admission applies the first default it finds for a resource)."""
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            for resource, quantity in (item.get("default") or {}).items():
                limits.setdefault(resource, str(quantity))
            for resource, quantity in (item.get("defaultRequest") or {}).items():
                requests.setdefault(resource, str(quantity))
    return dict(sorted(limits.items())), dict(sorted(requests.items()))


def effective_plan(declared: Plan, fences: NamespaceFences, api_server: ServiceEndpoints, name: str = "") -> Plan:
    """The plan the provider's fences in `fences.namespace` amount to (see the module docstring); `name`
    names it (default: the declared plan's name). Raises ValueError for a quota or limit quantity that
    is none (the API server refuses those, so only a hand-made object reaches here)."""
    level = pod_security_level(fences.labels)
    limits, requests = container_defaults(fences.limit_ranges)
    return replace(
        declared,
        name=name or declared.name,
        pod_security=level,
        allow_privileged=level is PodSecurityLevel.PRIVILEGED,
        quota=Quota(hard=quota_hard(fences.resource_quotas), default_limits=limits, default_requests=requests),
        control_plane_egress=reaches_api_server(fences.network_policies, api_server),
    )


def _subject_matches(subject: Manifest, user: str, groups: Sequence[str]) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user)
    if kind == "Group":
        return subject.get("name") in groups
    return False


def identity_role(bindings: Iterable[Manifest], user: str, groups: Sequence[str]) -> Role | None:
    """The strongest tenant role (admin > developer > viewer) the RoleBindings give `user` in `groups`
    through the built-in ClusterRoles admin, edit and view; None if they give it none of them (bindings to
    other roles are not a tenant role the checks know)."""
    found: set[Role] = set()
    for binding in bindings:
        ref = binding.get("roleRef") or {}
        role = _ROLES_BY_CLUSTER_ROLE.get(ref.get("name", "")) if ref.get("kind") == "ClusterRole" else None
        if role is None:
            continue
        if any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
            found.add(role)
    return next((role for role in _STRENGTH if role in found), None)


def plan_differences(declared: Plan, effective: Plan) -> list[str]:
    """One line per fence where the provider's tenancy differs from the plan the targets file declares,
    e.g. `pod_security: declared restricted, found baseline`; empty when they agree."""
    lines = []
    for what, want, found in (
        ("pod_security", declared.pod_security.value, effective.pod_security.value),
        ("allow_privileged", declared.allow_privileged, effective.allow_privileged),
        ("control_plane_egress", declared.control_plane_egress, effective.control_plane_egress),
        ("quota.hard", dict(declared.quota.hard), dict(effective.quota.hard)),
        ("quota.default_limits", dict(declared.quota.default_limits), dict(effective.quota.default_limits)),
        ("quota.default_requests", dict(declared.quota.default_requests), dict(effective.quota.default_requests)),
    ):
        if not _same(want, found):
            lines.append(f"{what}: declared {want}, found {found}")
    return lines


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(parse_quantity(str(a[k])) == parse_quantity(str(b[k])) for k in a)
    return a == b


def effective_catalog(
    declared: Sequence[Plan], found: Mapping[str, tuple[str, Plan]]
) -> tuple[tuple[Plan, ...], dict[str, str]]:
    """The product's plans as the fences have them, from `found` (tenant -> (its declared plan's name, the
    plan its fences amount to)) -> (the plans, tenant -> the name of its plan). A declared plan whose tenants'
    fences all amount to one plan is replaced by it under its own name (what the targets file states about
    the plan beyond fences still applies by that name); where they differ, each tenant's plan is named
    `<plan>@<tenant>`. Declared plans no tenant is on stay as declared."""
    by_plan: dict[str, list[tuple[str, Plan]]] = {}
    for tenant, (plan_name, plan) in found.items():
        by_plan.setdefault(plan_name, []).append((tenant, plan))
    plans: list[Plan] = []
    names: dict[str, str] = {}
    for plan in declared:
        tenants = by_plan.get(plan.name, [])
        shapes = [replace(p, name="") for _, p in tenants]
        if all(shape == shapes[0] for shape in shapes):
            plans.append(replace(tenants[0][1], name=plan.name) if tenants else plan)
            names.update((tenant, plan.name) for tenant, _ in tenants)
            continue
        for tenant, found_plan in tenants:
            plans.append(replace(found_plan, name=f"{plan.name}@{tenant}"))
            names[tenant] = f"{plan.name}@{tenant}"
    return tuple(plans), names
