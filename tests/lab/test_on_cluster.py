"""`caas run --on-cluster` gives the verdicts a local run gives on the same lab products (issue 23).

Three bare one-node lab clusters: a cfcr management cluster (pks isolates its pods from other lab
clusters' networks, as NSX-T's T1 routers do; cfcr's pods reach them, as a management cluster's must),
whose nodes get the runner image (`caas images build-runner`, imported into their containerd as the
lab imports its own images), and
two product clusters reached only through the kubeconfig backend (`onboarding: suite`, the suite's
images pulled from the lab registry with a pull secret), each product the example's pks product with its
shared tenants (its dedicated ones left out: two clusters, not four). The same targets file is run
three times on a representative subset of checks (CHECKS: the smoke check, an RBAC check, the probe
from outside the clusters and the private-image check, which pushes with skopeo from the Job's pod):

- locally, both products, in a lab outside client as tests/lab/test_bare_parity.py runs it;
- `--on-cluster`, both products at once (a Job each in the management cluster);
- `--on-cluster`, one product after the other (two runs), for the time two Jobs at once save.

Asserted: both on-cluster ways give every (check, product) the local run's verdict. Printed: the
wall time of each way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.lab import cluster, host, registry
from provisioning.lab.cluster import LabPaths
from provisioning.oncluster import runner_image
from tests.lab.bare_clusters import images_section, push_images
from tests.lab.inventory import cluster_prefix, suite_run_id
from tests.support import ROOT, run_caas

pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(5400)]
EXAMPLE = ROOT / "targets.example.yaml"
PRODUCTS = ("bare-a", "bare-b")
CHECKS = ("check_smoke_001", "check_rbac_001", "check_network_006", "check_privileged_006")


@dataclass(frozen=True)
class Runs:
    local: dict[tuple[str, str], str]  # (check, product) -> status
    at_once: dict[tuple[str, str], str]
    one_after_other: dict[tuple[str, str], str]
    outputs: dict[str, str]
    seconds: dict[str, float]


def _kubeconfig(directory: Path, name: str, admin: Path) -> Path:
    """The admin kubeconfig of a lab cluster, its context named "shared"."""
    config = yaml.safe_load(admin.read_text())
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": config["clusters"][0]["cluster"]}],
        "users": [{"name": name, "user": config["users"][0]["user"]}],
        "contexts": [{"name": "shared", "context": {"cluster": name, "user": name}}],
        "current-context": "shared",
    }
    path = directory / f"{name}.kubeconfig"
    path.touch(mode=0o600)
    path.write_text(json.dumps(merged))
    return path


def _targets(directory: Path, kubeconfigs: dict[str, Path], served: registry.LabRegistry) -> Path:
    example = yaml.safe_load(EXAMPLE.read_text())
    pks = next(p for p in example["products"] if p["name"] == "pks")
    tenancy = next(t for t in example["tenancy"] if t["product"] == "pks")
    shared = [t for t in tenancy["tenants"] if t.get("placement", "shared") == "shared"]
    products, tenancies, expectations = [], [], []
    for product, kubeconfig in kubeconfigs.items():
        entry = {k: v for k, v in pks.items() if k not in ("name", "backend", "lab")}
        entry.update(
            name=product,
            backend="kubeconfig",
            onboarding="suite",
            kubeconfig={"path": str(kubeconfig), "context": "shared", "impersonate_missing_identities": True},
            images=images_section(served),
        )
        products.append(entry)
        tenancies.append(
            {**{k: v for k, v in tenancy.items() if k != "tenants"}, "product": product, "tenants": shared}
        )
        expectations += [{**e, "product": product} for e in example.get("expectations", []) if e["product"] == "pks"]
    path = directory / "targets.yaml"
    path.write_text(
        yaml.safe_dump({"version": 1, "products": products, "tenancy": tenancies, "expectations": expectations})
    )
    return path


def _caas_run(
    targets: Path, output: Path, run_id: str, extra: list[str], inside: tuple[str, ...] = ()
) -> tuple[dict[tuple[str, str], str], str, float]:
    started = time.monotonic()
    done = run_caas(
        *("run", "--targets", str(targets), "--output", str(output), "--run-id", run_id, *extra),
        timeout=2400,
        inside=inside,
    )
    seconds = time.monotonic() - started
    comparison = output / run_id / "comparison.json"
    text = done.stdout + done.stderr
    assert comparison.exists(), text[-4000:]
    rows = json.loads(comparison.read_text())["checks"]
    statuses = {(r["check"], p): v["status"] for r in rows for p, v in r["products"].items()}
    return statuses, f"exit code {done.returncode}\n{text}", seconds


@pytest.fixture(scope="module")
def runs(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    directory = tmp_path_factory.mktemp("on-cluster")
    seconds: dict[str, float] = {}
    started = time.monotonic()
    served = registry.up(lab_paths.home)
    push_images(served)
    archive = directory / "runner.tar"
    built = runner_image.build(ROOT, lab_paths.home, archive)
    seconds["caas images push and build-runner"] = time.monotonic() - started
    clusters = {"management": "oc-mgmt", PRODUCTS[0]: "oc-a", PRODUCTS[1]: "oc-b"}
    names = {role: f"{cluster_prefix()}{name}" for role, name in clusters.items()}
    try:
        labs: dict[str, Any] = {}
        for role, name in names.items():
            if lab_paths.cluster_dir(name).exists():
                cluster.down(lab_paths, name)
            profile = "cfcr" if role == "management" else "pks"
            labs[role] = cluster.up(lab_paths, name, profile, 1, 600, bare=True)
        for node in labs["management"].layout.worker_nodes:
            host.run(
                ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io", "images", "import", str(archive)],
                timeout=600,
            )
        kubeconfigs = {p: _kubeconfig(directory, p, labs[p].layout.kubeconfig(cluster.ADMIN)) for p in PRODUCTS}
        management = _kubeconfig(directory, "management", labs["management"].layout.kubeconfig(cluster.ADMIN))
        targets = _targets(directory, kubeconfigs, served)
        selection = ["-k", " or ".join(CHECKS)]
        on_cluster = ["--on-cluster", str(management), "--runner-image", built.reference, *selection]
        outputs = {}
        with host.outside_client() as inside:
            local, outputs["local"], seconds["local, both products"] = _caas_run(
                targets, directory / "out", suite_run_id("oc-local"), selection, inside
            )
        at_once, outputs["at once"], seconds["on-cluster, both Jobs at once"] = _caas_run(
            targets, directory / "out", suite_run_id("oc-both"), on_cluster
        )
        one_after_other: dict[tuple[str, str], str] = {}
        seconds["on-cluster, one Job after the other"] = 0.0
        for product in PRODUCTS:
            statuses, outputs[product], took = _caas_run(
                targets, directory / "out", suite_run_id(f"oc-{product}"), [*on_cluster, "--product", product]
            )
            one_after_other.update(statuses)
            seconds["on-cluster, one Job after the other"] += took
        print("; ".join(f"{what}: {s:.0f}s" for what, s in seconds.items()))
        yield Runs(local, at_once, one_after_other, outputs, seconds)
    finally:
        for name in names.values():
            if lab_paths.cluster_dir(name).exists():
                cluster.down(lab_paths, name)


def test_jobs_in_a_management_cluster_give_every_check_the_verdict_of_a_local_run(runs: Runs) -> None:
    assert set(runs.local) == {(c, p) for c in CHECKS for p in PRODUCTS}, runs.outputs["local"][-3000:]
    differing = {k: (v, runs.at_once.get(k)) for k, v in runs.local.items() if runs.at_once.get(k) != v}
    assert not differing, f"(check, product): (local, on-cluster): {differing}\n{runs.outputs['at once'][-4000:]}"


def test_one_job_after_the_other_gives_the_same_verdicts(runs: Runs) -> None:
    differing = {k: (v, runs.one_after_other.get(k)) for k, v in runs.local.items() if runs.one_after_other.get(k) != v}
    assert not differing, f"(check, product): (local, one after the other): {differing}"
