"""On a real cluster the suite did not build (a pks lab cluster reached through the kubeconfig backend,
no identities named, impersonation not allowed), tenant identities get client certificates the
cluster issues through its CSR API, and the RBAC checks pass with them as real credentials.
Where the cluster's policy refuses the approval of CSRs (a ValidatingAdmissionPolicy, as a platform
team might keep approval to itself) and the fallback is allowed, the identities are impersonated and
the run output, the records and the Allure labels say why."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.backends import backend_for
from harness.settings import build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.kube import csr
from provisioning.lab import cluster
from provisioning.tenancy import Provisioner
from tests.lab.existing_runs import PRODUCT, caas_run, pks_cluster
from tests.support import run_caas

# 6-11 min (a cluster, onboarding with CSR certificates, three RBAC checks): nightly; CI covers the CSR path
# with tests/contract/test_csr_identities_contract.py and tests/lab/test_kubeconfig_backend.py
pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(2700)]

CHECKS = ("check_rbac_001", "check_rbac_002", "check_rbac_003")  # cluster scope, other tenants, escalation


def _targets(directory: Path, kubeconfig: Path, impersonate: bool = False) -> Path:
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: {PRODUCT}
            backend: kubeconfig
            kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: {str(impersonate).lower()}}}
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


POLICY = "caas-test-no-csr-approval"
VAP = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
REFUSAL = f"the admin may not approve for signer {csr.SIGNER}"


def _refuse_csr_approval(admin: Any) -> None:
    """A ValidatingAdmissionPolicy refusing every update of a CSR's approval, bound cluster-wide; returns
    once it is in force (a probe CSR's approval is refused; the probe's CSR is deleted either way)."""
    rule = {
        "apiGroups": ["certificates.k8s.io"],
        "apiVersions": ["v1"],
        "operations": ["UPDATE"],
        "resources": ["certificatesigningrequests/approval"],
    }
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [rule]},
            "validations": [
                {"expression": "false", "message": "CSR approval is the platform team's", "reason": "Forbidden"}
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
    }
    kube.request(admin, "POST", VAP, body=policy)
    kube.request(admin, "POST", VAP.replace("policies", "policybindings"), body=binding)

    def refused() -> bool:
        try:
            csr.mint(admin, "caas-policy-probe", ("caas-probe",), issue_timeout=30)
        except csr.CsrRefused as exc:
            return REFUSAL in exc.reason
        return False

    wait_until(refused, bool, timeout=60, what=f"the ValidatingAdmissionPolicy {POLICY} to refuse CSR approvals")


def _labels(run_dir: Path, name: str) -> set[str]:
    found: set[str] = set()
    for result in (run_dir / "allure-results").glob("*-result.json"):
        found |= {label["value"] for label in json.loads(result.read_text())["labels"] if label["name"] == name}
    return found


def test_refused_csr_approvals_are_the_reason_shown_for_impersonation(tmp_path: Path) -> None:
    with pks_cluster("csr-why") as lab:
        admin_path = Path(lab.layout.kubeconfig(cluster.ADMIN))
        admin = kube.from_kubeconfig(admin_path)
        try:
            _refuse_csr_approval(admin)
            run = caas_run(
                _targets(tmp_path, admin_path, impersonate=True), tmp_path / "out", "csrwhy", 1200, CHECKS[:1]
            )
            assert _csrs(admin) == [], "no CSR object is left on the cluster"
        finally:
            admin.close()
    assert run.statuses == {CHECKS[0]: "pass"}, run.messages or run.output[-3000:]
    run_dir = tmp_path / "out" / "csrwhy"
    environment = json.loads((run_dir / "environment.json").read_text())["products"][PRODUCT]
    reasons = environment["clusters"][0]["impersonated"]
    first = sorted(reasons)[0]
    assert len(reasons) >= 4, reasons
    assert set(reasons.values()) == {next(iter(reasons.values()))}, "one refusal, the reason of every identity"
    why = next(iter(reasons.values()))
    assert why.startswith("no CSR certificate for "), why
    assert REFUSAL in why, why
    assert POLICY in why, "the cluster's own words: the policy that refused"
    note = f"{PRODUCT}: credentials impersonated (the admin impersonates tenant identities; why: {first}"
    assert note in run.output, run.output[-3000:]
    assert any(why in label for label in _labels(run_dir, "credential_fallback")), _labels(
        run_dir, "credential_fallback"
    )
    assert _labels(run_dir, "credential") == {"impersonated"}
    results = run_caas("results", str(run_dir), timeout=120, check=True).stdout
    assert note in results, results
    assert why in results, results
    assert why in (run_dir / "decision.md").read_text()
