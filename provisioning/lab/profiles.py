"""Product profiles of the embedded lab: the products' documented defaults, as data.

Each option carries the product fact it mirrors, so a reader of a report can
tell why the lab's `cfcr` cluster behaves differently from its `pks` cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from provisioning.model.mutations import Mutation
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
        "admission_plugins": "kubo-release's API server predates DenyServiceExternalIPs (Kubernetes 1.21): "
        "whoever may create Services may give them externalIPs (CVE-2020-8554).",
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
    admission_plugins=(*_DEFAULT_ADMISSION, "DenyServiceExternalIPs"),
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
        "admission_plugins": "DenyServiceExternalIPs refuses every new Service externalIP (CVE-2020-8554: a tenant "
        "could capture other tenants' traffic to any address); Kubernetes' own mitigation since 1.21, which the "
        "lab's pks turns on as a hardened product would.",
    },
)

# The lab's pks with the API server's DenyServiceExternalIPs left out: the provider mistake of the mutation
# external-ips-admitted, a profile of its own so that a cluster's recorded profile says how it was started.
PKS_EXTERNAL_IPS_ADMITTED = replace(
    PKS,
    name="pks-external-ips-admitted",
    admission_plugins=_DEFAULT_ADMISSION,
    facts={**PKS.facts, "admission_plugins": "mutation external-ips-admitted: no DenyServiceExternalIPs"},
)

# The lab's pks with AlwaysPullImages: a product that forces every pod to pull its images with its own
# credentials, so that a tenant's private image cached on a shared node is no other tenant's to run
# (tests/lab/test_private_images.py). Not the lab's pks itself: the lab's preloaded images (pull policy
# Never) are in no registry, and AlwaysPullImages turns Never into Always; so a cluster of it starts as pks
# and switches its API server once ready (LabCluster.switch_api_server): `caas lab up --profile
# pks-always-pull` waits in vain for its readiness pod.
PKS_ALWAYS_PULL = replace(
    PKS,
    name="pks-always-pull",
    admission_plugins=(*PKS.admission_plugins, "AlwaysPullImages"),
    facts={
        **PKS.facts,
        "admission_plugins": "AlwaysPullImages sets every container's imagePullPolicy to Always, so a node's "
        "cached private image reaches only pods whose pull secrets the registry accepts (kubectl-mtb "
        "MTB-PL1-CC-DI-1).",
    },
)

PROFILES: dict[str, LabProfile] = {p.name: p for p in (CFCR, PKS, PKS_EXTERNAL_IPS_ADMITTED, PKS_ALWAYS_PULL)}


def profile_under(name: str, mutation: Mutation | None) -> str:
    """The lab profile a cluster of profile `name` starts with under `mutation` (its own name unless the
    mutation changes how the product's API server runs)."""
    if mutation is Mutation.EXTERNAL_IPS_ADMITTED and name == PKS.name:
        return PKS_EXTERNAL_IPS_ADMITTED.name
    return name
