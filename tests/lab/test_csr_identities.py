"""On a real cluster the suite did not build (a pks lab cluster reached through the kubeconfig backend,
no identities named, impersonation not allowed), tenant identities get client certificates the
cluster issues through its CSR API, and the RBAC checks pass with them as real credentials."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioning.backends.registry import backend_for
from provisioning.kube import client as kube
from provisioning.kube import csr
from provisioning.lab import cluster
from provisioning.settings import build_settings
from provisioning.tenancy import Provisioner
from tests.lab.existing_runs import PRODUCT, caas_run, pks_cluster

# 6-11 min (a cluster, onboarding with CSR certificates, three RBAC checks): nightly; CI covers the CSR path
# with tests/contract/test_csr_identities_contract.py and tests/lab/test_kubeconfig_backend.py
pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(2700)]

CHECKS = ("check_rbac_001", "check_rbac_002", "check_rbac_003")  # cluster scope, other tenants, escalation


def _targets(directory: Path, kubeconfig: Path) -> Path:
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: {PRODUCT}
            backend: kubeconfig
            kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: false}}
            plans: [{{name: default, pod_security: baseline}}]
        tenancy:
          - product: {PRODUCT}
            tenants: [{{name: blue, plan: default}}, {{name: green, plan: default}}]
        """)
    )
    return path


def _csrs(admin: object) -> list[str]:
    return [item["metadata"]["name"] for item in kube.request(admin, "GET", csr.CSRS)["items"]]


def test_identities_get_csr_certificates_and_the_rbac_checks_pass_with_them(tmp_path: Path) -> None:
    with pks_cluster("csr-ids") as lab:
        admin_path = Path(lab.layout.kubeconfig(cluster.ADMIN))
        targets = _targets(tmp_path, admin_path)
        settings = build_settings(targets_path=targets, environment={}, run_id="csrids")
        provisioner = Provisioner(backend_for(settings, PRODUCT), settings.run_id)
        tenancy = provisioner.provision(settings.targets.model, PRODUCT)
        admin = kube.from_kubeconfig(admin_path)
        try:
            identities = tenancy.clusters[0].identities
            credentials = tenancy.clusters[0].credentials
            assert {u: c.origin for u, c in credentials.items()} == {i.user: "real" for i in identities}
            for identity in identities:
                assert credentials[identity.user].cert_pem, f"{identity.user} has a certificate"
                api = tenancy.client_for(identity.user)
                try:
                    seen = kube.who_am_i(api)
                finally:
                    api.close()
                assert seen["username"] == identity.user
                assert set(identity.groups) <= set(seen["groups"]), "every group, from the certificate"
            assert _csrs(admin) == [], "no CSR object is left on the cluster"
        finally:
            provisioner.release()
            admin.close()

        run = caas_run(targets, tmp_path / "out", "csrrun", timeout=1200, checks=CHECKS)
        assert run.statuses == dict.fromkeys(CHECKS, "pass"), run.messages or run.output[-3000:]
