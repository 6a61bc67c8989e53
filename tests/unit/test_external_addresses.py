"""check_network_008's claims under a plan's externalIPs range (pure): which addresses it claims, what it expects."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from checks.matrix import Cell
from checks.network.claims import (
    CLAIMED_EXTERNAL_IP,
    EXTERNAL_ADDRESS,
    IN_RANGE,
    LOAD_BALANCER_STATUS,
    SERVICE,
    claim_service,
    expected_answers,
    inside_address,
    outside_address,
)
from harness.targets import PlanSpec


def test_without_a_range_every_external_address_is_refused_and_none_is_asked_inside() -> None:
    assert outside_address(()) == CLAIMED_EXTERNAL_IP
    assert inside_address(()) is None
    assert expected_answers(()) == {
        SERVICE: Cell.ALLOWED,
        EXTERNAL_ADDRESS: Cell.DENIED,
        LOAD_BALANCER_STATUS: Cell.DENIED,
    }


def test_with_a_range_the_claim_is_outside_it_and_an_address_inside_it_is_the_positive_control() -> None:
    ranges = ("203.0.113.0/24",)
    assert outside_address(ranges) == "198.51.100.53", "the usual claim lies in the plan's range"
    assert inside_address(ranges) == "203.0.113.1"
    assert expected_answers(ranges)[IN_RANGE] is Cell.ALLOWED
    assert inside_address(("192.0.2.7/32",)) == "192.0.2.7"


def test_a_plan_holding_every_candidate_cannot_be_checked() -> None:
    with pytest.raises(ValueError, match="hold every documentation address"):
        outside_address(("0.0.0.0/0",))


def test_the_plans_range_is_validated_as_cidrs() -> None:
    assert PlanSpec(name="small", external_ips=["203.0.113.0/28"]).external_ips == ["203.0.113.0/28"]
    with pytest.raises(ValidationError, match="is no CIDR"):
        PlanSpec(name="small", external_ips=["203.0.113.0/33"])


def test_the_claim_is_a_load_balancer_without_node_ports_only_where_the_plan_allows_one() -> None:
    balancer = claim_service("run-1", "blue", {"app": "a"}, [CLAIMED_EXTERNAL_IP])
    assert balancer["spec"]["type"] == "LoadBalancer"
    assert balancer["spec"]["allocateLoadBalancerNodePorts"] is False
    plain = claim_service("run-1", "blue", {"app": "a"}, [], load_balancer=False)
    assert plain["spec"]["type"] == "ClusterIP"
    assert "externalIPs" not in plain["spec"]
