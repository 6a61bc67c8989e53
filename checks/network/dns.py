"""What a tenant learns about other tenants through cluster DNS: whether their service and pod names
resolve. Each name is given to `caas-probe connect` as a host: a name that does not exist ends as
dns-failure "no such host" (not disclosed); any other outcome (connected, refused, timeout) means the
name resolved (disclosed); a DNS server that did not answer is ERROR. Observation only."""

from __future__ import annotations

from collections.abc import Sequence

from checks.matrix import Cell, Matrix
from checks.network.probe import TCP_PORTS, ProbePod, Target
from checks.network.services import TenantService

NOT_FOUND = "no such host"  # Go's resolver on NXDOMAIN
CLUSTER_DOMAIN = "cluster.local"  # as TenantService.dns_name
ABSENT = "caas-absent"  # a Service name no one creates


def pod_dns_name(pod: ProbePod, domain: str = CLUSTER_DOMAIN) -> str:
    """The pod's A record name (CoreDNS `pods insecure|verified`: a-b-c-d.<namespace>.pod.<domain>)."""
    return f"{pod.ip.replace('.', '-')}.{pod.namespace}.pod.{domain}"


def name_targets(
    pods: Sequence[ProbePod], services: Sequence[TenantService], domain: str = CLUSTER_DOMAIN
) -> list[tuple[ProbePod, Target]]:
    """Every service's and every pod's DNS name, each owned by its tenant's pod or service, and one name of
    no Service (owned by `ABSENT`), which must never resolve."""
    port = TCP_PORTS[0]
    targets = [(s.owner, Target(f"{s.dns_name} (name)", s.dns_name, port, "tcp")) for s in services]
    targets += [(p, Target(f"{p.label} pod (name)", pod_dns_name(p, domain), port, "tcp")) for p in pods if p.namespace]
    if services:  # the negative control: a name nobody made must not resolve (denials are observable)
        owner = services[0].owner
        absent = f"{ABSENT}.{owner.namespace}.svc.{domain}"
        nobody = ProbePod(owner.tenant, owner.cluster, owner.namespace, ABSENT, ABSENT, "")
        targets.append((nobody, Target(f"{absent} (name)", absent, port, "tcp")))
    return targets


def as_resolution(observed: Matrix) -> Matrix:
    """Probe outcomes -> allowed (the name resolved), denied (no such host), error (no answer)."""
    cells: dict[tuple[str, str], Cell] = {}
    for key, cell in observed.cells.items():
        detail = observed.evidence.get(key, "")
        if cell in (Cell.ALLOWED, Cell.DENIED):
            cells[key] = Cell.ALLOWED
        elif detail.startswith("dns-failure") and NOT_FOUND in detail:
            cells[key] = Cell.DENIED
        else:
            cells[key] = cell
    return Matrix(observed.rows, observed.columns, cells, dict(observed.evidence))
