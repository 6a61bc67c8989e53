"""check_network_008 around claims.py: the first tenant of a shared cluster claims addresses it does not own
(CVE-2020-8554), the API server's answers are judged against the plan, and the claimed addresses are probed
(what the claim would capture). Make, observe and compare; the caller records and requires."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import allure

from checks.matrix import Cell, Matrix, apply_positive_control, compare
from checks.network.claims import (
    ADMIT_ANYONE,
    CLAIM,
    CLAIM_IN_RANGE,
    CLAIM_PORTS,
    CLAIMED_LOAD_BALANCER_IP,
    REQUESTS,
    admit_anyone_policy,
    claim_addresses,
    expected_answers,
    inside_address,
    outside_address,
)
from checks.network.probe import ProbePod, Target, port_targets
from checks.network.reachability import Verdict
from checks.network.runs import Owned
from checks.network.tenant_objects import Finalize, create_as_tenant_admin, delete_as_tenant_admin
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy


@dataclass(frozen=True)
class Claim:
    """What the first tenant of a shared cluster asked for, and the API server's answers."""

    tenant: str
    pod: ProbePod  # the pod the claimed addresses lead to
    answers: dict[str, tuple[Cell, str]]  # {request (claims.REQUESTS): (cell, the API server's answer)}
    external_ip: str  # the address outside the plan's range it claimed
    ranges: tuple[str, ...]  # the plan's external_ips
    layers: Mapping[str, str] = field(default_factory=dict)  # {request: who decided (answers.Layer value)}


def make_claim(tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, pod: ProbePod, finalize: Finalize) -> Claim:
    """The cluster's first tenant admits anyone to its pods `pod.app` on CLAIM_PORTS, then claims an address
    outside its plan's external_ips and a load-balancer status for them (and one address inside the range,
    where the plan has one), as its admin. Everything it created is deleted by the finalisers registered;
    the answers are attached. Raises kube.ApiFailure if the admitting policy is refused, ValueError if the
    plan's range holds every documentation address."""
    tenant = cluster.tenants[0]
    selected = {"app": pod.app, "probe": "caas"}
    policy = admit_anyone_policy(tenancy.run_id, tenant.name, f"{ADMIT_ANYONE}-{pod.app}", selected, CLAIM_PORTS)
    create_as_tenant_admin(tenancy, finalize, tenant.name, tenant.namespace, policy)
    plan = tenancy.product.plan(tenant.plan)
    for name in (CLAIM, CLAIM_IN_RANGE):
        path = f"/api/v1/namespaces/{tenant.namespace}/services/{name}"
        finalize(functools.partial(delete_as_tenant_admin, tenancy, tenant.name, path))
    external_ip = outside_address(plan.external_ips)
    api = tenancy.client_for(f"{tenant.name}-admin")
    try:
        asked = claim_addresses(
            api,
            tenant.namespace,
            tenancy.run_id,
            tenant.name,
            selected,
            load_balancer="LoadBalancer" in plan.service_types,
            external_ip=external_ip,
            in_range=inside_address(plan.external_ips),
        )
    finally:
        api.close()
    answers = {request: (a.cell, a.evidence) for request, a in asked.items()}
    allure.attach(
        "\n".join(f"{request}: {cell.value} ({detail})" for request, (cell, detail) in answers.items()),
        name="the API server's answers to the claim",
        attachment_type=allure.attachment_type.TEXT,
    )
    layers = {request: a.layer for request, a in asked.items()}
    return Claim(tenant.name, pod, answers, external_ip, plan.external_ips, layers)


def judge_answers(claim: Claim) -> Verdict:
    """The API server's answers (one row, the tenant; a column per request asked) against expected_answers
    of the plan's range, the Service itself the positive control (pure)."""
    expected = Matrix.build(
        [claim.tenant],
        list(REQUESTS),
        {(claim.tenant, asked): cell for asked, cell in expected_answers(claim.ranges).items()},
    )
    observed = Matrix.build(
        [claim.tenant],
        list(REQUESTS),
        {(claim.tenant, r): cell for r, (cell, _) in claim.answers.items()},
        {(claim.tenant, r): detail for r, (_, detail) in claim.answers.items()},
        {(claim.tenant, r): layer for r, layer in claim.layers.items()},
    )
    return Verdict(compare(expected, apply_positive_control(expected, observed)), 1, 0.0, len(REQUESTS))


@dataclass(frozen=True)
class ClaimedTargets:
    """The claiming pod on CLAIM_PORTS and the addresses it claimed (owned by `claimed`) on the same ports."""

    claim: Claim
    claimed: ProbePod  # the owner of the claimed addresses' columns
    targets: tuple[Owned, ...]

    def keep(self, source: ProbePod, owner: ProbePod) -> bool:
        """The claiming tenant's own pods reach its pods (the positive control); what its claimed
        addresses do for its own traffic is its business."""
        return source != self.claim.pod and not (owner is self.claimed and source.tenant == self.claim.tenant)


def claimed_targets(claim: Claim, cluster: str) -> ClaimedTargets:
    """The targets of a claim on `cluster` (pure): its pod on CLAIM_PORTS, then the claimed external address
    and CLAIMED_LOAD_BALANCER_IP on the same ports, columns "address:port/protocol"."""
    claimed = ProbePod(claim.tenant, cluster, claim.pod.namespace, CLAIM, "claimed", "")
    targets: list[Owned] = [(claim.pod, t) for t in port_targets([claim.pod], CLAIM_PORTS)]
    targets += [
        (claimed, Target(f"{address}:{port}/{protocol.lower()}", address, port, protocol.lower()))
        for address in (claim.external_ip, CLAIMED_LOAD_BALANCER_IP)
        for protocol, port in CLAIM_PORTS
    ]
    return ClaimedTargets(claim, claimed, tuple(targets))
