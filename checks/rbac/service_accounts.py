"""Tenants' service accounts as identities: each tenant's `default` service account and one the tenant
admin creates and binds to `view` in its namespace, observed with tokens the tenant admin requests from
the TokenRequest API (as a workload's projected token would be).

The API server names a service account `system:serviceaccount:<namespace>:<name>` in the groups
`system:serviceaccounts` and `system:serviceaccounts:<namespace>` (kubernetes.io, "Service account
tokens"); a provider binding to either group reaches every tenant's workloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.matrix import Cell
from checks.rbac.access import Probe, resource_probe
from checks.rbac.discovery import ApiResource
from provisioning.kube import client as kube
from provisioning.model.access import service_account_request
from provisioning.model.onboarding import labels
from provisioning.model.rbac import RbacPolicy
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedCluster

BUILDER = "caas-builder"  # the service account a tenant creates for its workloads
TOKEN_SECONDS = 600  # the shortest a TokenRequest may ask for is 600 s
RBAC_GROUP = "rbac.authorization.k8s.io"
# The introspection APIs every authenticated user may call about itself: not part of the boundary.
SELF_REVIEWS = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews")


@dataclass(frozen=True)
class ServiceAccount:
    """A tenant's service account as the API server sees it."""

    tenant: str
    namespace: str
    name: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> tuple[str, ...]:
        return ("system:serviceaccounts", f"system:serviceaccounts:{self.namespace}")


def service_accounts(tenants: Sequence[Tenant]) -> list[ServiceAccount]:
    return [ServiceAccount(t.name, t.namespace, name) for t in tenants for name in ("default", BUILDER)]


def tenant_grants(tenant: Tenant, run_id: str) -> list[dict[str, Any]]:
    """What the tenant admin makes for its workloads: the builder service account, bound to view."""
    meta = {"name": BUILDER, "namespace": tenant.namespace, "labels": labels(run_id, tenant.name)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": BUILDER, "namespace": tenant.namespace}],
        },
    ]


def grant(api: Any, tenant: Tenant, run_id: str) -> None:
    """Create the tenant's grants as the tenant admin (`api`); an existing one (another worker) is kept."""
    paths = {
        "ServiceAccount": f"/api/v1/namespaces/{tenant.namespace}/serviceaccounts",
        "RoleBinding": f"/apis/{RBAC_GROUP}/v1/namespaces/{tenant.namespace}/rolebindings",
    }
    for manifest in tenant_grants(tenant, run_id):
        try:
            kube.request(api, "POST", paths[manifest["kind"]], body=manifest)
        except kube.ApiFailure as failure:
            if failure.status != 409:
                raise


def request_token(api: Any, account: ServiceAccount) -> str:
    """A token for `account` from the TokenRequest API, asked by the tenant admin (`api`); ApiFailure
    if refused. The token is registered for redaction by the client made from it."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": TOKEN_SECONDS},
    }
    path = f"/api/v1/namespaces/{account.namespace}/serviceaccounts/{account.name}/token"
    answer = kube.request(api, "POST", path, body=body)
    return str(answer["status"]["token"])


def client_maker(cluster: ProvisionedCluster, token: str) -> Callable[[], Any]:
    """A maker of fresh clients that present `token` to `cluster`."""
    target = kube.Cluster(cluster.handle.server, cluster.handle.ca_pem)
    return lambda: kube.api_client(target, token=token)


def expected(policy: RbacPolicy, account: ServiceAccount, probe: Probe) -> Cell:
    a = probe.attributes
    request = service_account_request(
        account.user,
        account.groups,
        a["verb"],
        a["group"],
        a["resource"],
        a["namespace"],
        a.get("name", ""),
        a.get("subresource", ""),
    )
    return Cell.ALLOWED if policy.allows(request) else Cell.DENIED


def relabel_namespace(account: ServiceAccount) -> Probe:
    """Dry-run relabel of the account's own namespace to a weaker pod-security level."""
    ns = account.namespace
    attributes = {"verb": "patch", "group": "", "resource": "namespaces", "namespace": ns, "name": ns}
    patch = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
    return Probe(
        account.user,
        account.user,
        "relabel its own namespace",
        attributes,
        "PATCH",
        f"/api/v1/namespaces/{ns}",
        patch,
        {"dryRun": "All"},
        "application/merge-patch+json",
    )


def account_probes(account: ServiceAccount, resources: Sequence[ApiResource], namespaces: Sequence[str]) -> list[Probe]:
    """Every verb on every namespaced resource in each of `namespaces`, every verb on every cluster-scoped
    resource (self reviews aside), and the relabel of its own namespace."""
    probes = [
        resource_probe(account.user, account.user, r, verb, ns)
        for ns in namespaces
        for r in resources
        if r.namespaced
        for verb in r.verbs
    ]
    probes += [
        resource_probe(account.user, account.user, r, verb, "")
        for r in resources
        if not r.namespaced and r.name not in SELF_REVIEWS
        for verb in r.verbs
    ]
    return [*probes, relabel_namespace(account)]


def extra_identities(
    makers: Mapping[str, Callable[[], Any]], accounts: Sequence[ServiceAccount]
) -> dict[str, tuple[Callable[[], Any], tuple[str, ...]]]:
    """user -> (client maker, groups) for the AccessObserver."""
    return {a.user: (makers[a.user], a.groups) for a in accounts}
