"""Ops files (go-patch) and ((variables)) applied to BOSH manifests as the bosh CLI does."""

from __future__ import annotations

import pytest

from provisioning.backends.bosh_manifest import OpsError, apply_ops, interpolate

MANIFEST = {
    "name": "cfcr",
    "instance_groups": [
        {"name": "master", "jobs": [{"name": "kube-apiserver", "properties": {"k8s-args": {"secure-port": 8443}}}]},
        {"name": "worker", "instances": 3, "jobs": [{"name": "kubelet"}]},
    ],
}


def test_replace_with_selectors_and_optional_creation() -> None:
    ops = [
        {
            "type": "replace",
            "path": "/instance_groups/name=master/jobs/name=kube-apiserver/properties/k8s-args/allow-privileged?",
            "value": True,
        },
        {"type": "replace", "path": "/instance_groups/name=worker/instances", "value": 1},
        {"type": "replace", "path": "/instance_groups/name=worker/jobs/-", "value": {"name": "cloud-provider"}},
        {"type": "replace", "path": "/addons?/name=bpm?/jobs", "value": []},
    ]
    result = apply_ops(MANIFEST, ops)
    assert result["instance_groups"][0]["jobs"][0]["properties"]["k8s-args"] == {
        "secure-port": 8443,
        "allow-privileged": True,
    }
    assert result["instance_groups"][1]["instances"] == 1
    assert [j["name"] for j in result["instance_groups"][1]["jobs"]] == ["kubelet", "cloud-provider"]
    assert result["addons"] == [{"name": "bpm", "jobs": []}]
    assert MANIFEST["instance_groups"][1]["instances"] == 3, "the input is not changed"


def test_remove() -> None:
    result = apply_ops(MANIFEST, [{"type": "remove", "path": "/instance_groups/1"}])
    assert [g["name"] for g in result["instance_groups"]] == ["master"]


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"type": "replace", "path": "/instance_groups/name=etcd/instances", "value": 1}, "no item with name=etcd"),
        ({"type": "replace", "path": "/missing/key", "value": 1}, 'no key "missing"'),
        ({"type": "remove", "path": "/instance_groups/5"}, "index 5 is out of range"),
        ({"type": "move", "path": "/name"}, "expected type replace or remove"),
    ],
)
def test_an_operation_that_does_not_fit_names_itself(operation: dict[str, object], message: str) -> None:
    with pytest.raises(OpsError, match=message) as failed:
        apply_ops(MANIFEST, [operation], source="ops.yml")
    assert str(failed.value).startswith("ops.yml[0]")


def test_interpolation_keeps_unknown_variables_for_the_config_server() -> None:
    value = {
        "host": "((kubernetes_master_host))",
        "url": "https://((kubernetes_master_host)):8443",
        "secret": "((kubo-admin-password))",
        "count": "((workers))",
    }
    assert interpolate(value, {"kubernetes_master_host": "k.example.com", "workers": "2"}) == {
        "host": "k.example.com",
        "url": "https://k.example.com:8443",
        "secret": "((kubo-admin-password))",
        "count": "2",
    }
