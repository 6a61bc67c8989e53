"""The `lab` backend's clusters are bare and their pods pull the suite's images from the lab registry
(issue 17: nothing the checks use is imported into the lab's nodes): it serves the registry before the
cluster starts, and from then on the product's pods name the lab registry by digest, pull policy
IfNotPresent, with the lab's login as their pull secret. No registry or cluster runs here."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provisioning.backends import lab as lab_backend
from provisioning.backends.lab import LabBackend
from provisioning.backends.protocol import ClusterRequest
from provisioning.images import products, refs
from provisioning.images.pull_secret import docker_config
from provisioning.lab import images, registry
from provisioning.lab.cluster import LabPaths
from provisioning.lab.registry import LabRegistry
from provisioning.model.tenancy import ClusterPlacement, Placement, Plan


def _home(tmp_path: Path) -> LabRegistry:
    home = tmp_path / "home"
    (home / "images").mkdir(parents=True)
    for name, image in refs.SUITE_IMAGES.items():
        (home / "images" / image.archive_name).write_bytes(images.oci_archive(image, name.encode()))
    served = LabRegistry(home)
    served.directory.mkdir()
    served.login_file.write_text(json.dumps(docker_config(registry.HOST, registry.USER, "lab-password")))
    return served


def _provision(monkeypatch: pytest.MonkeyPatch, served: LabRegistry, name: str, started: list[dict[str, Any]]) -> None:
    (served.home / "pki").mkdir(exist_ok=True)
    (served.home / "pki" / "ca.crt").write_bytes(b"ca")
    layout = SimpleNamespace(api_server_url="https://10.0.0.1:6443", pki=served.home / "pki", kubeconfig=lambda _u: "k")

    def up(_paths: LabPaths, cluster_name: str, *_args: object, **kwargs: Any) -> Any:
        started.append({"name": cluster_name, **kwargs})
        return SimpleNamespace(layout=layout, profile=SimpleNamespace(authorization="rbac"))

    monkeypatch.setattr(lab_backend.cluster, "up", up)
    timeouts: Any = SimpleNamespace(lab_ready=180.0)  # the only deadline provision reads
    backend = LabBackend(LabPaths(served.home), "pks", 1, timeouts)
    placement = ClusterPlacement("pks", name, Placement.SHARED, ())
    backend.provision(ClusterRequest(placement, Plan(name="small"), run_id="r1"))


def test_the_lab_backends_cluster_is_bare_and_its_pods_pull_from_the_lab_registry_with_its_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(products, "_PRODUCTS", {})  # process-wide: none leaks to other tests
    served = _home(tmp_path)
    order: list[str] = []
    monkeypatch.setattr(lab_backend.suite_images, "serve", lambda home: order.append(f"serve {home}") or served)
    started: list[dict[str, Any]] = []
    _provision(monkeypatch, served, "pks-shared", started)
    assert order == [f"serve {served.home}"], "the registry of the cluster's lab home serves before it starts"
    assert [(s["name"], s["bare"]) for s in started] == [("pks-shared", True)]

    posted: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(products.kube, "request", lambda _api, _m, path, body: posted.append((path, body)))
    pod = {
        "metadata": {"name": "p", "labels": {"caas-conformance.io/run-id": "r1"}},
        "spec": {"containers": [{"name": "c", **refs.lab_ref("probe").container()}]},
    }
    rewritten = products.suite_pod("pks", object(), "tenant-blue", pod)
    digest = refs.archive_digest(served.home / "images" / images.PROBE.archive_name)
    assert rewritten["spec"]["containers"][0]["image"] == f"{registry.LOCATION}/probe@{digest}"
    assert rewritten["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert rewritten["spec"]["imagePullSecrets"] == [{"name": refs.PULL_SECRET}]
    assert [path for path, _ in posted] == ["/api/v1/namespaces/tenant-blue/secrets"]
    secret = json.loads(base64.b64decode(posted[0][1]["data"][".dockerconfigjson"]))
    assert secret == served.login(), "the tenants' pull secret is the lab's login"


def test_a_second_cluster_of_the_product_keeps_its_images_and_the_pull_secrets_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(products, "_PRODUCTS", {})
    served = _home(tmp_path)
    monkeypatch.setattr(lab_backend.suite_images, "serve", lambda _home: served)
    _provision(monkeypatch, served, "pks-blue", [])
    first = products.of("pks")
    _provision(monkeypatch, served, "pks-green", [])
    assert products.of("pks") is first
    assert products.of("cfcr") is products.LAB, "another product keeps its own images"
