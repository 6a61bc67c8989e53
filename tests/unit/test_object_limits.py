"""The object counts a plan promises and the refusals that hold them (provisioning.model.object_limits)."""

from __future__ import annotations

from harness.targets import load_targets
from provisioning.model import answers
from provisioning.model.object_limits import (
    SYSTEM_PRIORITY_CLASSES,
    count_probes,
    priority_pod,
    refused_for,
    to_create,
)
from provisioning.model.tenancy import Plan, Quota
from tests.support import ROOT

EXAMPLE_TARGETS = ROOT / "targets.example.yaml"

EXCEEDED = (
    'configmaps "count-over-1" is forbidden: exceeded quota: quota, requested: count/configmaps=1, '
    "used: count/configmaps=4, limited: count/configmaps=4"
)


def _plan(hard: dict[str, str], service_types: tuple[str, ...] = ("ClusterIP", "NodePort", "LoadBalancer")) -> Plan:
    return Plan("p", quota=Quota(hard=hard), service_types=service_types)


def test_only_the_counted_keys_of_the_plan_are_probed_in_its_order() -> None:
    plan = _plan({"pods": "10", "count/secrets": "3", "requests.cpu": "1", "configmaps": "5", "services": "2"})
    probes = count_probes(plan)
    assert [(p.key, p.hard, p.kind) for p in probes] == [
        ("count/secrets", 3, "Secret"),
        ("configmaps", 5, "ConfigMap"),
        ("services", 2, "Service"),
    ]
    assert probes[0].path("ns") == "/api/v1/namespaces/ns/secrets"


def test_a_plan_without_counts_promises_nothing_here() -> None:
    assert count_probes(_plan({"pods": "10", "persistentvolumeclaims": "2"})) == []


def test_a_service_type_the_plan_does_not_offer_is_not_probed() -> None:
    hard = {"services.nodeports": "1", "services.loadbalancers": "1"}
    plan = _plan(hard, service_types=("ClusterIP", "LoadBalancer"))
    probes = count_probes(plan)
    assert [(p.key, p.service_type) for p in probes] == [("services.loadbalancers", "LoadBalancer")]
    assert probes[0].manifest("s", {"a": "b"})["spec"]["type"] == "LoadBalancer"


def test_the_fill_is_what_the_quota_has_left() -> None:
    assert to_create(4, 1) == 3
    assert to_create(4, 4) == 0
    assert to_create(4, 6) == 0


def test_only_the_quotas_refusal_naming_the_key_holds_it() -> None:
    quota = answers.classify(403, EXCEEDED)
    assert refused_for(quota, "count/configmaps")
    assert not refused_for(quota, "count/secrets")
    other = answers.classify(403, 'configmaps "x" is forbidden: User "u" cannot create resource "configmaps"')
    assert not refused_for(other, "count/configmaps")
    assert not refused_for(answers.classify(201, ""), "count/configmaps")
    assert not refused_for(answers.classify(500, "etcd"), "count/configmaps")


def test_a_priority_pod_is_the_same_pod_with_a_class() -> None:
    base = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    pod = priority_pod(base, SYSTEM_PRIORITY_CLASSES[0])
    assert pod["spec"] == {"containers": [{"name": "c"}], "priorityClassName": "system-cluster-critical"}
    assert "priorityClassName" not in base["spec"]


def test_the_example_targets_promise_counts_on_one_plan_of_each_product() -> None:
    model = load_targets(EXAMPLE_TARGETS, check_files=False).model
    promised = {(p.name, pl.name): [c.key for c in count_probes(pl)] for p in model.products for pl in p.plans}
    assert promised[("cfcr", "default")] == ["configmaps", "secrets"]
    assert promised[("pks", "small")] == ["count/configmaps", "count/secrets"]
    assert promised[("pks", "medium")] == []
    assert promised[("pks", "large")] == []
