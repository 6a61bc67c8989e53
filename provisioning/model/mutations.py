"""Mutations: onboarding with one fence removed or weakened on purpose, to show that the checks
depending on it then fail (a check that still passes proves nothing about that fence)."""

from __future__ import annotations

import enum


class Mutation(enum.StrEnum):
    NETWORK_POLICIES = "network-policies"  # no default-deny, allow-same-tenant, allow-dns, allow-control-plane
    POD_SECURITY = "pod-security"  # namespaces without pod-security labels
    QUOTA = "quota"  # no ResourceQuota, no LimitRange
    CLUSTER_ADMIN = "cluster-admin"  # tenant admins bound to cluster-admin cluster-wide
    ONBOARDING_PROTECTION = "onboarding-protection"  # no admission policy guarding onboarding's objects


# The checks each mutation must turn red: deny checks that depend on the removed fence.
MUST_FAIL: dict[Mutation, tuple[str, ...]] = {
    Mutation.NETWORK_POLICIES: ("check_net_001", "check_net_003", "check_net_004", "check_net_007"),
    Mutation.POD_SECURITY: ("check_priv_001", "check_priv_003"),
    Mutation.QUOTA: ("check_priv_005", "check_sto_005"),
    Mutation.CLUSTER_ADMIN: ("check_priv_004", "check_sto_003", "check_rbac_001", "check_rbac_002", "check_rbac_003"),
    Mutation.ONBOARDING_PROTECTION: ("check_rbac_004",),
}
