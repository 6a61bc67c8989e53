"""The pure RBAC evaluator and the access the tenancy model requires (no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigErrors
from harness.targets import parse_targets
from provisioning.model.access import (
    ALL_NAMESPACES,
    PROVIDER_NAMESPACES,
    PublicRead,
    provider_namespaces,
    request_of,
    required_policy,
)
from provisioning.model.default_roles import DEFAULT_CLUSTER_ROLES
from provisioning.model.mutations import MUST_FAIL, Mutation, provider_mistakes
from provisioning.model.onboarding import tenant_manifests
from provisioning.model.rbac import RbacPolicy, Request, RoleDef, Rule, Selector, aggregate, rule_allows
from provisioning.model.tenancy import Authenticator, Plan, Product, Tenant

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


# --- namespaces of no tenant and all-namespaces requests (issue 19) ---------------------------------------

IDENTITIES = (*BLUE.identities_for((Authenticator.CERTIFICATE, Authenticator.OIDC)), *GREEN.identities)
EVERY_VERB = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


def test_every_namespace_of_no_tenant_is_asked() -> None:
    found = provider_namespaces(["caas-system"], ["kube-system", "tenant-blue", "addons", "default"], ["tenant-blue"])
    assert found == sorted({*PROVIDER_NAMESPACES, "caas-system", "addons"})
    assert "tenant-blue" not in found, "a tenant's namespace is never a provider's"


@given(
    st.sampled_from(IDENTITIES),
    st.sampled_from(EVERY_VERB),
    st.sampled_from((("", "secrets"), ("", "pods"), ("", "configmaps"), ("apps", "deployments"), ("", "events"))),
    st.sampled_from((*PROVIDER_NAMESPACES, "caas-system", ALL_NAMESPACES)),
)
def test_the_model_denies_every_tenant_everything_outside_the_tenants_namespaces(
    identity: object, verb: str, resource: tuple[str, str], namespace: str
) -> None:
    assert not POLICY.allows(request_of(identity, verb, resource[0], resource[1], namespace))  # type: ignore[arg-type]


def test_a_documented_public_read_opens_exactly_that_read() -> None:
    read = PublicRead("kube-public", "configmaps", ("get",), names=("cluster-info",))
    policy = required_policy(PRODUCT, (BLUE, GREEN), public_reads=(read,))
    viewer = _identity(GREEN, "viewer")
    assert policy.allows(request_of(viewer, "get", "", "configmaps", "kube-public", "cluster-info"))
    assert not policy.allows(request_of(viewer, "get", "", "configmaps", "kube-public", "other"))
    assert not policy.allows(request_of(viewer, "list", "", "configmaps", "kube-public"))
    assert not policy.allows(request_of(viewer, "get", "", "configmaps", "kube-system", "cluster-info"))
    assert not policy.allows(request_of(viewer, "get", "", "configmaps", ALL_NAMESPACES, "cluster-info"))


def test_the_provider_namespaces_mistake_is_what_check_rbac_007_sees() -> None:
    """The mutation's grant, evaluated like the cluster would: the all-namespaces list of secrets
    and kube-system's secrets open to a tenant viewer (the cells check_rbac_007 shows)."""
    manifests = tenant_manifests(BLUE, Plan("small"), "run-1", Mutation.PROVIDER_NAMESPACES)
    mistakes = [m for m in manifests if m["metadata"]["name"].startswith("mutation-")]
    assert mistakes == provider_mistakes(
        Mutation.PROVIDER_NAMESPACES, BLUE, mistakes[0]["metadata"]["labels"], (Authenticator.CERTIFICATE,)
    )
    policy = RbacPolicy.build(
        cluster_roles=[*DEFAULT_CLUSTER_ROLES, *(m for m in mistakes if m["kind"] == "ClusterRole")],
        cluster_role_bindings=[m for m in mistakes if m["kind"] == "ClusterRoleBinding"],
    )
    viewer = _identity(BLUE, "viewer")
    assert policy.allows(request_of(viewer, "list", "", "secrets", ALL_NAMESPACES))
    assert policy.allows(request_of(viewer, "watch", "", "secrets", "kube-system"))
    assert not POLICY.allows(request_of(viewer, "list", "", "secrets", ALL_NAMESPACES)), "the model still denies it"
    assert MUST_FAIL[Mutation.PROVIDER_NAMESPACES] == ("check_rbac_007",)
    assert tenant_manifests(BLUE, Plan("small"), "run-1") == [
        m for m in manifests if not m["metadata"]["name"].startswith("mutation-")
    ], "without the mutation onboarding adds nothing"


TARGETS = """\
version: 1
products:
  - name: kaas
    backend: lab
    provider_namespaces: [kaas-system]
    public_reads: [{namespace: kube-public, resource: configmaps, verbs: [VERB], names: [cluster-info]}]
    plans: [{name: small}]
tenancy:
  - product: kaas
    tenants: [{name: blue, plan: small}]
"""


def test_targets_name_the_products_namespaces_and_public_reads(tmp_path: Path) -> None:
    targets = parse_targets(TARGETS.replace("VERB", "get"), "t.yaml", tmp_path)
    spec = targets.product_spec("kaas")
    assert spec.provider_namespaces == ["kaas-system"]
    assert [(r.namespace, r.resource, r.verbs, r.names) for r in spec.public_reads] == [
        ("kube-public", "configmaps", ["get"], ["cluster-info"])
    ]


def test_a_public_write_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as error:
        parse_targets(TARGETS.replace("VERB", "create"), "t.yaml", tmp_path)
    assert 'products[0].public_reads[0].verbs[0]: unknown read verb "create"' in str(error.value)


def test_non_resource_urls_are_granted_by_cluster_role_bindings_only() -> None:
    role = {"metadata": {"name": "scraper"}, "rules": [{"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]}]}
    ref = {"kind": "ClusterRole", "name": "scraper"}
    subjects = [{"kind": "Group", "name": "scrapers"}]
    policy = RbacPolicy.build(
        cluster_roles=[role],
        cluster_role_bindings=[{"metadata": {"name": "c"}, "roleRef": ref, "subjects": subjects}],
        role_bindings=[
            {"metadata": {"name": "r", "namespace": "ns"}, "roleRef": ref, "subjects": [{"kind": "User", "name": "u"}]}
        ],
    )
    assert policy.allows(Request("s", ("scrapers",), "get", path="/metrics"))
    assert policy.allows(Request("s", ("scrapers",), "get", path="/logs/kube-apiserver.log"))
    assert not policy.allows(Request("s", ("scrapers",), "get", path="/metrics/slis")), "no prefix without *"
    assert not policy.allows(Request("s", ("scrapers",), "post", path="/metrics"))
    assert not policy.allows(Request("u", (), "get", path="/metrics")), "a RoleBinding never grants a URL"
    assert not policy.allows(Request("s", ("scrapers",), "get", "metrics")), "a URL rule grants no resource"
