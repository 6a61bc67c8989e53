"""Steps of the RBAC checks: ask as the tenants' identities, three ways, compare with the model."""

from __future__ import annotations

import dataclasses

import pytest
from pytest_bdd import parsers, scenarios, then, when

from checks.matrix import Matrix
from checks.network.probe import ProbePod
from checks.rbac.agreement import judge_agreement
from checks.rbac.attempts import observe_attempts, table_rows
from checks.rbac.credentials import credential_matrices, judge_credentials, not_applicable
from checks.rbac.delegation import Delegation, decide_delegation, delegate
from checks.rbac.federation import federate, judge_crafted_groups, observe_crafted_groups
from checks.rbac.federation_clusters import judge_clusters, observe_clusters
from checks.rbac.federation_membership import judge_membership, observe_membership
from checks.rbac.federation_rights import judge_rights, observe_rights
from checks.rbac.federation_setup import Federated
from checks.rbac.matrix import (
    AccessRun,
    judge_scope,
    observe_cluster,
    shared_cluster,
)
from checks.rbac.product_scope import provider_onboarding, provider_scope
from checks.rbac.reach import attach_and_judge, observe_paths, observe_service_accounts, observe_streams
from checks.rbac.rendering import attach_comparison, attach_ways
from checks.verdicts import Observed, require
from harness.settings import Settings
from provisioning.model.needs import applicable
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

scenarios("rbac")


def _shared(tenancy: ProvisionedTenancy) -> ProvisionedCluster:
    return applicable(shared_cluster(tenancy), "needs_two_tenants_on_a_cluster")


@pytest.fixture(scope="session")
def access_run(tenancy: ProvisionedTenancy, settings: Settings) -> AccessRun:
    """The whole matrix of a product's shared cluster, observed once per product."""
    cluster = _shared(tenancy)
    scope = provider_scope(settings, tenancy.product.name)
    run, _ = observe_cluster(tenancy, cluster, scope=scope, **dataclasses.asdict(settings.covering))
    return run


@when(
    "every tenant identity on a shared cluster asks for every verb on every resource the API serves",
    target_fixture="observed_run",
)
def ask_everything(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> AccessRun:
    _shared(tenancy)
    run: AccessRun = request.getfixturevalue("access_run")
    return run


@then("every cluster-scoped request is denied while each identity can work in its own namespace")
def cluster_scope_denied(observed_run: AccessRun) -> None:
    judge_scope(observed_run, "cluster", "cluster-scoped access")


@then("the observed access in the tenant namespaces is exactly what the tenancy model requires")
def namespaces_as_modelled(observed_run: AccessRun) -> None:
    judge_scope(observed_run, "namespaced", "tenant namespace access")


@then(
    "in every namespace of no tenant, and across all namespaces at once, only the reads the product documents"
    " as public are allowed, while each identity can work in its own namespace"
)
def provider_namespaces_closed(observed_run: AccessRun) -> None:
    judge_scope(observed_run, "provider", "namespaces of no tenant and all namespaces")


@then(
    "the observed access to every subresource is exactly what the tenancy model requires, while each identity"
    " can work in its own namespace"
)
def subresources_as_modelled(observed_run: AccessRun) -> None:
    judge_scope(observed_run, "subresource", "subresources")


@when(
    "every tenant identity on a shared cluster opens exec, attach and port-forward streams into a pod of every"
    " tenant, over WebSocket and over SPDY",
    target_fixture="streams",
)
def open_streams(tenancy: ProvisionedTenancy, probe_pods: list[ProbePod], settings: Settings) -> AccessRun:
    cluster = _shared(tenancy)
    namespaces = {t.namespace for t in cluster.tenants}
    pods = {p.namespace: p.name for p in sorted(probe_pods, key=lambda p: p.name) if p.namespace in namespaces}
    return observe_streams(tenancy, cluster, pods, settings.covering)


@then(
    "the streams that open are exactly the ones the tenancy model allows, and each tenant's admins open theirs"
    " in their own namespace"
)
def streams_as_modelled(streams: AccessRun) -> None:
    attach_and_judge([("streams", streams)])


@when(
    "the default service account and one its admin bound to view, of every tenant on a shared cluster, ask with"
    " tokens their tenant requested for every verb on every resource in every namespace and cluster-wide, and to"
    " relabel their namespace",
    target_fixture="account_run",
)
def ask_as_service_accounts(tenancy: ProvisionedTenancy, settings: Settings) -> AccessRun:
    cluster = _shared(tenancy)
    scope = provider_scope(settings, tenancy.product.name)
    enforce = settings.timeouts.enforce
    return observe_service_accounts(tenancy, cluster, scope, settings.run_id, enforce, covering=settings.covering)


@then(
    "each service account can do exactly what its tenant granted it in its own namespace and nothing elsewhere,"
    " the three ways agreeing"
)
def accounts_as_granted(account_run: AccessRun) -> None:
    attach_and_judge([("service accounts", account_run)])


@when(
    "every tenant identity on a shared cluster, and a client without credentials, asks for the API server's"
    " metrics, logs, debug handlers, configuration, version and health, and without credentials for secrets,"
    " namespaces and pods",
    target_fixture="path_runs",
)
def ask_paths(tenancy: ProvisionedTenancy, settings: Settings) -> tuple[AccessRun, AccessRun]:
    return observe_paths(tenancy, _shared(tenancy), provider_scope(settings, tenancy.product.name), settings.covering)


@then(
    "only what the product documents answers: tenants read no metrics, logs, debug handlers or configuration,"
    " and a request without credentials gets nothing but the documented public paths, the ways agreeing"
)
def paths_as_documented(path_runs: tuple[AccessRun, AccessRun]) -> None:
    attach_and_judge(list(zip(("tenants' paths", "without credentials"), path_runs, strict=True)))


@then("the ways of observing that can answer agree on every cell")
def ways_agree(observed_run: AccessRun) -> None:
    judge_agreement(observed_run, "whole matrix")


@when("every tenant identity on a shared cluster tries to:", target_fixture="attempts")
def try_attempts(tenancy: ProvisionedTenancy, settings: Settings, datatable: list[list[str]]) -> AccessRun:
    existing = provider_onboarding(settings, tenancy.product.name)
    rows = table_rows(datatable)
    return observe_attempts(tenancy, _shared(tenancy), rows, provider_onboarding=existing, covering=settings.covering)


@then("every attempt is denied")
def every_attempt_denied(attempts: AccessRun) -> None:
    comparison = attempts.compare()
    attach_comparison(comparison, "attempts", attempts.ways_report())
    attach_ways(attempts.observation, "attempts")
    require(comparison, comparison.render() + "\n" + attempts.ways_report())


@when(
    parsers.parse('a tenant admin grants its developers "{verb}" on "{resource}" with a role of its own'),
    target_fixture="delegation",
)
def admin_delegates(
    tenancy: ProvisionedTenancy, settings: Settings, verb: str, resource: str, request: pytest.FixtureRequest
) -> Delegation:
    existing = provider_onboarding(settings, tenancy.product.name)
    cluster = _shared(tenancy)
    return delegate(tenancy, cluster, verb, resource, settings.run_id, request.addfinalizer, as_authenticated=existing)


@then(parsers.parse('its developers can "{verb}" "{resource}" in their namespace, and could not before'))
def developers_can_now(delegation: Delegation, settings: Settings) -> None:
    decide_delegation(delegation, settings.timeouts.enforce)


@when(
    "every tenant identity presents its credentials to every cluster of the product",
    target_fixture="credentials_per_cluster",
)
def present_credentials(tenancy: ProvisionedTenancy) -> tuple[Matrix, Matrix]:
    # The one exception to provisioning.model.needs' rule (a scenario's applicability comes from its
    # @needs_* tags, before its first step): whether the backend's tenant credentials can be carried to
    # another cluster (a certificate or token, not a kubeconfig nor the admin impersonating) only the
    # provisioned tenancy shows, since a backend may fall back to impersonation per identity. The skip
    # comes before any verdict of the scenario, so it hides no PASS of it.
    reason = not_applicable(tenancy)
    if reason:
        pytest.skip(reason)
    return credential_matrices(tenancy)


@then("each identity is authenticated on its own cluster only")
def own_cluster_only(credentials_per_cluster: tuple[Matrix, Matrix]) -> None:
    judge_credentials(credentials_per_cluster)


@pytest.fixture(scope="session")
def federated(tenancy: ProvisionedTenancy, settings: Settings) -> Federated:
    """The lab's broker set up once for the product's federation checks (@needs_identity_broker)."""
    return federate(tenancy, settings)


@when(
    "each customer's IdP names a user in groups crafted like other customers', the provider's and system: groups",
    target_fixture="crafted_groups",
)
def craft_groups(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> dict[str, Observed]:
    return observe_crafted_groups(tenancy, request.getfixturevalue("federated"))


@then("the cluster puts each such user in its own customer's groups only")
def crafted_groups_inside(crafted_groups: dict[str, Observed]) -> None:
    judge_crafted_groups(crafted_groups)


@when(
    "a user of each customer's IdP in its developers' groups asks the cluster what it may do in every tenant namespace",
    target_fixture="brokered_rights",
)
def ask_brokered_rights(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> dict[str, Observed]:
    return observe_rights(tenancy, request.getfixturevalue("federated"))


@then("it holds exactly the rules of the customer's developer identity in each of them")
def exactly_developer_rights(brokered_rights: dict[str, Observed]) -> None:
    judge_rights(brokered_rights)


@when(
    "a user of each customer's IdP presents its token from the broker to every cluster of the product",
    target_fixture="brokered_tokens",
)
def present_brokered_tokens(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> dict[str, Observed]:
    return observe_clusters(tenancy, request.getfixturevalue("federated"))  # @needs_two_clusters


@then("each token is accepted by its own customer's cluster only")
def own_cluster_tokens_only(brokered_tokens: dict[str, Observed]) -> None:
    judge_clusters(brokered_tokens)


@when(
    "the customer's IdP gives a user of no group its developers' groups and then takes them away",
    target_fixture="membership_changes",
)
def change_membership(tenancy: ProvisionedTenancy, request: pytest.FixtureRequest) -> dict[str, Observed]:
    return observe_membership(tenancy, request.getfixturevalue("federated"))


@then("the user's next token after each change has the access the IdP says, in seconds")
def access_follows_the_idp(membership_changes: dict[str, Observed]) -> None:
    judge_membership(membership_changes)
