"""The pure tenancy model and what onboarding creates for a tenant."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provisioning.model.mutations import Mutation
from provisioning.model.onboarding import (
    COMPONENT,
    PROTECTION,
    RUN_ID,
    TENANT,
    abac_policy_lines,
    collection_path,
    protection_manifests,
    tenant_manifests,
)
from provisioning.model.tenancy import (
    AuthorizationMode,
    Placement,
    Plan,
    PodSecurityLevel,
    Product,
    Quota,
    TenancyModel,
    Tenant,
)

SMALL = Plan("small", quota=Quota(hard={"pods": "10"}, default_limits={"cpu": "250m"}))


def test_rbac_tenant_gets_bindings_policies_quota_and_limits() -> None:
    manifests = tenant_manifests(Tenant("blue", "small"), SMALL, "run-1")
    kinds = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert kinds == [
        ("Namespace", "tenant-blue"),
        ("RoleBinding", "tenant-admins"),
        ("RoleBinding", "tenant-developers"),
        ("RoleBinding", "tenant-viewers"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "allow-same-tenant"),
        ("NetworkPolicy", "allow-dns"),
        ("ResourceQuota", "tenant-quota"),
        ("LimitRange", "tenant-limits"),
    ]
    assert all(m["metadata"]["labels"][RUN_ID] == "run-1" for m in manifests)
    assert all(m["metadata"]["labels"][TENANT] == "blue" for m in manifests)
    assert manifests[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert [s["name"] for s in manifests[1]["subjects"]] == ["blue:admins"]
    assert all(m["metadata"].get("namespace") == "tenant-blue" for m in manifests[1:])


def test_abac_tenant_gets_policy_lines_instead_of_bindings() -> None:
    plan = Plan("default", authorization=AuthorizationMode.ABAC, pod_security=PodSecurityLevel.BASELINE)
    manifests = tenant_manifests(Tenant("green", "default"), plan, "run-2")
    assert "RoleBinding" not in {m["kind"] for m in manifests}
    lines = abac_policy_lines(Tenant("green", "default"))
    assert {line["group"] for line in lines} == {"green:admins", "green:developers", "green:viewers"}
    assert [line.get("readonly", False) for line in lines] == [False, False, True]
    assert all(line["namespace"] == "tenant-green" for line in lines)


def test_collection_paths() -> None:
    manifests = {m["kind"]: m for m in tenant_manifests(Tenant("blue", "small"), SMALL, "r")}
    assert collection_path(manifests["Namespace"]) == "/api/v1/namespaces"
    assert collection_path(manifests["NetworkPolicy"]) == (
        "/apis/networking.k8s.io/v1/namespaces/tenant-blue/networkpolicies"
    )


def test_the_admission_policy_guards_what_onboarding_labels_and_is_bound() -> None:
    policy, binding = protection_manifests("run-1")
    assert policy["metadata"]["name"] == binding["spec"]["policyName"] == f"{PROTECTION}-run-1"
    assert policy["metadata"]["labels"][RUN_ID] == "run-1", "swept by run id like everything else"
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    guarded = set(policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"])
    made = {m["kind"] for m in tenant_manifests(Tenant("blue", "small"), SMALL, "r")}
    plural = {"Namespace": "namespaces", "RoleBinding": "rolebindings", "NetworkPolicy": "networkpolicies"}
    plural |= {"ResourceQuota": "resourcequotas", "LimitRange": "limitranges"}
    assert {plural[kind] for kind in made} <= guarded, "every kind onboarding makes is guarded"
    assert COMPONENT in policy["spec"]["matchConditions"][0]["expression"]
    assert collection_path(policy) == "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
    assert protection_manifests("run-1", Mutation.ONBOARDING_PROTECTION) == [], "the mutation removes the fence"


names = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@given(st.lists(st.tuples(names, st.sampled_from(list(Placement))), unique_by=lambda t: t[0], max_size=8))
def test_every_tenant_lands_on_exactly_one_cluster(tenants: list[tuple[str, Placement]]) -> None:
    model = TenancyModel(
        products=(Product("p", "lab", (SMALL,)),),
        tenants={"p": tuple(Tenant(name, "small", placement) for name, placement in tenants)},
    )
    clusters = model.clusters("p")
    placed = [t.name for c in clusters for t in c.tenants]
    assert sorted(placed) == sorted(name for name, _ in tenants)
    assert len({c.name for c in clusters}) == len(clusters)
    for cluster in clusters:
        if cluster.placement is Placement.DEDICATED:
            assert len(cluster.tenants) == 1
    assert sum(c.placement is Placement.SHARED for c in clusters) == (
        1 if any(p is Placement.SHARED for _, p in tenants) else 0
    )
