"""When tenant identities fall back to the admin's impersonation, the reason travels with them: the
credential, the tenancy file the xdist workers read, the run's environment record, the decision page's
credentials line, the notes `caas run` and `caas results` print, and the scenario's Allure labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import allure
import pytest

from checks.rbac.credentials import FALLBACK_LABEL, label_credential, mark_scenario
from harness.settings import DEFAULT_TARGETS
from harness.targets import load_targets
from provisioning import tenancy_state
from provisioning.backends import csr_identities
from provisioning.backends.csr_identities import IdentityPolicy
from provisioning.backends.protocol import ClusterHandle, Credential
from provisioning.kube import csr
from provisioning.model.tenancy import Authenticator, AuthorizationMode, Identity, Role
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from reports.findings import _credentials, impersonation_notes, impersonation_reasons

HANDLE = ClusterHandle("bk-p-shared", "p", "https://10.0.0.1:6443", b"CA", Path("/x"), AuthorizationMode.RBAC, "pks")
IDENTITIES = (
    Identity("blue-admin", "blue", Role.ADMIN),
    Identity("blue-viewer", "blue", Role.VIEWER),
    Identity("oidc:blue-admin", "blue", Role.ADMIN, Authenticator.OIDC),
)
UNSIGNED = f"approved, but no certificate within 30s: the cluster has no signer for {csr.SIGNER}"


class _Admin:
    def close(self) -> None:
        """Nothing to close."""


def _issue(monkeypatch: pytest.MonkeyPatch, policy: IdentityPolicy) -> tuple[dict[str, Credential], list[str]]:
    """`csr_identities.issue` on a cluster whose signer never signs (csr.mint refuses), and the users asked."""
    asked: list[str] = []

    def mint(api: Any, user: str, groups: tuple[str, ...], **kw: Any) -> csr.IssuedCertificate:
        asked.append(user)
        raise csr.CsrRefused(user, UNSIGNED)

    monkeypatch.setattr(csr_identities.kube, "from_kubeconfig", lambda *a, **kw: _Admin())
    monkeypatch.setattr(csr_identities.csr, "mint", mint)
    return csr_identities.issue(HANDLE, IDENTITIES, policy), asked


def test_an_unsigned_csr_is_the_reason_every_identity_of_the_cluster_is_impersonated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued, asked = _issue(monkeypatch, IdentityPolicy(impersonation_fallback=True))
    assert asked == ["blue-admin"], "refused once, not asked again"
    why = f"no CSR certificate for blue-admin: {UNSIGNED}"
    assert {u: c.origin_detail for u, c in issued.items()} == {
        "blue-admin": f"impersonated: {why}",
        "blue-viewer": f"impersonated: {why}",
        "oidc:blue-admin": "impersonated: oidc identities get no certificate through the CSR API",
    }
    assert Credential(cert_pem=b"C", key_pem=b"K").origin_detail == "real"


def test_identities_via_csr_false_is_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = IdentityPolicy(via_csr=False, impersonation_fallback=True, where="products[2]")
    issued, asked = _issue(monkeypatch, policy)
    assert asked == []
    assert {c.fallback_reason for c in issued.values()} == {
        "products[2].identities_via_csr is false (certificates are not asked for)"
    }


def test_the_reason_survives_the_tenancy_file_the_workers_read() -> None:
    credential = Credential(impersonate=("blue-admin", ("blue:admins",)), fallback_reason="the CSR was denied: no")
    assert tenancy_state._read_credential(tenancy_state._credential(credential)) == credential
    old = {k: v for k, v in tenancy_state._credential(credential).items() if k != "fallback_reason"}
    assert tenancy_state._read_credential(old).origin_detail == "impersonated: no reason recorded"


def _environment(impersonated: dict[str, str]) -> dict[str, Any]:
    kinds = ["certificate", "impersonation"] if impersonated else ["certificate"]
    return {
        "clusters": [{"name": "c", "credentials": kinds, **({"impersonated": impersonated} if impersonated else {})}]
    }


def test_the_records_say_why_grouped_by_reason() -> None:
    reasons = {
        "blue-admin": "no CSR certificate for blue-admin: x",
        "green-admin": "no CSR certificate for blue-admin: x",
    }
    reasons["oidc:blue-admin"] = "oidc identities get no certificate through the CSR API"
    assert impersonation_reasons(reasons) == [
        "blue-admin, green-admin: no CSR certificate for blue-admin: x",
        "oidc:blue-admin: oidc identities get no certificate through the CSR API",
    ]
    text = _credentials(_environment(reasons))
    assert text.startswith("impersonated (the admin impersonates tenant identities; why: blue-admin, green-admin: no")
    assert text.endswith("; real for some: certificate")
    environments = {"p": _environment(reasons), "q": _environment({})}
    assert impersonation_notes(environments, ["p", "q", "absent"]) == [f"p: credentials {text}"]


def test_the_scenarios_allure_labels_say_why(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    model = load_targets(DEFAULT_TARGETS).model
    tenancy = ProvisionedTenancy(model.product("pks"), "run-1")
    credentials = {
        "blue-admin": Credential(impersonate=("blue-admin", ("blue:admins",)), fallback_reason="the CSR was denied"),
        "blue-viewer": Credential(token="t0ken-for-the-test"),
    }
    tenancy.clusters.append(ProvisionedCluster(HANDLE, model.tenants["pks"][:1], credentials))
    labels: list[tuple[str, str]] = []
    monkeypatch.setattr(allure.dynamic, "label", lambda name, *values: labels.extend((name, v) for v in values))
    token = mark_scenario(request.node, tenancy)
    try:
        label_credential(request.node)
    finally:
        token.var.reset(token)
    assert labels == [("credential", "impersonated"), (FALLBACK_LABEL, "blue-admin: the CSR was denied")]
