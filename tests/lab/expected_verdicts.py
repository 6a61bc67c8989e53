"""The verdict of every check on each lab product when nothing is wrong: what the products' documented
defaults imply (`cfcr`: no NetworkPolicy enforcement, ABAC; `pks`: enforced policies, RBAC, plans). The
main job's test asserts exactly these; the fault tests assert that the checks a fault did not hit keep them."""

from __future__ import annotations

EXPECTED = {
    ("check_smoke_001", "cfcr"): "pass",
    ("check_smoke_001", "pks"): "pass",
    ("check_provisioning_001", "cfcr"): "pass",
    ("check_provisioning_001", "pks"): "pass",
    ("check_provisioning_002", "cfcr"): "skipped",  # the example gives cfcr no dedicated tenant
    ("check_provisioning_002", "pks"): "pass",
    ("check_provisioning_003", "cfcr"): "skipped",  # the example gives cfcr no mixed tenancy
    ("check_provisioning_003", "pks"): "pass",
    ("check_network_001", "cfcr"): "fail",  # flannel does not enforce: tenants reach each other
    ("check_network_001", "pks"): "pass",
    ("check_network_002", "cfcr"): "skipped",  # the example gives cfcr no dedicated cluster
    ("check_network_002", "pks"): "pass",
    ("check_network_003", "cfcr"): "fail",  # policies accepted, never enforced
    ("check_network_003", "pks"): "pass",
    ("check_network_004", "cfcr"): "fail",  # service addresses answer every tenant
    ("check_network_004", "pks"): "pass",
    ("check_network_005", "cfcr"): "pass",  # DNS works on both
    ("check_network_005", "pks"): "pass",
    ("check_network_006", "cfcr"): "pass",  # pod and service networks are not routed outside the cluster
    ("check_network_006", "pks"): "pass",
    ("check_network_007", "cfcr"): "fail",  # kubelets and the API server open to every pod
    ("check_network_007", "pks"): "pass",
    ("check_network_008", "cfcr"): "fail",  # no DenyServiceExternalIPs, services/status writable: traffic captured
    ("check_network_008", "pks"): "pass",  # DenyServiceExternalIPs; onboarding's egress names its destinations
    ("check_network_009", "cfcr"): "fail",  # nothing enforced: the flows the changes close stay open
    ("check_network_009", "pks"): "pass",  # kube-router follows each change within the deadline
    ("check_network_010", "cfcr"): "pass",  # the default plan allows every Service type
    ("check_network_010", "pks"): "pass",  # onboarding's admission policy holds small and medium to their types
    ("check_network_011", "cfcr"): "pass",  # CoreDNS answers every name to every pod, as the plans state
    ("check_network_011", "pks"): "pass",
    ("check_privileged_001", "cfcr"): "pass",  # baseline: privileged refused by API validation, the rest by PodSecurity
    ("check_privileged_001", "pks"): "pass",
    ("check_privileged_002", "cfcr"): "skipped",  # the example gives cfcr no dedicated tenant
    ("check_privileged_002", "pks"): "pass",  # red's large plan: privileged pods admitted and running
    ("check_privileged_003", "cfcr"): "pass",
    ("check_privileged_003", "pks"): "pass",
    ("check_privileged_004", "cfcr"): "fail",  # ABAC "*" on the namespace lets a tenant relabel it to privileged
    ("check_privileged_004", "pks"): "pass",
    ("check_privileged_005", "cfcr"): "pass",
    ("check_privileged_005", "pks"): "pass",
    ("check_privileged_006", "cfcr"): "fail",  # no AlwaysPullImages: green runs blue's cached private image
    (
        "check_privileged_006",
        "pks",
    ): "fail",  # likewise (the lab profile pks-always-pull passes: nightly test_private_images)
    ("check_privileged_007", "cfcr"): "pass",  # default plan: configmaps and secrets filled, one more refused by quota
    ("check_privileged_007", "pks"): "pass",  # small plan's counts; medium and large promise none (n/a rows)
    ("check_privileged_008", "cfcr"): "fail",  # no limitedResources, no policy: system-cluster-critical admitted
    ("check_privileged_008", "pks"): "fail",  # likewise (the API server stopped confining them to kube-system in v1.17)
    ("check_storage_001", "cfcr"): "pass",
    ("check_storage_001", "pks"): "pass",
    ("check_storage_002", "cfcr"): "pass",
    ("check_storage_002", "pks"): "pass",
    ("check_storage_003", "cfcr"): "pass",  # ABAC lines are per namespace: no cluster-scoped volume rights
    ("check_storage_003", "pks"): "pass",
    ("check_storage_004", "cfcr"): "pass",  # the reclaim alone, on the one shared cluster
    ("check_storage_004", "pks"): "pass",
    ("check_storage_005", "cfcr"): "pass",
    ("check_storage_005", "pks"): "pass",
    ("check_storage_006", "cfcr"): "pass",  # the lab's provisioner gives every Block claim a fresh sparse file
    ("check_storage_006", "pks"): "pass",
    ("check_storage_007", "cfcr"): "pass",  # blue and green share the cluster: green's new claim is a new, empty volume
    ("check_storage_007", "pks"): "pass",
    ("check_rbac_001", "cfcr"): "fail",  # ABAC: tenants relabel and delete their own namespace
    ("check_rbac_001", "pks"): "pass",
    ("check_rbac_002", "cfcr"): "fail",  # ABAC knows no roles: developers act as admins, viewers read secrets
    ("check_rbac_002", "pks"): "pass",
    ("check_rbac_003", "cfcr"): "fail",  # ABAC has no bind/escalate check
    ("check_rbac_003", "pks"): "pass",
    ("check_rbac_004", "cfcr"): "fail",  # ABAC: provider objects writable, no tenant roles
    ("check_rbac_004", "pks"): "pass",  # admin/edit may write them, onboarding's admission policy refuses
    ("check_rbac_005", "cfcr"): "pass",  # request and SubjectAccessReview agree; ABAC refuses self reviews
    ("check_rbac_005", "pks"): "pass",
    ("check_rbac_006", "cfcr"): "skipped",  # the example gives cfcr no dedicated cluster
    ("check_rbac_006", "pks"): "pass",
    ("check_rbac_007", "cfcr"): "pass",  # ABAC lines name the tenant's namespace: no other, nor all at once
    ("check_rbac_007", "pks"): "pass",
    ("check_rbac_008", "cfcr"): "fail",  # ABAC knows no roles: developers write pods/status, viewers get pods/exec
    ("check_rbac_008", "pks"): "pass",
    ("check_rbac_009", "cfcr"): "fail",  # ABAC read-only lines let a viewer's WebSocket exec (a GET) in
    ("check_rbac_009", "pks"): "pass",
    (
        "check_rbac_010",
        "cfcr",
    ): "fail",  # ABAC ignores the tenant's RoleBinding: its builder cannot do what it was given
    ("check_rbac_010", "pks"): "pass",
    ("check_rbac_011", "cfcr"): "fail",  # ABAC: every authenticated user reads every non-resource path
    ("check_rbac_011", "pks"): "pass",
    # identity federation (#24): the example names no broker (tests/lab/data/targets_broker.yaml does)
    **{(f"check_rbac_{n}", p): "skipped" for n in ("012", "013", "014", "015") for p in ("cfcr", "pks")},
}
