"""The adapter of onboarding: existing (provisioning/tenancy_existing.py) against a faked API: it only
reads the provider's fences, and its release deletes only what carries the run's label."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.kube import client as kube
from provisioning.model.tenancy import Tenant
from provisioning.tenancy_existing import _labelled_objects, read_fences

QUOTA = {"metadata": {"name": "acme-budget"}, "spec": {"hard": {"pods": "10"}}}
POLICY = {"metadata": {"name": "acme-ingress-guard"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def _fake(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> list[tuple[str, str, Any]]:
    asked: list[tuple[str, str, Any]] = []

    def request(_api: Any, method: str, path: str, query: Any = None, **_kw: Any) -> Any:
        asked.append((method, path, query))
        if path not in answers:
            raise kube.ApiFailure(404, "Not Found", "")
        return answers[path]

    monkeypatch.setattr(kube, "request", request)
    return asked


def test_the_fences_are_read_and_nothing_else_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = "acme-blue-prod"
    asked = _fake(
        monkeypatch,
        {
            f"/api/v1/namespaces/{ns}": {
                "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}
            },
            f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies": {"items": [POLICY]},
            f"/api/v1/namespaces/{ns}/resourcequotas": {"items": [QUOTA]},
            f"/api/v1/namespaces/{ns}/limitranges": {"items": []},
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings": {"items": []},
        },
    )
    fences = read_fences(object(), ns)
    assert fences.labels == {"pod-security.kubernetes.io/enforce": "baseline"}
    assert fences.network_policies == (POLICY,)
    assert fences.resource_quotas == (QUOTA,)
    assert {method for method, _, _ in asked} == {"GET"}


def test_a_missing_namespace_is_the_apis_404(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, {})
    with pytest.raises(kube.ApiFailure) as raised:
        read_fences(object(), "acme-gone")
    assert raised.value.status == 404


def test_release_chooses_only_the_runs_labelled_objects_in_the_tenants_namespaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns = "acme-blue-prod"
    asked = _fake(
        monkeypatch,
        {
            f"/api/v1/namespaces/{ns}/pods": {"items": [{"metadata": {"name": "probe-a"}}]},
            f"/api/v1/namespaces/{ns}/secrets": {"items": [{"metadata": {"name": "caas-pull"}}]},
        },
    )
    tenant = Tenant("blue", "small", namespaces=(ns,))
    chosen = list(_labelled_objects(object(), (tenant,), "r1"))
    assert chosen == [f"/api/v1/namespaces/{ns}/pods/probe-a", f"/api/v1/namespaces/{ns}/secrets/caas-pull"]
    assert all(query == {"labelSelector": "caas-conformance.io/run-id=r1"} for _, _, query in asked)
    assert all(f"/namespaces/{ns}/" in path for _, path, _ in asked)


def test_the_summary_says_what_the_fences_amount_to() -> None:
    from provisioning.model.fences import NamespaceFences
    from provisioning.model.tenancy import Plan
    from provisioning.tenancy_existing import ExistingTenancy, TenantFindings

    judged = ExistingTenancy(backend=object(), run_id="r1")  # type: ignore[arg-type]
    fences = NamespaceFences("acme-green-prod", network_policies=(POLICY,))
    judged.findings["green"] = TenantFindings(
        "green",
        fences,
        Plan("medium@green"),
        ("control_plane_egress: declared False, found True",),
        {"green-viewer": None},
    )
    assert judged.summary().splitlines() == [
        "tenant green in namespace acme-green-prod: effective plan medium@green",
        "  ingress isolated: True, egress isolated: False",
        "  control_plane_egress: declared False, found True",
        "  green-viewer: no tenant role",
    ]
