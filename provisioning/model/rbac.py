"""A pure RBAC evaluator: roles, cluster roles, bindings and aggregation, as the API server decides.

It follows `k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac` (rule matching,
subject matching, RoleBindings only for requests in their namespace) and the
cluster-role aggregation controller (an aggregated role's rules are the union of
the rules of every other cluster role its selectors match, to a fixpoint). Input
is API objects as plain dicts (read from a cluster or computed by the model);
nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(
            tuple(rule.get("verbs") or ()),
            tuple(rule.get("apiGroups") or ()),
            tuple(rule.get("resources") or ()),
            tuple(rule.get("resourceNames") or ()),
            tuple(rule.get("nonResourceURLs") or ()),
        )


@dataclass(frozen=True)
class Request:
    """The attributes of one request: a resource request (a SubjectAccessReview's resourceAttributes),
    or with `path` set a non-resource request (nonResourceAttributes: `path` and `verb`, e.g. get /metrics;
    the resource fields are then empty)."""

    user: str
    groups: tuple[str, ...]
    verb: str
    resource: str = ""
    namespace: str = ""
    group: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def matches(self, user: str, groups: Sequence[str], binding_namespace: str) -> bool:
        if self.kind == "User":
            return self.name == user
        if self.kind == "Group":
            return self.name in groups
        if self.kind == "ServiceAccount":
            namespace = self.namespace or binding_namespace
            return bool(namespace) and user == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{self.name}"
        return False


@dataclass(frozen=True)
class Binding:
    name: str
    namespace: str  # "" for a ClusterRoleBinding
    role_kind: str  # Role or ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> Binding:
        meta = obj.get("metadata", {})
        ref = obj.get("roleRef", {})
        subjects = tuple(
            Subject(str(s.get("kind", "")), str(s.get("name", "")), str(s.get("namespace") or ""))
            for s in obj.get("subjects") or ()
        )
        return cls(str(meta.get("name", "")), str(meta.get("namespace") or ""), ref["kind"], ref["name"], subjects)


@dataclass(frozen=True)
class Selector:
    """A label selector (matchLabels and matchExpressions) of an aggregation rule."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for key, operator, values in self.expressions:
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True

    @classmethod
    def parse(cls, selector: Mapping[str, Any]) -> Selector:
        expressions = tuple(
            (str(e["key"]), str(e["operator"]), tuple(e.get("values") or ()))
            for e in selector.get("matchExpressions") or ()
        )
        return cls(dict(selector.get("matchLabels") or {}), expressions)


@dataclass(frozen=True)
class RoleDef:
    name: str
    namespace: str  # "" for a ClusterRole
    rules: tuple[Rule, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    aggregation: tuple[Selector, ...] | None = None

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> RoleDef:
        meta = obj.get("metadata", {})
        aggregation = obj.get("aggregationRule")
        selectors = (
            tuple(Selector.parse(s) for s in aggregation.get("clusterRoleSelectors") or ())
            if aggregation is not None
            else None
        )
        return cls(
            str(meta.get("name", "")),
            str(meta.get("namespace") or ""),
            tuple(Rule.parse(r) for r in obj.get("rules") or ()),
            dict(meta.get("labels") or {}),
            selectors,
        )


def aggregate(cluster_roles: Iterable[RoleDef]) -> dict[str, RoleDef]:
    """Cluster roles by name, each aggregated role's rules replaced by the union of its sources' rules
    (in the order the sources sort by name, as the controller does), repeated until nothing changes."""
    roles = {r.name: r for r in cluster_roles}
    for _ in range(len(roles) + 1):
        changed = False
        for name, role in sorted(roles.items()):
            if role.aggregation is None:
                continue
            rules: list[Rule] = []
            for source_name, source in sorted(roles.items()):
                if source_name == name or not any(s.matches(source.labels) for s in role.aggregation):
                    continue
                rules.extend(r for r in source.rules if r not in rules)
            if tuple(rules) != role.rules:
                roles[name] = RoleDef(role.name, role.namespace, tuple(rules), role.labels, role.aggregation)
                changed = True
        if not changed:
            return roles
    return roles


def _verb_matches(rule: Rule, verb: str) -> bool:
    return "*" in rule.verbs or verb in rule.verbs


def _group_matches(rule: Rule, group: str) -> bool:
    return "*" in rule.api_groups or group in rule.api_groups


def _resource_matches(rule: Rule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for candidate in rule.resources:
        if candidate in ("*", combined):
            return True
        if subresource and candidate == f"*/{subresource}":
            return True
    return False


def _name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def _url_matches(rule: Rule, path: str) -> bool:
    """`*` matches every path, `prefix*` every path that starts with prefix, anything else itself
    (rbac/v1 helpers.go NonResourceURLMatches)."""
    return any(
        url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])) for url in rule.non_resource_urls
    )


def rule_allows(rule: Rule, request: Request) -> bool:
    if request.path:
        return _verb_matches(rule, request.verb) and _url_matches(rule, request.path)
    return (
        _verb_matches(rule, request.verb)
        and _group_matches(rule, request.group)
        and _resource_matches(rule, request.resource, request.subresource)
        and _name_matches(rule, request.name)
    )


@dataclass(frozen=True)
class RbacPolicy:
    """Every Role, ClusterRole (aggregated), RoleBinding and ClusterRoleBinding of a cluster."""

    roles: Mapping[tuple[str, str], RoleDef]  # (namespace, name) -> Role
    cluster_roles: Mapping[str, RoleDef]
    bindings: tuple[Binding, ...]

    @classmethod
    def build(
        cls,
        roles: Iterable[Mapping[str, Any]] = (),
        cluster_roles: Iterable[Mapping[str, Any]] = (),
        role_bindings: Iterable[Mapping[str, Any]] = (),
        cluster_role_bindings: Iterable[Mapping[str, Any]] = (),
    ) -> RbacPolicy:
        parsed_roles = {(r.namespace, r.name): r for r in map(RoleDef.parse, roles)}
        bindings = tuple(map(Binding.parse, role_bindings)) + tuple(
            Binding(b.name, "", b.role_kind, b.role_name, b.subjects) for b in map(Binding.parse, cluster_role_bindings)
        )
        return cls(parsed_roles, aggregate(map(RoleDef.parse, cluster_roles)), bindings)

    def _rules_of(self, binding: Binding) -> tuple[Rule, ...]:
        if binding.role_kind == "ClusterRole":
            role = self.cluster_roles.get(binding.role_name)
        elif binding.role_kind == "Role" and binding.namespace:
            role = self.roles.get((binding.namespace, binding.role_name))
        else:
            role = None
        return role.rules if role is not None else ()

    def allows(self, request: Request) -> bool:
        """True if some binding that applies to the request's namespace grants it to the subject; a
        non-resource request is granted by ClusterRoleBindings only (its namespace is always empty)."""
        for binding in self.bindings:
            if binding.namespace and (request.path or binding.namespace != request.namespace):
                continue
            if not any(s.matches(request.user, request.groups, binding.namespace) for s in binding.subjects):
                continue
            if any(rule_allows(rule, request) for rule in self._rules_of(binding)):
                return True
        return False
