"""Fixtures of the lab tests: real lab clusters of both profiles, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.settings import Timeouts, lab_home
from provisioning.kube import client as kube
from provisioning.lab import build, cluster
from provisioning.lab.cluster import LabCluster, LabPaths
from tests.lab.inventory import cluster_prefix
from tests.support import existing_product_targets

PROFILES = ("pks", "cfcr")


@pytest.fixture(scope="session")
def lab_paths() -> LabPaths:
    paths = LabPaths(lab_home(dict(os.environ)))
    build.build_all(paths.home, dict(os.environ))
    return paths


@pytest.fixture(scope="session")
def timeouts() -> Timeouts:
    return Timeouts()


def _fresh(paths: LabPaths, name: str, profile: str, timeouts: Timeouts) -> LabCluster:
    if paths.cluster_dir(name).exists():
        cluster.down(paths, name)
    return cluster.up(paths, name, profile, 1, timeouts.lab_ready)


@pytest.fixture(scope="session")
def lab_clusters(lab_paths: LabPaths, timeouts: Timeouts) -> Iterator[dict[str, LabCluster]]:
    """A `pks` and a `cfcr` cluster, running side by side."""
    clusters: dict[str, LabCluster] = {}
    try:
        for profile in PROFILES:
            clusters[profile] = _fresh(lab_paths, f"{cluster_prefix()}t-{profile}", profile, timeouts)
        yield clusters
    finally:
        for lab in clusters.values():
            cluster.down(lab_paths, lab.layout.name)


@pytest.fixture(params=PROFILES)
def lab(request: pytest.FixtureRequest, lab_clusters: dict[str, LabCluster]) -> LabCluster:
    return lab_clusters[request.param]


@pytest.fixture
def admin(lab: LabCluster) -> Iterator[object]:
    api = kube.from_kubeconfig(Path(lab.layout.kubeconfig(cluster.ADMIN)))
    yield api
    api.close()


def existing_cluster_targets(directory: Path, kubeconfig: str | Path, tenants: tuple[str, ...]) -> Path:
    """A targets file that treats a running lab cluster as an existing cluster (kubeconfig backend),
    with `tenants` on one plan and identities impersonated by the admin."""
    return existing_product_targets(directory, kubeconfig, tenants)
