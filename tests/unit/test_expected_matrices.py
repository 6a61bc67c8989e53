"""Expected matrices, built before anything is observed: reachability from a feature's requirement table
(checks/network/expectations.py) and the tenants' access matrix from the model of the required RBAC
policy (checks/rbac/matrix.py). A cell the expectation sets is required; a cell it leaves UNOBSERVED
is not asked for.

The RBAC expectations follow Kubernetes' default roles (admin, edit, view: view reads no secrets;
system:discovery and system:public-info-viewer for non-resource paths) as provisioning/model/access.py
models them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.matrix import Cell
from checks.network.expectations import (
    AS_PLAN_SAYS,
    expected_matrix,
    kind_of_target,
    literal,
    other_cluster,
    requirement_rules,
    same_tenant,
)
from checks.network.probe import ProbePod, Target, pod_targets
from checks.rbac import matrix as rbac
from checks.rbac import path_questions
from checks.rbac.discovery import ApiResource
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning.backends.protocol import ClusterHandle
from provisioning.model.access import ANONYMOUS, PublicRead
from provisioning.model.tenancy import AuthorizationMode
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from tests.support import ROOT

FEATURES = ROOT / "features"

BLUE_A = ProbePod("blue", "pks-shared", "tenant-blue", "probe-a", "a", "10.244.1.7")
BLUE_B = ProbePod("blue", "pks-shared", "tenant-blue", "probe-b", "b", "10.244.1.8")
GREEN_A = ProbePod("green", "pks-shared", "tenant-green", "probe-a", "a", "10.244.2.9")
RED_A = ProbePod("red", "pks-red", "tenant-red", "probe-a", "a", "10.245.1.4")


def feature_table(path: str, scenario: int = 0) -> list[list[str]]:
    """The data table of a feature's `scenario`-th scenario, header first, cells as written."""
    tables: list[list[list[str]]] = []
    previous = False
    for text in (FEATURES / path).read_text().splitlines():
        row = text.strip().startswith("|")
        if row and not previous:
            tables.append([])
        if row:
            tables[-1].append(text.strip().strip("|").split("|"))
        previous = row
    return tables[scenario]


# --- reachability: requirement tables ----------------------------------------------------------------


def test_a_requirement_table_gives_one_rule_per_relation_and_protocol() -> None:
    rules = requirement_rules(feature_table("network/pod_to_pod.feature"))
    assert rules == {
        ("its own tenant", "tcp"): "allowed",
        ("its own tenant", "udp"): "allowed",
        ("another tenant", "tcp"): "denied",
        ("another tenant", "udp"): "denied",
    }


def test_a_table_without_a_udp_column_requires_nothing_of_udp() -> None:
    rules = requirement_rules(feature_table("network/from_outside.feature"))
    assert rules == {
        ("an exposed node port", "tcp"): "allowed",
        ("a pod", "tcp"): "denied",
        ("a service address", "tcp"): "denied",
    }


def test_a_plan_rule_is_kept_as_written_for_the_resolver() -> None:
    rules = requirement_rules(feature_table("network/control_plane.feature"))
    assert rules[("the API server", "tcp")] == AS_PLAN_SAYS
    assert rules[("a node's kubelet", "tcp")] == "denied"


def test_a_row_with_a_cell_too_many_or_too_few_is_refused() -> None:
    with pytest.raises(ValueError, match="zip"):
        requirement_rules([["from", "to", "tcp"], ["a pod", "another tenant", "denied", "allowed"]])
    with pytest.raises(ValueError, match="zip"):
        requirement_rules([["from", "to", "tcp", "udp"], ["a pod", "another tenant", "denied"]])


def test_literal_cells_are_allowed_or_denied_and_nothing_else() -> None:
    assert literal(BLUE_A, "allowed") is Cell.ALLOWED
    assert literal(BLUE_A, "denied") is Cell.DENIED
    for written in (AS_PLAN_SAYS, "Denied", "blocked"):
        with pytest.raises(ValueError, match="is not a valid Cell"):
            literal(BLUE_A, written)


def test_relations_between_a_source_and_a_targets_owner() -> None:
    assert same_tenant(BLUE_A, BLUE_B) == "its own tenant"
    assert same_tenant(BLUE_A, GREEN_A) == "another tenant"
    assert other_cluster(BLUE_A, GREEN_A) == "same cluster"
    assert other_cluster(BLUE_A, RED_A) == "other cluster"
    owners = {app: ProbePod("blue", "pks-shared", "", "x", app, "") for app in ("node-port", "svc", "api-server")}
    assert kind_of_target(BLUE_A, owners["node-port"]) == "an exposed node port"
    assert kind_of_target(BLUE_A, owners["svc"]) == "a service address"
    assert kind_of_target(BLUE_A, owners["api-server"]) == "the API server"
    assert kind_of_target(BLUE_A, ProbePod("blue", "pks-shared", "", "w1", "kubelet", "")) == "a node's kubelet"
    assert kind_of_target(BLUE_A, GREEN_A) == "a pod"


def pairs_of(sources: list[ProbePod], owners: list[ProbePod]) -> list[tuple[ProbePod, ProbePod, Target]]:
    return [(s, o, t) for s in sources for o in owners for t in pod_targets([o])]


def test_the_expected_reachability_of_pod_to_pod() -> None:
    pods = [BLUE_A, GREEN_A]
    pairs = pairs_of(pods, pods)
    columns = [t.column for _s, _o, t in pairs[:6]]
    expected = expected_matrix(
        pods, columns, pairs, requirement_rules(feature_table("network/pod_to_pod.feature")), same_tenant
    )
    assert expected.rows == ("blue/a", "green/a")
    assert expected.columns == tuple(columns)
    assert expected["blue/a", "blue/a:8080/tcp"] is Cell.ALLOWED
    assert expected["blue/a", "blue/a:8082/udp"] is Cell.ALLOWED
    assert expected["blue/a", "green/a:8081/tcp"] is Cell.DENIED
    assert expected["green/a", "blue/a:8082/udp"] is Cell.DENIED
    assert len(expected.cells) == 12, "every probed pair has its cell"
    assert not expected.incomplete()


def test_a_pair_no_rule_covers_is_not_required() -> None:
    """from_outside.feature has no udp column: the UDP targets stay UNOBSERVED, never assumed denied."""
    outside = ProbePod("", "", "", "outside", "outside", "")
    pairs = [(outside, GREEN_A, t) for t in pod_targets([GREEN_A])]
    rules = requirement_rules(feature_table("network/from_outside.feature"))
    expected = expected_matrix([outside], [t.column for _s, _o, t in pairs], pairs, rules, kind_of_target)
    assert expected["outside", "green/a:8080/tcp"] is Cell.DENIED
    assert expected["outside", "green/a:8082/udp"] is Cell.UNOBSERVED
    assert ("outside", "green/a:8082/udp") not in expected.cells


def test_a_plan_rule_is_resolved_for_each_source() -> None:
    egress = {"blue": False, "green": True}  # as the pks plans small and medium say

    def resolve(source: ProbePod, value: str) -> Cell:
        if value != AS_PLAN_SAYS:
            return literal(source, value)
        return Cell.ALLOWED if egress[source.tenant] else Cell.DENIED

    api = ProbePod("blue", "pks-shared", "", "kubernetes", "api-server", "10.96.0.1")
    target = Target("pks-shared/API server:443/tcp", "10.96.0.1", 443, "tcp")
    pairs = [(BLUE_A, api, target), (GREEN_A, api, target)]
    rules = requirement_rules(feature_table("network/control_plane.feature"))
    expected = expected_matrix([BLUE_A, GREEN_A], [target.column], pairs, rules, kind_of_target, resolve)
    assert expected["blue/a", target.column] is Cell.DENIED
    assert expected["green/a", target.column] is Cell.ALLOWED


# --- RBAC: the access matrix the model requires ------------------------------------------------------

PODS = ApiResource("", "v1", "pods", "Pod", True, ("get", "list", "watch", "create", "delete"))
SECRETS = ApiResource("", "v1", "secrets", "Secret", True, ("get", "list", "watch"))
NAMESPACES = ApiResource("", "v1", "namespaces", "Namespace", False, ("get", "list"))
CLUSTER_ROLES = ApiResource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, ("get", "create"))
SSAR = ApiResource(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ("create",)
)
RESOURCES = [PODS, SECRETS, NAMESPACES, CLUSTER_ROLES, SSAR]


@pytest.fixture(scope="module")
def shared() -> tuple[ProvisionedTenancy, ProvisionedCluster]:
    """pks's shared cluster of the default targets file: tenants blue and green, certificate identities."""
    model = load_targets(DEFAULT_TARGETS).model
    handle = ClusterHandle(
        "pks-shared", "pks", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "lab"
    )
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    cluster = ProvisionedCluster(handle, model.tenants["pks"][:2])
    tenancy.clusters.append(cluster)
    return tenancy, cluster


def cells(questions: list[rbac.Question]) -> dict[tuple[str, str], Cell]:
    return {(q.probe.row, q.probe.column): q.expected for q in questions}


def test_tenant_roles_in_their_own_namespace_and_nothing_in_the_others(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    tenancy, cluster = shared
    questions = rbac.namespaced_questions(tenancy, cluster, RESOURCES)
    assert len(questions) == 6 * 2 * (5 + 3), "identities x tenant namespaces x namespaced verbs"
    assert {q.scope for q in questions} == {"namespaced"}
    got = cells(questions)
    assert got["blue-viewer", "tenant-blue: list pods"] is Cell.ALLOWED
    assert got["blue-viewer", "tenant-blue: create pods"] is Cell.DENIED
    assert got["blue-viewer", "tenant-blue: get secrets"] is Cell.DENIED, "view reads no secrets"
    assert got["blue-developer", "tenant-blue: create pods"] is Cell.ALLOWED
    assert got["blue-developer", "tenant-blue: get secrets"] is Cell.ALLOWED
    assert got["blue-admin", "tenant-blue: delete pods"] is Cell.ALLOWED
    assert all(
        cell is Cell.DENIED for (row, column), cell in got.items() if row.startswith("blue-") and "green" in column
    )
    assert all(
        cell is Cell.DENIED for (row, column), cell in got.items() if row.startswith("green-") and "blue" in column
    )


def test_cluster_scoped_resources_are_denied_to_every_tenant_identity_except_self_reviews(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    _tenancy, cluster = shared
    questions = rbac.cluster_scoped_questions(cluster, RESOURCES)
    assert len(questions) == 6 * (2 + 2)
    assert {q.expected for q in questions} == {Cell.DENIED}
    assert {q.scope for q in questions} == {"cluster"}
    assert not [q for q in questions if "selfsubjectaccessreviews" in q.probe.column]
    assert cells(questions)["green-admin", "(cluster): create clusterroles.rbac.authorization.k8s.io"] is Cell.DENIED


def test_provider_namespaces_and_all_namespace_lists_are_denied_secrets_asked_first(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    tenancy, cluster = shared
    questions = rbac.provider_questions(tenancy, cluster, RESOURCES, ["kube-system"])
    assert {q.expected for q in questions} == {Cell.DENIED}
    assert {q.scope for q in questions} == {"provider"}
    admin = [q.probe.column for q in questions if q.probe.row == "blue-admin"]
    assert admin[:8] == [f"kube-system: {verb} pods" for verb in PODS.verbs] + [
        f"kube-system: {verb} secrets" for verb in SECRETS.verbs
    ]
    assert admin[8:] == [
        "(all namespaces): list secrets",
        "(all namespaces): watch secrets",
        "(all namespaces): list pods",
        "(all namespaces): watch pods",
    ]


def test_a_documented_public_read_is_allowed_exactly_as_documented(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    tenancy, cluster = shared
    scope = rbac.ProviderScope(public_reads=(PublicRead("kube-system", "pods", ("list",)),))
    got = cells(rbac.provider_questions(tenancy, cluster, RESOURCES, ["kube-system"], scope))
    assert got["green-viewer", "kube-system: list pods"] is Cell.ALLOWED
    assert got["green-viewer", "kube-system: get pods"] is Cell.DENIED
    assert got["green-viewer", "kube-system: list secrets"] is Cell.DENIED
    assert got["green-viewer", "(all namespaces): list pods"] is Cell.DENIED


def test_non_resource_paths_follow_the_default_discovery_roles_unless_the_targets_file_lists_them(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    tenancy, cluster = shared
    default = cells(path_questions.non_resource_questions(tenancy, cluster))
    allowed = {c for (row, c), cell in default.items() if row == "blue-viewer" and cell is Cell.ALLOWED}
    assert allowed == {"get /version", "get /healthz", "get /livez", "get /readyz", "get /api", "get /apis"}
    assert default["blue-admin", "get /metrics"] is Cell.DENIED
    documented = cells(
        path_questions.non_resource_questions(tenancy, cluster, rbac.ProviderScope(non_resource_reads=("/api",)))
    )
    assert {c for (row, c), cell in documented.items() if row == "blue-viewer" and cell is Cell.ALLOWED} == {"get /api"}


def test_without_credentials_only_public_info_is_open(shared: tuple[ProvisionedTenancy, ProvisionedCluster]) -> None:
    tenancy, cluster = shared
    questions = path_questions.anonymous_questions(tenancy, cluster, RESOURCES)
    assert {q.probe.row for q in questions} == {ANONYMOUS}
    assert all(q.probe.anonymous for q in questions)
    got = {column: cell for (_row, column), cell in cells(questions).items()}
    assert {c for c, cell in got.items() if cell is Cell.ALLOWED} == {
        "get /version",
        "get /healthz",
        "get /livez",
        "get /readyz",
    }, "system:public-info-viewer; discovery (/api, /apis) needs credentials"
    assert got["kube-system: list secrets"] is Cell.DENIED
    assert got["(cluster): list pods"] is Cell.DENIED
    none = cells(
        path_questions.anonymous_questions(tenancy, cluster, RESOURCES, rbac.ProviderScope(anonymous_reads=()))
    )
    assert set(none.values()) == {Cell.DENIED}


def test_request_of_groups_gives_the_anonymous_user_no_authenticated_group() -> None:
    attributes = {"verb": "list", "group": "", "resource": "pods", "namespace": "tenant-blue"}
    anonymous = path_questions.request_of_groups(ANONYMOUS, ("blue:members",), attributes)
    assert anonymous.groups == ("system:unauthenticated",)
    viewer = path_questions.request_of_groups("blue-viewer", ("blue:viewers", "blue:members"), attributes)
    assert viewer.groups == ("blue:viewers", "blue:members", "system:authenticated")
    assert (viewer.user, viewer.verb, viewer.resource, viewer.namespace) == (
        "blue-viewer",
        "list",
        "pods",
        "tenant-blue",
    )


def test_the_expected_matrix_keeps_the_questions_order_once_and_by_column_finds_each_question(
    shared: tuple[ProvisionedTenancy, ProvisionedCluster],
) -> None:
    tenancy, cluster = shared
    questions = rbac.own_namespace_controls(cluster, RESOURCES) + rbac.namespaced_questions(tenancy, cluster, RESOURCES)
    expected = rbac.expected_matrix(questions)
    assert expected.rows == (
        "blue-admin",
        "blue-developer",
        "blue-viewer",
        "green-admin",
        "green-developer",
        "green-viewer",
    )
    assert expected.columns[:2] == ("tenant-blue: list pods", "tenant-green: list pods")
    assert len(expected.columns) == len(set(expected.columns)) == 2 * 8
    assert expected["green-viewer", "tenant-green: list pods"] is Cell.ALLOWED
    assert expected["green-viewer", "tenant-blue: list pods"] is Cell.DENIED
    assert not expected.incomplete(), "every identity is asked every column"
    by_column = rbac.by_column(questions)
    assert set(by_column) == set(expected.columns)
    assert by_column["tenant-green: get secrets"].probe.column == "tenant-green: get secrets"
    assert rbac.row_of(cluster.identities[0]) == "blue-admin"
