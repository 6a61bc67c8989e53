"""The shapes the policy generator leaves out (pure)."""

from __future__ import annotations

from hypothesis import given, settings

from checks.network.generated import (
    CLUSTER,
    GeneratedPolicy,
    names_a_port_of_any_destination,
    policy_sets,
    shadows_an_except,
)

EXCEPTING = {"ipBlock": {"cidr": CLUSTER, "except": ["POD:ggreen/b"]}}
PLAIN = {"ipBlock": {"cidr": CLUSTER}}


def test_two_ipblock_peers_of_a_rule_with_an_except_shadow_it() -> None:
    assert shadows_an_except([PLAIN, EXCEPTING])
    assert shadows_an_except([EXCEPTING, EXCEPTING])


def test_a_single_ipblock_or_one_without_excepts_shadows_nothing() -> None:
    assert not shadows_an_except([EXCEPTING])
    assert not shadows_an_except([PLAIN, PLAIN])
    assert not shadows_an_except([EXCEPTING, {"podSelector": {}}])


@settings(max_examples=200, deadline=None)
@given(policy_sets(("gblue", "ggreen"), ("a", "b")))
def test_generated_rules_never_shadow_an_except(policies: list[GeneratedPolicy]) -> None:
    for policy in policies:
        spec = policy["spec"]
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            assert not shadows_an_except(rule.get("from", []) + rule.get("to", []))


def test_an_egress_rule_naming_a_port_without_destinations_is_the_known_deviation() -> None:
    assert names_a_port_of_any_destination({"ports": [{"protocol": "TCP", "port": "alt"}]})
    assert names_a_port_of_any_destination({"ports": [{"protocol": "UDP", "port": 8082}, {"port": "echo"}]})
    assert not names_a_port_of_any_destination({"ports": [{"protocol": "TCP", "port": 8080}]})
    assert not names_a_port_of_any_destination({"to": [{"podSelector": {}}], "ports": [{"port": "alt"}]})
    assert not names_a_port_of_any_destination({})


@settings(max_examples=200, deadline=None)
@given(policy_sets(("gblue", "ggreen"), ("a", "b")))
def test_generated_egress_rules_never_name_a_port_of_any_destination(policies: list[GeneratedPolicy]) -> None:
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            assert not names_a_port_of_any_destination(rule)
