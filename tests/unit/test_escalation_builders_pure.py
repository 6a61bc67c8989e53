"""Each escalation builder of checks/rbac/escalation.py by name (issue 18), against the authorization
attributes the Kubernetes docs give for what it attempts: RBAC's `bind` and `escalate` verbs
(kubernetes.io "Using RBAC Authorization": privilege escalation prevention), the `impersonate` verb on
users, groups, serviceaccounts, uids and userextras/<key> (kubernetes.io "Authenticating": user
impersonation), update on certificatesigningrequests/approval ("Certificates and Certificate Signing
Requests"), create serviceaccounts/token (TokenRequest), get nodes/proxy and create pods/exec."""

from __future__ import annotations

from checks.rbac import escalation
from checks.rbac.access import ABSENT
from checks.rbac.escalation import Context
from provisioning.model.tenancy import Authenticator, Placement, Tenant

BLUE = Tenant("blue", "small", Placement.SHARED)
GREEN = Tenant("green", "medium", Placement.SHARED)
ADMIN = BLUE.identities_for((Authenticator.CERTIFICATE,))[0]
C = Context(ADMIN, BLUE, GREEN)
DRY = {"dryRun": "All"}


def test_binding_cluster_admin_in_its_namespace_needs_bind_on_that_cluster_role() -> None:
    probe = escalation.bind_cluster_admin_in_namespace(C, "col")
    assert dict(probe.attributes) == {
        "verb": "bind",
        "resource": "clusterroles",
        "namespace": BLUE.namespace,
        "group": "rbac.authorization.k8s.io",
        "name": "cluster-admin",
    }
    assert (probe.method, probe.path) == ("POST", f"{escalation.RBAC}/namespaces/{BLUE.namespace}/rolebindings")
    assert probe.body is not None
    assert probe.body["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cluster-admin",
    }
    assert dict(probe.query) == DRY
    assert probe.user == ADMIN.user


def test_binding_cluster_admin_cluster_wide_is_a_create_of_a_cluster_role_binding() -> None:
    probe = escalation.bind_cluster_admin_cluster_wide(C, "col")
    assert probe.attributes["verb"] == "create"
    assert probe.attributes["resource"] == "clusterrolebindings"
    assert probe.attributes["namespace"] == ""
    assert probe.body is not None
    assert probe.body["kind"] == "ClusterRoleBinding"
    assert "namespace" not in probe.body["metadata"]
    assert dict(probe.query) == DRY


def test_a_role_of_every_permission_needs_escalate_on_roles() -> None:
    probe = escalation.escalate_role(C, "col")
    assert (probe.attributes["verb"], probe.attributes["resource"]) == ("escalate", "roles")
    assert probe.body is not None
    assert probe.body["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    assert dict(probe.query) == DRY


def test_impersonating_another_tenants_admin_is_impersonate_on_users() -> None:
    probe = escalation.impersonate_user(C, "col")
    assert dict(probe.attributes) == {
        "verb": "impersonate",
        "resource": "users",
        "namespace": "",
        "group": "",
        "name": "green-admin",
    }
    assert probe.headers == {"Impersonate-User": "green-admin"}
    assert probe.path == f"/api/v1/namespaces/{GREEN.namespace}/pods"


def test_impersonating_system_masters_is_impersonate_on_groups() -> None:
    probe = escalation.impersonate_group(C, "col")
    assert (probe.attributes["resource"], probe.attributes["name"]) == ("groups", "system:masters")
    assert probe.headers["Impersonate-Group"] == "system:masters"
    assert probe.headers["Impersonate-User"] == ADMIN.user  # a group alone may not be impersonated


def test_impersonating_a_service_account_is_impersonate_on_serviceaccounts_in_its_namespace() -> None:
    probe = escalation.impersonate_service_account(C, "col")
    assert probe.attributes["resource"] == "serviceaccounts"
    assert probe.attributes["namespace"] == GREEN.namespace
    assert probe.attributes["name"] == "default"
    assert probe.headers == {"Impersonate-User": f"system:serviceaccount:{GREEN.namespace}:default"}


def test_impersonating_a_uid_and_an_extra_are_in_the_authentication_group() -> None:
    uid = escalation.impersonate_uid(C, "col")
    assert uid.attributes["group"] == "authentication.k8s.io"
    assert uid.attributes["resource"] == "uids"
    assert uid.headers["Impersonate-Uid"] == uid.attributes["name"]
    extra = escalation.impersonate_extra(C, "col")
    # userextras/<key>: the extra's key is the subresource, its value the name
    assert (extra.attributes["group"], extra.attributes["resource"]) == ("authentication.k8s.io", "userextras")
    assert (extra.attributes["subresource"], extra.attributes["name"]) == ("scopes", "admin")
    assert extra.headers["Impersonate-Extra-Scopes"] == "admin"


def test_minting_a_token_is_create_on_serviceaccounts_token() -> None:
    probe = escalation.mint_token(C, "col")
    assert (probe.attributes["verb"], probe.attributes["resource"]) == ("create", "serviceaccounts")
    assert probe.attributes["subresource"] == "token"
    assert probe.path == f"/api/v1/namespaces/{GREEN.namespace}/serviceaccounts/default/token"
    assert probe.body is not None
    assert probe.body["kind"] == "TokenRequest"
    assert dict(probe.query) == DRY


def test_approving_a_csr_is_update_on_the_approval_subresource() -> None:
    probe = escalation.approve_csr(C, "col")
    assert probe.attributes["verb"] == "update"
    assert (probe.attributes["resource"], probe.attributes["subresource"]) == ("certificatesigningrequests", "approval")
    assert probe.attributes["group"] == "certificates.k8s.io"
    assert probe.method == "PUT"
    assert probe.path.endswith(f"/certificatesigningrequests/{ABSENT}/approval")


def test_the_node_proxy_and_exec_attempts_name_their_subresources() -> None:
    proxy = escalation.node_proxy(C, "col")
    assert (proxy.attributes["verb"], proxy.attributes["resource"], proxy.attributes["subresource"]) == (
        "get",
        "nodes",
        "proxy",
    )
    assert proxy.path == f"/api/v1/nodes/{ABSENT}/proxy/healthz"
    exec_ = escalation.exec_other_tenant(C, "col")
    assert (exec_.attributes["verb"], exec_.attributes["subresource"]) == ("create", "exec")
    assert exec_.attributes["namespace"] == GREEN.namespace  # the other tenant's, not its own
    assert exec_.path == f"/api/v1/namespaces/{GREEN.namespace}/pods/{ABSENT}/exec"
