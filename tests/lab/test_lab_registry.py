"""The lab registry (provisioning.lab.registry) and a bare lab cluster's nodes pulling from it: `caas
images push` with its time, pods naming the suite's images by digest with a pull secret, check-config's
one line for a wrong login or registry, and the kubelet's pull failure for a wrong secret or a stopped
registry, named at once or after the pull grace (provisioning.kube.pod_start)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioning.images import refs
from provisioning.images.pull_secret import docker_config, secret_manifest
from provisioning.images.spec import ImagesSpec, PullSecretSpec
from provisioning.kube import client as kube
from provisioning.kube.pods import PodFailed, create_pod, wait_running
from provisioning.lab import cluster, host, images, registry
from provisioning.lab.cluster import LabCluster, LabPaths
from tests.support import run_caas

pytestmark = pytest.mark.lab


def caas(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_caas(*argv, env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def bare(lab_paths: LabPaths) -> Iterator[LabCluster]:
    """A bare one-node pks cluster, the lab registry serving, the suite's images pushed into it."""
    name = f"{os.environ.get('CAAS_CLUSTER_PREFIX', '')}bare-reg"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    lab = cluster.up(lab_paths, name, "pks", 1, 300, bare=True)
    try:
        yield lab
    finally:
        cluster.down(lab_paths, name)


@pytest.fixture(scope="module")
def lab_registry(lab_paths: LabPaths) -> registry.LabRegistry:
    served = registry.up(lab_paths.home)
    started = time.monotonic()
    pushed = caas(
        "images",
        "push",
        "--registry",
        registry.LOCATION,
        "--authfile",
        str(served.login_file),
        "--ca-file",
        str(served.ca_file),
    )
    print(f"caas images push into the lab registry: {time.monotonic() - started:.1f}s (the command, Python included)")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    for name, digest in refs.digests(lab_paths.images).items():
        assert f"pushed {registry.LOCATION}/{name}@{digest}" in pushed.stdout
    return served


def _node_images(lab: LabCluster) -> set[str]:
    node = lab.layout.worker_nodes[0]
    listed = host.run(["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io", "images", "ls", "-q"])
    return set(listed.split())


def _pod(name: str, spec: ImagesSpec, image_dir: Path) -> dict[str, Any]:
    ref = refs.resolve(spec, "busybox", refs.digests(image_dir))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            **ref.pod(),
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", **ref.container(), "command": ["sleep", "3600"]}],
        },
    }


@pytest.fixture
def namespace(bare: LabCluster, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    api = kube.from_kubeconfig(bare.layout.kubeconfig(cluster.ADMIN))
    name = f"reg-{abs(hash(request.node.name)) % 100000}"
    kube.request(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}})
    try:
        yield api, name
    finally:
        kube.delete_if_present(api, f"/api/v1/namespaces/{name}")
        api.close()


SPEC = ImagesSpec(registry=registry.LOCATION, pull_secret=PullSecretSpec(file="login.json"), pull_policy="Always")


def test_a_bare_clusters_nodes_have_no_suite_image(bare: LabCluster) -> None:
    present = _node_images(bare)
    assert {i.reference for i in images.SYSTEM_IMAGES} <= present
    assert not {images.PROBE.reference, images.BUSYBOX_IMAGE.reference} & present, present


def test_a_node_pulls_by_digest_with_the_pull_secret(
    bare: LabCluster, lab_registry: registry.LabRegistry, lab_paths: LabPaths, namespace: tuple[Any, str]
) -> None:
    api, ns = namespace
    kube.request(api, "POST", f"/api/v1/namespaces/{ns}/secrets", body=secret_manifest(ns, lab_registry.login(), {}))
    create_pod(api, ns, _pod("pulled", SPEC, lab_paths.images))
    pod = wait_running(api, ns, "pulled", timeout=120)
    assert pod.status.container_statuses[0].image_id.endswith(refs.digests(lab_paths.images)["busybox"])


def test_a_wrong_pull_secret_ends_the_wait_at_once_naming_unauthorized(
    bare: LabCluster, lab_registry: registry.LabRegistry, lab_paths: LabPaths, namespace: tuple[Any, str]
) -> None:
    api, ns = namespace
    wrong = docker_config(registry.HOST, registry.USER, "not-the-password")
    kube.request(api, "POST", f"/api/v1/namespaces/{ns}/secrets", body=secret_manifest(ns, wrong, {}))
    create_pod(api, ns, _pod("refused", SPEC, lab_paths.images))
    started = time.monotonic()
    with pytest.raises(PodFailed) as failed:
        wait_running(api, ns, "refused", timeout=120)
    assert "ErrImagePull" in str(failed.value) or "ImagePullBackOff" in str(failed.value)
    assert "401 Unauthorized" in str(failed.value) or "unauthorized" in str(failed.value), str(failed.value)
    assert time.monotonic() - started < 30, "an unauthorized pull is terminal at once"


def test_a_stopped_registry_is_a_pull_failure(
    bare: LabCluster, lab_registry: registry.LabRegistry, lab_paths: LabPaths, namespace: tuple[Any, str]
) -> None:
    api, ns = namespace
    kube.request(api, "POST", f"/api/v1/namespaces/{ns}/secrets", body=secret_manifest(ns, lab_registry.login(), {}))
    assert registry.down(lab_paths.home)
    try:
        create_pod(api, ns, _pod("unserved", SPEC, lab_paths.images))
        with pytest.raises(PodFailed) as failed:
            wait_running(api, ns, "unserved", timeout=120)
        assert "connection refused" in str(failed.value), str(failed.value)
    finally:
        registry.up(lab_paths.home)


def _targets(directory: Path, kubeconfig: Path, images_section: str) -> Path:
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: existing
            backend: kubeconfig
            kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}
            plans: [{{name: default, pod_security: baseline}}]
            images: {images_section}
        tenancy:
          - product: existing
            tenants: [{{name: blue, plan: default}}]
        """)
    )
    return path


def test_check_config_reads_the_images_and_names_a_wrong_login_or_registry(
    bare: LabCluster, lab_registry: registry.LabRegistry, tmp_path: Path
) -> None:
    kubeconfig = bare.layout.kubeconfig(cluster.ADMIN)
    ca = lab_registry.ca_file
    good = f"{{registry: '{registry.LOCATION}', pull_secret: {{file: {lab_registry.login_file}}}, ca_file: {ca}}}"
    checked = caas("check-config", str(_targets(tmp_path, kubeconfig, good)))
    assert checked.returncode == 0, checked.stderr
    (tmp_path / "wrong.json").write_text(json.dumps(docker_config(registry.HOST, registry.USER, "wrong")))
    wrong_login = good.replace(str(lab_registry.login_file), str(tmp_path / "wrong.json"))
    checked = caas("check-config", str(_targets(tmp_path, kubeconfig, wrong_login)))
    lines = checked.stderr.strip().splitlines()
    assert checked.returncode == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith("caas: error: targets.yaml: products[0].images.pull_secret: cannot read "), lines[0]
    assert "unauthorized" in lines[0]
    assert "wrong" not in lines[0].split("cannot read", 1)[1].replace("wrong.json", "")
    not_pushed = good.replace(f"{registry.LOCATION}'", f"{registry.LOCATION}/elsewhere'")
    checked = caas("check-config", str(_targets(tmp_path, kubeconfig, not_pushed)))
    lines = checked.stderr.strip().splitlines()
    assert (checked.returncode, len(lines)) == (2, 1), lines
    assert f"products[0].images.registry: cannot read {registry.LOCATION}/elsewhere/probe@sha256:" in lines[0]
    assert f"(fix: caas images push --registry {registry.LOCATION}/elsewhere)" in lines[0]
    wrong_port = (
        f"{{registry: '10.213.0.1:5999/caas', pull_secret: {{username_env: U, password_env: P}}, ca_file: {ca}}}"
    )
    checked = caas("check-config", str(_targets(tmp_path, kubeconfig, wrong_port)), env={"U": "caas", "P": "x"})
    lines = checked.stderr.strip().splitlines()
    assert (checked.returncode, len(lines)) == (2, 1), lines
    assert "products[0].images.registry: cannot read 10.213.0.1:5999/caas/probe@sha256:" in lines[0]
    assert "connection refused" in lines[0]
