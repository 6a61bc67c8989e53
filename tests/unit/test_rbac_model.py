"""The pure RBAC evaluator and the access the tenancy model requires (no cluster)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provisioning.model.access import request_of, required_policy
from provisioning.model.default_roles import DEFAULT_CLUSTER_ROLES
from provisioning.model.rbac import RbacPolicy, Request, RoleDef, Rule, Selector, aggregate, rule_allows
from provisioning.model.tenancy import Plan, Product, Tenant

PRODUCT = Product("p", "lab", (Plan("small"),))
BLUE, GREEN = Tenant("blue", "small"), Tenant("green", "small")
POLICY = required_policy(PRODUCT, (BLUE, GREEN))


def _identity(tenant: Tenant, role: str):  # type: ignore[no-untyped-def]
    return next(i for i in tenant.identities if i.role.value == role)


def test_aggregation_folds_view_into_edit_into_admin() -> None:
    roles = aggregate(RoleDef.parse(r) for r in DEFAULT_CLUSTER_ROLES)
    view, edit, admin = (set(roles[n].rules) for n in ("view", "edit", "admin"))
    assert view
    assert view < edit < admin


def test_roles_grant_what_their_names_say() -> None:
    def allowed(tenant: Tenant, role: str, verb: str, group: str, resource: str, ns: str) -> bool:
        return POLICY.allows(request_of(_identity(tenant, role), verb, group, resource, ns))

    assert allowed(BLUE, "viewer", "list", "", "pods", "tenant-blue")
    assert not allowed(BLUE, "viewer", "get", "", "secrets", "tenant-blue")
    assert allowed(BLUE, "developer", "create", "apps", "deployments", "tenant-blue")
    assert not allowed(BLUE, "developer", "create", "rbac.authorization.k8s.io", "rolebindings", "tenant-blue")
    assert allowed(BLUE, "admin", "create", "rbac.authorization.k8s.io", "rolebindings", "tenant-blue")
    assert not allowed(BLUE, "admin", "update", "", "resourcequotas", "tenant-blue")


@given(
    st.sampled_from(("admin", "developer", "viewer")),
    st.sampled_from(("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*")),
    st.sampled_from((("", "pods"), ("", "secrets"), ("apps", "deployments"), ("", "nodes"), ("", "namespaces"))),
)
def test_nothing_in_another_tenants_namespace_or_cluster_wide(role: str, verb: str, resource: tuple[str, str]) -> None:
    identity = _identity(BLUE, role)
    for namespace in ("tenant-green", ""):
        assert not POLICY.allows(request_of(identity, verb, resource[0], resource[1], namespace))


def test_rule_matching_follows_the_api_server() -> None:
    rule = Rule(("get",), ("",), ("pods/log", "*/status"), ("a",))
    base = Request("u", (), "get", "pods", "ns", "", "log", "a")
    assert rule_allows(rule, base)
    assert not rule_allows(rule, Request("u", (), "get", "pods", "ns", "", "exec", "a"))
    assert rule_allows(rule, Request("u", (), "get", "services", "ns", "", "status", "a"))
    assert not rule_allows(rule, Request("u", (), "get", "pods", "ns", "", "log", ""))


def test_service_account_subject_defaults_to_the_binding_namespace() -> None:
    policy = RbacPolicy.build(
        roles=[
            {
                "metadata": {"name": "r", "namespace": "ns"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
            }
        ],
        role_bindings=[
            {
                "metadata": {"name": "b", "namespace": "ns"},
                "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa"}],
            }
        ],
    )
    assert policy.allows(Request("system:serviceaccount:ns:sa", (), "get", "pods", "ns"))
    assert not policy.allows(Request("system:serviceaccount:other:sa", (), "get", "pods", "ns"))
    assert not policy.allows(Request("system:serviceaccount:ns:sa", (), "get", "pods", "other"))


def test_selector_expressions() -> None:
    selector = Selector({"a": "1"}, (("b", "In", ("x", "y")), ("c", "DoesNotExist", ())))
    assert selector.matches({"a": "1", "b": "x"})
    assert not selector.matches({"a": "1", "b": "z"})
    assert not selector.matches({"a": "1", "b": "x", "c": ""})
