"""A tenant reaching for addresses it does not own (CVE-2020-8554), asked with its admin's own credentials.

A Service may carry `externalIPs`, and its `status.loadBalancer.ingress` names addresses: kube-proxy sends
traffic to any of them, from any pod of the cluster, to the Service's pods. A tenant that may set either
captures what other tenants send to that address. Observation only: each request's answer is a cell
(allowed, denied = refused by the API server, error = no answer), compared by the caller.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from checks import answered
from checks.answered import Answered
from checks.matrix import Cell
from provisioning.kube import client as kube
from provisioning.model.answers import Layer
from provisioning.model.onboarding import labels as run_labels

CLAIMED_EXTERNAL_IP = "203.0.113.53"  # TEST-NET-3 (RFC 5737): nobody's real address
OUTSIDE_CANDIDATES = (CLAIMED_EXTERNAL_IP, "198.51.100.53", "192.0.2.53")  # TEST-NET-2 and -1 where a plan has it
CLAIM_IN_RANGE = "caas-claim-in-range"
CLAIMED_LOAD_BALANCER_IP = "203.0.113.54"
CLAIM = "caas-claim"
ADMIT_ANYONE = "caas-admit-anyone"
CLAIM_PORTS = (("UDP", 53), ("TCP", 53))  # a DNS server's, which onboarding lets every pod send to

SERVICE = "a Service"  # the positive control: the tenant may create Services at all
EXTERNAL_ADDRESS = "an external address"
LOAD_BALANCER_STATUS = "a load-balancer status"
IN_RANGE = "an address of its plan's range"  # the positive control of a plan with external_ips
REQUESTS = (SERVICE, EXTERNAL_ADDRESS, LOAD_BALANCER_STATUS, IN_RANGE)


def outside_address(ranges: Sequence[str]) -> str:
    """An address no plan range holds, to claim (raises ValueError if the plan holds all candidates)."""
    networks = [ipaddress.ip_network(r) for r in ranges]
    for candidate in OUTSIDE_CANDIDATES:
        if not any(ipaddress.ip_address(candidate) in n for n in networks):
            return candidate
    raise ValueError(f"the plan's external_ips {list(ranges)} hold every documentation address {OUTSIDE_CANDIDATES}")


def inside_address(ranges: Sequence[str]) -> str | None:
    """The first usable address of the plan's first range (none without ranges)."""
    if not ranges:
        return None
    network = ipaddress.ip_network(ranges[0])
    return str(next(iter(network.hosts()), network.network_address))


def expected_answers(ranges: Sequence[str]) -> dict[str, Cell]:
    """A Service always; an address outside the plan's range or a load-balancer status never; one inside
    it where the plan has a range (else not asked)."""
    expected = {SERVICE: Cell.ALLOWED, EXTERNAL_ADDRESS: Cell.DENIED, LOAD_BALANCER_STATUS: Cell.DENIED}
    if ranges:
        expected[IN_RANGE] = Cell.ALLOWED
    return expected


def admit_anyone_policy(
    run_id: str, tenant: str, name: str, pod_labels: dict[str, str], ports: Iterable[tuple[str, int]]
) -> dict[str, Any]:
    """The tenant's own NetworkPolicy admitting every peer (no `from`: any pod, any address) to its pods
    `pod_labels` on `ports`: a tenant's right, which must not let other tenants in past their own egress."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": run_labels(run_id, tenant)},
        "spec": {
            "podSelector": {"matchLabels": pod_labels},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": p, "port": n} for p, n in ports]}],
        },
    }


def claim_service(
    run_id: str,
    tenant: str,
    pod_labels: dict[str, str],
    external_ips: list[str],
    load_balancer: bool = True,
    name: str = CLAIM,
) -> dict[str, Any]:
    """A LoadBalancer Service (without node ports; ClusterIP where the plan allows no load balancer) in front
    of `pod_labels` on the claim ports."""
    spec: dict[str, Any] = {
        "type": "LoadBalancer" if load_balancer else "ClusterIP",
        **({"allocateLoadBalancerNodePorts": False} if load_balancer else {}),
        "selector": pod_labels,
        "ports": [{"name": f"claim-{p.lower()}", "protocol": p, "port": n, "targetPort": n} for p, n in CLAIM_PORTS],
    }
    if external_ips:
        spec["externalIPs"] = external_ips
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": run_labels(run_id, tenant)},
        "spec": spec,
    }


def claim_addresses(
    api: Any,
    namespace: str,
    run_id: str,
    tenant: str,
    pod_labels: dict[str, str],
    load_balancer: bool = True,
    external_ip: str = CLAIMED_EXTERNAL_IP,
    in_range: str | None = None,
) -> dict[str, Answered]:
    """Create the claim Service with `external_ip` (or, refused, without: the positive control), then set its
    load-balancer status; with `in_range`, also a ClusterIP Service with that address of the plan's range.
    {request: its answered cell (`checks.answered`: the one classifier's reading)}; the Services are left
    for the caller to delete (`CLAIM`, `CLAIM_IN_RANGE`)."""
    services = f"/api/v1/namespaces/{namespace}/services"
    asked: dict[str, Answered] = {}
    try:
        kube.request(
            api, "POST", services, body=claim_service(run_id, tenant, pod_labels, [external_ip], load_balancer)
        )
        asked[EXTERNAL_ADDRESS] = asked[SERVICE] = answered.succeeded(f"created with externalIPs {external_ip}")
    except kube.ApiFailure as failure:
        asked[EXTERNAL_ADDRESS] = answered.failed(failure)
        try:
            kube.request(api, "POST", services, body=claim_service(run_id, tenant, pod_labels, [], load_balancer))
            asked[SERVICE] = answered.succeeded("created without externalIPs")
        except kube.ApiFailure as again:  # the positive control: any refusal of it is no observation
            asked[SERVICE] = Answered(Cell.ERROR, answered.failed(again).evidence, Layer.NONE.value)
    if in_range is not None:
        body = claim_service(run_id, tenant, pod_labels, [in_range], load_balancer=False, name=CLAIM_IN_RANGE)
        try:
            kube.request(api, "POST", services, body=body)
            asked[IN_RANGE] = answered.succeeded(f"created with externalIPs {in_range}")
        except kube.ApiFailure as failure:
            asked[IN_RANGE] = answered.failed(failure)
    if asked[SERVICE].cell is not Cell.ALLOWED:
        asked[LOAD_BALANCER_STATUS] = Answered(Cell.ERROR, "no Service to set the status of", Layer.NONE.value)
        return asked
    status = {"status": {"loadBalancer": {"ingress": [{"ip": CLAIMED_LOAD_BALANCER_IP}]}}}
    try:
        kube.request(
            api,
            "PATCH",
            f"{services}/{CLAIM}/status",
            body=status,
            content_type="application/merge-patch+json",
        )
        asked[LOAD_BALANCER_STATUS] = answered.succeeded(f"status.loadBalancer.ingress {CLAIMED_LOAD_BALANCER_IP}")
    except kube.ApiFailure as failure:
        asked[LOAD_BALANCER_STATUS] = answered.failed(failure)
    return asked
