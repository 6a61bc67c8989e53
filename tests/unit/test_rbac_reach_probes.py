"""The probes of issue 19's cells (no cluster): subresources from discovery, stream handshakes, and the
evaluator's answer for each (what the API server's RequestInfo and RBAC make of them)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.rbac.access import ABSENT, subresource_probe
from checks.rbac.discovery import ApiResource, ApiSubresource, discover_subresources
from checks.rbac.streaming import stream_probe
from provisioning.kube import client as kube
from provisioning.model.access import request_of, required_policy
from provisioning.model.tenancy import Plan, Product, Role, Tenant

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list"))
NAMESPACES = ApiResource("", "v1", "namespaces", "Namespace", False, ("get", "list"))
DEPLOYMENTS = ApiResource("apps", "v1", "deployments", "Deployment", True, ("get",))
PRODUCT = Product("p", "lab", (Plan("small"),))
BLUE, GREEN = Tenant("blue", "small"), Tenant("green", "small")
POLICY = required_policy(PRODUCT, (BLUE, GREEN))


def _allowed(role: Role, attributes: Any) -> bool:
    identity = next(i for i in BLUE.identities if i.role is role)
    a = attributes
    return POLICY.allows(
        request_of(identity, a["verb"], a["group"], a["resource"], a["namespace"], a["name"], a["subresource"])
    )


def test_discovery_keeps_every_subresource_with_the_verbs_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = {
        "/apis": {"groups": [{"name": "apps", "preferredVersion": {"version": "v1"}}]},
        "/api/v1": {
            "resources": [
                {"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
                {"name": "pods/exec", "kind": "PodExecOptions", "namespaced": True, "verbs": ["create", "get"]},
                {"name": "namespaces", "kind": "Namespace", "namespaced": False, "verbs": ["get"]},
                {"name": "namespaces/finalize", "kind": "Namespace", "namespaced": False, "verbs": ["update"]},
                {"name": "pods/unserved", "kind": "Pod", "namespaced": True, "verbs": []},
            ]
        },
        "/apis/apps/v1": {
            "resources": [
                {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["get"]},
                {"name": "deployments/scale", "kind": "Scale", "namespaced": True, "verbs": ["get", "patch"]},
            ]
        },
    }

    monkeypatch.setattr(kube, "request", lambda _api, _method, path, **_kw: documents[path])
    found = discover_subresources(object())
    assert [(s.label, s.verbs) for s in found] == [
        ("namespaces/finalize", ("update",)),
        ("pods/exec", ("create", "get")),
        ("deployments/scale.apps", ("get", "patch")),
    ]


def test_a_namespace_subresource_is_asked_of_the_namespace_itself() -> None:
    finalize = ApiSubresource(NAMESPACES, "finalize", "Namespace", ("update",))
    probe = subresource_probe("blue-admin", "blue-admin", finalize, "update", "tenant-blue")
    assert probe.path == "/api/v1/namespaces/tenant-blue/finalize"
    assert probe.attributes["namespace"] == probe.attributes["name"] == "tenant-blue"
    assert probe.body == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-blue"}}
    assert not _allowed(Role.ADMIN, probe.attributes), "no tenant role writes finalize"
    status = ApiSubresource(NAMESPACES, "status", "Namespace", ("get", "patch"))
    read = subresource_probe("blue-viewer", "blue-viewer", status, "get", "tenant-blue")
    assert _allowed(Role.VIEWER, read.attributes), "view reads its own namespace's status"
    assert not _allowed(Role.VIEWER, dict(read.attributes, namespace="tenant-green", name="tenant-green"))


def test_subresource_writes_carry_their_own_kind_and_dry_run() -> None:
    scale = ApiSubresource(DEPLOYMENTS, "scale", "Scale", ("get", "update", "patch"))
    probe = subresource_probe("u", "u", scale, "update", "tenant-blue")
    assert probe.method == "PUT"
    assert probe.path == f"/apis/apps/v1/namespaces/tenant-blue/deployments/{ABSENT}/scale"
    assert probe.body is not None
    assert probe.body["kind"] == "Scale"
    assert probe.query == {"dryRun": "All"}
    evict = subresource_probe("u", "u", ApiSubresource(PODS, "eviction", "Eviction", ("create",)), "create", "ns")
    assert evict.body is not None
    assert (evict.method, evict.body["apiVersion"], evict.body["kind"]) == ("POST", "policy/v1", "Eviction")


@pytest.mark.parametrize(
    ("role", "sub", "verb", "allowed"),
    [
        (Role.ADMIN, "exec", "get", True),
        (Role.ADMIN, "exec", "create", True),
        (Role.DEVELOPER, "portforward", "create", True),
        (Role.VIEWER, "exec", "get", False),
        (Role.VIEWER, "log", "get", True),
        (Role.VIEWER, "status", "update", False),
        (Role.ADMIN, "status", "update", False),
        (Role.ADMIN, "ephemeralcontainers", "patch", False),
        (Role.DEVELOPER, "eviction", "create", True),
    ],
)
def test_the_default_roles_subresource_rules_in_the_own_namespace(
    role: Role, sub: str, verb: str, allowed: bool
) -> None:
    probe = subresource_probe("u", "u", ApiSubresource(PODS, sub, "Pod", (verb,)), verb, "tenant-blue")
    assert _allowed(role, probe.attributes) is allowed
    assert not _allowed(role, dict(probe.attributes, namespace="tenant-green")), "never in another tenant's"
    assert not _allowed(role, dict(probe.attributes, namespace="kube-system")), "never in the provider's"


def test_stream_handshakes_are_get_over_websocket_and_create_over_spdy() -> None:
    websocket = stream_probe("blue-admin", "blue-admin", "tenant-green", "probe-a", "exec", "websocket")
    spdy = stream_probe("blue-admin", "blue-admin", "tenant-green", "probe-a", "exec", "spdy")
    assert (websocket.method, websocket.attributes["verb"], websocket.headers["Upgrade"]) == ("GET", "get", "websocket")
    assert (spdy.method, spdy.attributes["verb"], spdy.headers["Upgrade"]) == ("POST", "create", "SPDY/3.1")
    assert websocket.upgrade
    assert spdy.upgrade
    assert websocket.path == spdy.path == "/api/v1/namespaces/tenant-green/pods/probe-a/exec"
    assert _allowed(Role.ADMIN, dict(websocket.attributes, namespace="tenant-blue"))
    assert not _allowed(Role.ADMIN, websocket.attributes)
    with pytest.raises(ValueError, match="no stream probe for log"):
        stream_probe("u", "u", "ns", "p", "log", "websocket")


def test_paths_are_asked_with_non_resource_reviews_and_the_default_discovery_roles() -> None:
    from checks.rbac.access import _attributes
    from checks.rbac.non_resource import PATHS, path_probe
    from provisioning.model.access import ANONYMOUS, non_resource_request

    probe = path_probe("blue-viewer", "blue-viewer", "/metrics")
    assert _attributes(probe) == {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}
    assert not probe.anonymous
    assert path_probe(ANONYMOUS, ANONYMOUS, "/version").anonymous
    viewer = next(i for i in BLUE.identities if i.role is Role.VIEWER)
    tenant_reads = {p for p in PATHS if POLICY.allows(non_resource_request(viewer.user, viewer.groups, p))}
    assert tenant_reads == {"/version", "/healthz", "/livez", "/readyz", "/api", "/apis"}
    anonymous_reads = {p for p in PATHS if POLICY.allows(non_resource_request(ANONYMOUS, (), p))}
    assert anonymous_reads == {"/version", "/healthz", "/livez", "/readyz"}, "system:public-info-viewer only"
