"""Generated NetworkPolicy sets (checks/network/generated.py): a failing example is saved under the hash
of its content and replayed exactly, and every symbolic address (`CLUSTER`, `POD:<tenant>/<app>`) is
resolved on the cluster it is applied to, so no symbol ever reaches an API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given

from checks.network.generated import (
    CLUSTER,
    POD,
    GeneratedPolicy,
    load_regressions,
    policy_sets,
    resolve,
    save_regression,
)
from provisioning.model.onboarding import TENANT

TENANTS, APPS = ("blue", "green"), ("a", "b")
POD_IPS = {f"{t}/{a}": f"10.244.{i}.{j + 10}" for i, t in enumerate(TENANTS) for j, a in enumerate(APPS)}
EXAMPLE: list[GeneratedPolicy] = [
    {
        "tenant": "blue",
        "name": "generated-0",
        "spec": {
            "podSelector": {"matchLabels": {"app": "a"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": CLUSTER, "except": [f"{POD}green/b"]}}]}],
        },
    }
]


def test_a_saved_example_is_replayed_exactly(tmp_path: Path) -> None:
    path = save_regression(tmp_path / "regressions", EXAMPLE)
    assert path.parent == tmp_path / "regressions"
    assert load_regressions(tmp_path / "regressions") == [EXAMPLE]


def test_an_example_is_named_by_its_content_so_saving_it_twice_keeps_one_file(tmp_path: Path) -> None:
    first = save_regression(tmp_path, EXAMPLE)
    again = save_regression(tmp_path, json.loads(json.dumps(EXAMPLE)))
    assert first == again
    other = save_regression(tmp_path, [{**EXAMPLE[0], "name": "generated-1"}])
    assert other != first
    assert len(first.stem) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, other.name])
    assert len(load_regressions(tmp_path)) == 2


def test_no_saved_examples_is_an_empty_replay(tmp_path: Path) -> None:
    assert load_regressions(tmp_path / "absent") == []


def test_resolving_replaces_the_cluster_and_pod_symbols() -> None:
    manifest = resolve(EXAMPLE[0], "10.244.0.0/16", POD_IPS)
    assert manifest["metadata"] == {"name": "generated-0"}
    assert manifest["spec"]["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.11/32"]}}]}
    ]
    assert EXAMPLE[0]["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] == CLUSTER, "the example is kept as it was"


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@given(policy_sets(TENANTS, APPS))
def test_every_generated_policy_resolves_to_a_manifest_without_symbols(policies: list[GeneratedPolicy]) -> None:
    assert 1 <= len(policies) <= 3
    for policy in policies:
        assert policy["tenant"] in TENANTS
        manifest = resolve(policy, "10.244.0.0/16", POD_IPS)
        assert not [s for s in _strings(manifest) if s == CLUSTER or s.startswith(POD)]
        spec = manifest["spec"]
        assert set(spec) <= {"podSelector", "policyTypes", "ingress", "egress"}
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                assert set(peer) <= {"podSelector", "namespaceSelector", "ipBlock"}
                if "namespaceSelector" in peer:
                    assert set(peer["namespaceSelector"]["matchLabels"]) == {TENANT}
                if "ipBlock" in peer:
                    assert peer["ipBlock"]["cidr"] == "10.244.0.0/16"
                    assert all(e.endswith("/32") for e in peer["ipBlock"].get("except", []))
                    assert peer["ipBlock"].get("except") != [], "an empty except is left out"
