"""A plan's Service types (issue 20): the targets field, and the admission policy onboarding binds to a
restricted tenant's namespace (pure)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from checks.network.service_types import service_of_type
from harness.targets import PlanSpec
from provisioning.model.onboarding import RUN_ID, TENANT, service_type_manifests
from provisioning.model.tenancy import SERVICE_TYPES, Plan, Tenant


def test_a_plan_allows_every_type_unless_it_says_otherwise() -> None:
    assert PlanSpec(name="small").service_types == list(SERVICE_TYPES)
    assert Plan("small").service_types == SERVICE_TYPES


def test_a_plan_without_cluster_ip_or_with_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="must include ClusterIP"):
        PlanSpec(name="small", service_types=["NodePort"])
    with pytest.raises(ValidationError, match="unknown Service type"):
        PlanSpec(name="small", service_types=["ClusterIP", "Headless"])


def test_a_plan_of_every_type_needs_no_admission_policy() -> None:
    assert service_type_manifests(Tenant("blue", "large"), Plan("large"), "run-1") == []


def test_a_restricted_plan_binds_a_policy_to_the_tenants_namespace_only() -> None:
    plan = Plan("medium", service_types=("ClusterIP", "LoadBalancer"))
    policy, binding = service_type_manifests(Tenant("green", "medium"), plan, "run-1")
    assert policy["kind"] == "ValidatingAdmissionPolicy"
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    constraints = policy["spec"]["matchConstraints"]
    assert constraints["namespaceSelector"] == {"matchLabels": {TENANT: "green", RUN_ID: "run-1"}}
    assert constraints["resourceRules"][0]["resources"] == ["services"]
    expression = policy["spec"]["validations"][0]["expression"]
    assert expression == "!has(object.spec.type) || object.spec.type in ['ClusterIP', 'LoadBalancer']"


def test_the_check_asks_for_every_type_with_what_that_type_needs() -> None:
    external = service_of_type("ExternalName", "run-1", "blue")
    assert external["spec"] == {"type": "ExternalName", "externalName": "example.com"}
    assert {service_of_type(t, "run-1", "blue")["spec"]["type"] for t in SERVICE_TYPES} == set(SERVICE_TYPES)
