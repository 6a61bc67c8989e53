"""The access questions of paths: every identity's GET of the API server's non-resource paths, and the
requests sent without credentials; expected from the targets file's documented reads, else Kubernetes'
default discovery roles (the model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checks.matrix import Cell
from checks.rbac.access import Probe
from checks.rbac.discovery import ApiResource
from checks.rbac.matrix import ProviderScope, Question, row_of
from checks.rbac.non_resource import PATHS, anonymous_probes, path_probe
from provisioning.model.access import ANONYMOUS, non_resource_request, required_policy
from provisioning.model.rbac import AUTHENTICATED, RbacPolicy, Request
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

DEFAULT_SCOPE = ProviderScope()  # Kubernetes' default paths, nothing documented


def _path_expected(
    policy: RbacPolicy, documented: tuple[str, ...] | None, user: str, groups: tuple[str, ...], probe: Probe
) -> Cell:
    """A documented list of paths decides where the targets file gives one; else the default roles do."""
    a = probe.attributes
    if "path" not in a:
        request = request_of_groups(user, groups, a)
    elif documented is not None:
        return Cell.ALLOWED if a["path"] in documented else Cell.DENIED
    else:
        request = non_resource_request(user, groups, a["path"], a["verb"])
    return Cell.ALLOWED if policy.allows(request) else Cell.DENIED


def non_resource_questions(
    tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, scope: ProviderScope = DEFAULT_SCOPE
) -> list[Question]:
    """Every identity x GET of every path of `PATHS` (metrics, logs, debug, configz, version, health,
    discovery): allowed where the targets file's non_resource_reads (or Kubernetes' default discovery
    roles) say so."""
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators, scope.public_reads)
    return [
        Question(probe, i, _path_expected(policy, scope.non_resource_reads, i.user, i.groups, probe), "nonresource")
        for i in cluster.identities
        for probe in [path_probe(i.user, row_of(i), p) for p in PATHS]
    ]


def anonymous_questions(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    scope: ProviderScope = DEFAULT_SCOPE,
) -> list[Question]:
    """Requests without credentials: every path of `PATHS` (allowed where the targets file's anonymous_reads,
    or Kubernetes' system:public-info-viewer, say so) and lists of secrets, namespaces and pods (denied)."""
    policy = required_policy(tenancy.product, cluster.tenants, cluster.authenticators, scope.public_reads)
    nobody = cluster.identities[0]  # a placeholder: the row is the anonymous user
    return [
        Question(probe, nobody, _path_expected(policy, scope.anonymous_reads, ANONYMOUS, (), probe), "anonymous")
        for probe in anonymous_probes(resources)
    ]


def request_of_groups(user: str, groups: tuple[str, ...], a: Mapping[str, str]) -> Request:
    every = ("system:unauthenticated",) if user == ANONYMOUS else (*groups, AUTHENTICATED)
    return Request(
        user, every, a["verb"], a["resource"], a["namespace"], a["group"], a.get("subresource", ""), a.get("name", "")
    )
