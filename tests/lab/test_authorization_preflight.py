"""On a real RBAC cluster (a one-node pks lab cluster) reached through a kubeconfig, `caas run` refutes a plan
stating `authorization: abac` before pytest starts: exit 2, one line naming the plan's field and the fix,
no run folder, nothing created on the cluster; the same pre-flight takes the plan stating `rbac`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from harness.targets import load_targets
from provisioning.backends import kubeconfig_authorization as authz
from provisioning.kube import client as kube
from provisioning.lab import cluster
from tests.lab.existing_runs import pks_cluster
from tests.lab.inventory import suite_run_id
from tests.support import run_caas

pytestmark = pytest.mark.lab

ROLES = ("admin", "developer", "viewer")


def _targets(directory: Path, kubeconfig: Path, authorization: str) -> Path:
    context = yaml.safe_load(kubeconfig.read_text())["current-context"]
    identities = ", ".join(f"{t}-{r}: {{context: {context}}}" for t in ("blue",) for r in ROLES)
    path = directory / f"targets-{authorization}.yaml"
    path.write_text(
        "version: 1\n"
        "products:\n"
        "  - name: acme\n"
        "    backend: kubeconfig\n"
        "    onboarding: existing\n"
        f"    kubeconfig: {{path: {kubeconfig}, identities: {{{identities}}}}}\n"
        f"    plans: [{{name: small, authorization: {authorization}}}]\n"
        "tenancy:\n"
        "  - product: acme\n"
        "    tenants: [{name: blue, plan: small, namespaces: [acme-blue]}]\n"
    )
    return path


def _namespaces(api: object) -> list[str]:
    return sorted(item["metadata"]["name"] for item in kube.request(api, "GET", "/api/v1/namespaces")["items"])


def test_a_plan_stating_abac_on_an_rbac_cluster_stops_the_run_before_anything_starts(tmp_path: Path) -> None:
    with pks_cluster("authz-pre") as lab:
        admin_path = lab.layout.kubeconfig(cluster.ADMIN)
        admin = kube.from_kubeconfig(admin_path)
        try:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acme-blue"}}
            kube.request(admin, "POST", "/api/v1/namespaces", body=namespace)  # the provider's onboarding
            before = _namespaces(admin)
            rbac = _targets(tmp_path, admin_path, "rbac")
            taken = load_targets(rbac)
            assert authz.refuted_plans(taken.spec, str(rbac), tmp_path, ("acme",)) == [], "rbac stands"

            abac = _targets(tmp_path, admin_path, "abac")
            run_id = suite_run_id("authz-pre")
            started = time.monotonic()
            done = run_caas(
                *("run", "--targets", str(abac), "--output", str(tmp_path / "out"), "--run-id", run_id), timeout=300
            )
            seconds = time.monotonic() - started
            print(f"caas run refused the abac plan in {seconds:.1f}s: {done.stderr.strip()}")

            assert done.returncode == 2, done.stdout + done.stderr
            [line] = done.stderr.splitlines()
            assert line.startswith(f"caas: error: {abac}: products[0].plans[0].authorization: "), line
            assert 'plan "small" says authorization: abac, but on the cluster of context ' in line
            assert "no ABAC authorizer answers" in line
            assert line.endswith("or point the kubeconfig at a cluster that authorizes by ABAC)"), line
            assert not (tmp_path / "out" / run_id).exists(), "no run folder: pytest never started"
            assert _namespaces(admin) == before, "nothing was created on the cluster"
            assert not [s for s in cluster.list_clusters(lab.paths) if s.run_id == run_id]
        finally:
            admin.close()
