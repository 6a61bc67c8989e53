"""The pure RBAC evaluator agrees with a real API server's SubjectAccessReviews.

A `pks` lab cluster gets the tenants' onboarding (namespaces, RoleBindings to admin/edit/view)
plus objects that exercise the rest of RBAC: a namespaced Role with resource names and
subresources bound to a service account, a cluster role aggregated into view (so into edit and
admin), a ClusterRoleBinding and a user bound to edit in one namespace, non-resource URLs (exact,
prefix and through a RoleBinding, which never grants them) and bindings to the service-account
groups. Hypothesis generates (subject, verb, resource/subresource from discovery, namespace, name)
cases and non-resource (subject, verb, path) cases in batches reviewed concurrently; at least
10,000 cases per run must all agree. A disagreement is shrunk and saved to
`data/rbac_regressions.json`, which `test_regression_cases_agree` replays on every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.matrix import Cell
from checks.rbac.reviews import read_policy, review_all
from harness.settings import Timeouts
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from provisioning.model.onboarding import collection_path, tenant_manifests
from provisioning.model.rbac import RbacPolicy, Request
from provisioning.model.tenancy import Authenticator, Plan, Tenant
from tests.lab.inventory import suite_run_id

pytestmark = pytest.mark.lab

REGRESSIONS = Path(__file__).parent / "data" / "rbac_regressions.json"
BATCH = 500
BATCHES = 21  # 10,500 cases
RUN_ID = suite_run_id("rbac-evaluator")
TENANTS = (Tenant("blue", "small"), Tenant("green", "small"))
AUTHENTICATORS = (Authenticator.CERTIFICATE, Authenticator.OIDC)  # bindings and subjects of both, as on pks
LABELS = {"caas-conformance.io/run-id": RUN_ID}

EXTRA_OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "config-reader", "namespace": "tenant-blue", "labels": LABELS},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": ["get", "update"],
                "resourceNames": ["app-config"],
            },
            {"apiGroups": [""], "resources": ["pods/log", "*/status"], "verbs": ["get"]},
            {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["list"]},
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "builder-reads-config", "namespace": "tenant-blue", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "config-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "builder"}],  # namespace defaults to the binding's
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": "caas-widgets-view",
            "labels": {**LABELS, "rbac.authorization.k8s.io/aggregate-to-view": "true"},
        },
        "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "caas-auditors", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "auditors"}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "contractor", "namespace": "tenant-green", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "green-contractor"}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "caas-scraper", "labels": LABELS},
        "rules": [
            {"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/exec", "pods/attach"], "verbs": ["get"]},
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "caas-scrapers", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "caas-scraper"},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts:tenant-green"}
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "scraper-in-blue", "namespace": "tenant-blue", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "caas-scraper"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "auditors"}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "every-workload-views-blue", "namespace": "tenant-blue", "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts"}],
    },
]
_PATHS = {
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}

USERS = (
    *(i.user for t in TENANTS for i in t.identities_for(AUTHENTICATORS)),
    "green-contractor",
    "stranger",
    "system:serviceaccount:tenant-blue:builder",
    "system:serviceaccount:tenant-green:builder",
    "system:serviceaccount:kube-system:default",
    "system:kube-scheduler",
    "system:kube-controller-manager",
)
GROUPS = (
    *(g for t in TENANTS for i in t.identities_for(AUTHENTICATORS) for g in i.groups),
    "auditors",
    "system:authenticated",
    "system:serviceaccounts",
    "system:serviceaccounts:tenant-blue",
    "system:serviceaccounts:tenant-green",
    "system:unauthenticated",
    "system:masters",
)
VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "*",
)
EXTRA_RESOURCES = (
    ("", "pods", "log"),
    ("", "pods", "exec"),
    ("", "pods", "status"),
    ("", "serviceaccounts", "token"),
    ("", "nodes", "proxy"),
    ("apps", "deployments", "scale"),
    ("certificates.k8s.io", "certificatesigningrequests", "approval"),
    ("example.com", "widgets", ""),
    ("", "users", ""),
    ("", "groups", ""),
    ("", "*", ""),
)
NAMESPACES = ("", "tenant-blue", "tenant-green", "kube-system", "kube-public", "kube-node-lease", "default")
PATHS = (
    "/metrics",
    "/metrics/slis",
    "/logs",
    "/logs/kube-apiserver.log",
    "/debug/pprof/",
    "/configz",
    "/version",
    "/healthz",
    "/livez",
    "/readyz",
    "/api",
    "/apis/apps",
    "/openapi/v2",
    "/.well-known/openid-configuration",
)
NON_RESOURCE_VERBS = ("get", "post", "put", "delete", "head", "*")
NAMES = ("", "app-config", "other", "cluster-admin")


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    paths = LabPaths(Path(os.environ.get("CAAS_LAB_HOME", "/var/lib/caas-lab")))
    name = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}rbac-sar"
    if paths.cluster_dir(name).exists():
        cluster.down(paths, name)
    lab = cluster.up(paths, name, "pks", 1, Timeouts().lab_ready, run_id=RUN_ID)
    api = kube.from_kubeconfig(Path(lab.layout.kubeconfig(cluster.ADMIN)), pool_size=32)
    try:
        for tenant in TENANTS:
            for manifest in tenant_manifests(tenant, Plan("small"), RUN_ID, authenticators=AUTHENTICATORS):
                kube.request(api, "POST", collection_path(manifest), body=manifest)
        for obj in EXTRA_OBJECTS:
            path = _PATHS[obj["kind"]].format(ns=obj["metadata"].get("namespace", ""))
            kube.request(api, "POST", path, body=obj)
        wait_until(
            lambda: kube.request(api, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin"),
            lambda role: any("widgets" in r.get("resources", ()) for r in role.get("rules") or ()),
            timeout=60,
            what="the aggregation controller to fold caas-widgets-view into admin",
        )
        yield api
    finally:
        api.close()
        cluster.down(paths, name)


@pytest.fixture(scope="module")
def policy(admin: Any) -> RbacPolicy:
    return read_policy(admin)


@pytest.fixture(scope="module")
def resources(admin: Any) -> tuple[tuple[str, str, str], ...]:
    found = []
    for group in [""] + [g["name"] for g in kube.request(admin, "GET", "/apis")["groups"]]:
        if group:
            version = next(g for g in kube.request(admin, "GET", "/apis")["groups"] if g["name"] == group)
            path = f"/apis/{group}/{version['preferredVersion']['version']}"
        else:
            path = "/api/v1"
        for item in kube.request(admin, "GET", path)["resources"]:  # subresources as discovery names them
            resource, _, subresource = item["name"].partition("/")
            found.append((group, resource, subresource))
    return (*found, *EXTRA_RESOURCES)


PATH_CASES = BATCH // 10  # of each batch: non-resource requests; the rest resource requests


def requests(resources: tuple[tuple[str, str, str], ...]) -> st.SearchStrategy[list[Request]]:
    """A batch: BATCH - PATH_CASES resource requests, then PATH_CASES non-resource requests."""
    resource_requests = st.builds(
        lambda user, groups, verb, resource, namespace, name: Request(
            user, tuple(groups), verb, resource[1], namespace, resource[0], resource[2], name
        ),
        st.sampled_from(USERS),
        st.lists(st.sampled_from(GROUPS), unique=True, max_size=3),
        st.sampled_from(VERBS),
        st.sampled_from(resources),
        st.sampled_from(NAMESPACES),
        st.sampled_from(NAMES),
    )
    non_resource_requests = st.builds(
        lambda user, groups, verb, path: Request(user, tuple(groups), verb, path=path),
        st.sampled_from(USERS),
        st.lists(st.sampled_from(GROUPS), unique=True, max_size=3),
        st.sampled_from(NON_RESOURCE_VERBS),
        st.sampled_from(PATHS),
    )
    return st.builds(
        lambda a, b: a + b,
        st.lists(resource_requests, min_size=BATCH - PATH_CASES, max_size=BATCH - PATH_CASES),
        st.lists(non_resource_requests, min_size=PATH_CASES, max_size=PATH_CASES),
    )


def disagreements(admin: Any, policy: RbacPolicy, cases: list[Request]) -> list[dict[str, Any]]:
    """Cases where the evaluator and the server differ; a server that could not answer fails loudly."""
    answers = review_all(admin, cases, workers=16)
    errors = [(c, text) for c, (cell, text) in zip(cases, answers, strict=True) if cell is Cell.ERROR]
    assert not errors, f"the API server did not answer {len(errors)} reviews, e.g. {errors[0]}"
    found = []
    for case, (cell, reason) in zip(cases, answers, strict=True):
        predicted = Cell.ALLOWED if policy.allows(case) else Cell.DENIED
        if predicted is not cell:
            found.append(
                {"case": case.__dict__ | {"groups": list(case.groups)}, "server": cell.value, "reason": reason}
            )
    return found


def test_evaluator_agrees_with_subject_access_reviews(
    admin: Any, policy: RbacPolicy, resources: tuple[tuple[str, str, str], ...]
) -> None:
    reviewed = 0
    kinds = {"path": 0, "subresource": 0}
    last_failure: list[dict[str, Any]] = []

    @settings(
        max_examples=BATCHES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests(resources))
    def agree(cases: list[Request]) -> None:
        nonlocal reviewed, last_failure
        reviewed += len(cases)
        kinds["path"] += sum(1 for c in cases if c.path)
        kinds["subresource"] += sum(1 for c in cases if c.subresource)
        found = disagreements(admin, policy, cases)
        if found:
            last_failure = found
        assert not found, json.dumps(found[:3], indent=1)

    try:
        agree()
    except AssertionError:
        if last_failure:
            _save_regressions(last_failure)
        raise
    assert reviewed >= BATCH * BATCHES, f"only {reviewed} cases were reviewed"
    print(f"reviewed {reviewed} cases, {kinds['path']} non-resource, {kinds['subresource']} of subresources")
    assert min(kinds.values()) >= PATH_CASES * BATCHES, f"too few non-resource or subresource cases: {kinds}"


def _save_regressions(found: list[dict[str, Any]]) -> None:
    saved = json.loads(REGRESSIONS.read_text()) if REGRESSIONS.exists() else []
    known = {json.dumps(c["case"], sort_keys=True) for c in saved}
    saved += [
        {"case": f["case"], "note": f"server said {f['server']}"}
        for f in found
        if json.dumps(f["case"], sort_keys=True) not in known
    ]
    REGRESSIONS.write_text(json.dumps(saved, indent=1) + "\n")


def test_regression_cases_agree(admin: Any, policy: RbacPolicy) -> None:
    saved = json.loads(REGRESSIONS.read_text())
    cases = [Request(**{**c["case"], "groups": tuple(c["case"]["groups"])}) for c in saved]
    assert cases, "the regression file holds the cases that once disagreed (and tricky seeds)"
    assert disagreements(admin, policy, cases) == []
