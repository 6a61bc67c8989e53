"""Product profiles of the embedded lab: the products' documented defaults, as data.

Each option carries the product fact it mirrors, so a reader of a report can
tell why the lab's `cfcr` cluster behaves differently from its `pks` cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from provisioning.model.tenancy import AuthorizationMode


@dataclass(frozen=True)
class LabProfile:
    name: str
    enforce_network_policy: bool
    isolate_cluster_networks: bool
    authorization: AuthorizationMode
    token_authentication: bool
    oidc: bool
    allow_privileged: bool
    admission_plugins: tuple[str, ...]
    facts: dict[str, str] = field(default_factory=dict)

    def with_authorization(self, mode: AuthorizationMode) -> LabProfile:
        return replace(self, authorization=mode)


_DEFAULT_ADMISSION = (
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "ResourceQuota",
    "PodSecurity",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "NodeRestriction",
)

CFCR = LabProfile(
    name="cfcr",
    enforce_network_policy=False,
    isolate_cluster_networks=False,
    authorization=AuthorizationMode.ABAC,
    token_authentication=True,
    oidc=False,
    allow_privileged=False,
    admission_plugins=_DEFAULT_ADMISSION,
    facts={
        "enforce_network_policy": "CFCR ships only flanneld; flannel does not implement NetworkPolicy, so policies "
        "are accepted and not enforced (flannel README; kubo-release jobs).",
        "isolate_cluster_networks": "CFCR clusters' VMs share the vSphere network they are deployed on; "
        "nothing stops a pod of one cluster from reaching another cluster's nodes.",
        "authorization": "kubo-deployment defaulted authorization_mode to ABAC (2017-11), RBAC selectable; "
        "it switched the default to RBAC in 2018-01.",
        "token_authentication": "CFCR's API server authenticated users with static tokens from its token file.",
        "allow_privileged": "kube-apiserver allow_privileged defaults to false; the ops-file "
        "allow-privileged-containers.yml turns it on (kubo-deployment).",
    },
)

PKS = LabProfile(
    name="pks",
    enforce_network_policy=True,
    isolate_cluster_networks=True,
    authorization=AuthorizationMode.RBAC,
    token_authentication=False,
    oidc=True,
    allow_privileged=True,
    admission_plugins=_DEFAULT_ADMISSION,
    facts={
        "enforce_network_policy": "PKS with NSX-T: NCP writes NetworkPolicy rules into the distributed firewall, "
        "so policies are enforced (docs-pks network-profiles-ncp-dfw).",
        "isolate_cluster_networks": "PKS with NSX-T gives each cluster its own T1 router and logical switches "
        "(docs-pks vsphere-nsxt-cluster-objects); the lab models that as a firewall at each cluster's edge "
        "that rejects pod traffic to other clusters' nodes (an assumption of the lab, not a documented default).",
        "authorization": "PKS 1.0 plans chose RBAC or ABAC; Pivotal recommended RBAC and removed ABAC in 1.1.",
        "oidc": "PKS can use UAA as the OIDC provider of the Kubernetes API server (docs-pks _uaa); the lab "
        "gives each cluster its own issuer (caas-oidc: static users, password grant, ID tokens with a groups "
        "claim) whose users and groups the API server prefixes with oidc:.",
        "allow_privileged": "'Enable Privileged Containers' is a per-plan switch in PKS; the lab's API server "
        "allows them and each tenant namespace's pod-security level enforces its plan.",
    },
)

PROFILES: dict[str, LabProfile] = {p.name: p for p in (CFCR, PKS)}
