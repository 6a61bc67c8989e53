"""What a tenant admin tries against its own fences: weaken its namespace's pod-security level,
create a namespace of its own; and, as the positive control, something it may do (observation only)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from checks import answered
from checks.answered import Answered
from checks.matrix import Cell, Comparison, Matrix, apply_positive_control, compare
from provisioning.kube import client as kube
from provisioning.model.fences import ENFORCE
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedTenancy

CONTROL = "create a configmap in its namespace"
RELABEL = "relabel its namespace to privileged"
NEW_NAMESPACE = "create a namespace"
ACTIONS = (CONTROL, RELABEL, NEW_NAMESPACE)


def _cell(action: Callable[[], Any]) -> Answered:
    """ALLOWED if the request succeeded, else what the one classifier reads in the answer
    (`checks.answered.failed`: DENIED with the layer that refused, ERROR for no answer or an invalid one)."""
    try:
        action()
    except kube.ApiFailure as exc:
        return answered.failed(exc)
    return answered.succeeded("succeeded")


def observe_tampering(tenancy: ProvisionedTenancy, tenants: tuple[Tenant, ...], run_id: str) -> Matrix:
    """One row per tenant, one column per action, each cell with the layer that decided it; undoes, as
    the cluster admin, whatever succeeded."""
    seen = {
        (tenant.name, action): cell
        for tenant in tenants
        for action, cell in _observe_tenant(tenancy, tenant, run_id).items()
    }
    return Matrix.build(
        [t.name for t in tenants],
        ACTIONS,
        {k: a.cell for k, a in seen.items()},
        {k: a.evidence for k, a in seen.items()},
        {k: a.layer for k, a in seen.items()},
    )


def _observe_tenant(tenancy: ProvisionedTenancy, tenant: Tenant, run_id: str) -> dict[str, Answered]:
    api = tenancy.client_for(f"{tenant.name}-admin")
    admin = tenancy.admin_client(tenancy.cluster_of(tenant.name))
    suffix = secrets.token_hex(3)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"allowed-{suffix}", "labels": run_labels(run_id, tenant.name)},
        "data": {"plan": tenant.plan},
    }
    new_namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": f"{tenant.namespace}-extra-{suffix}", "labels": run_labels(run_id, tenant.name)},
    }
    namespace_path = f"/api/v1/namespaces/{tenant.namespace}"
    weaker = {"metadata": {"labels": {ENFORCE: "privileged"}}}
    before = kube.call(admin, "CoreV1Api", "read_namespace", tenant.namespace).metadata.labels or {}
    try:
        return {
            CONTROL: _cell(lambda: kube.request(api, "POST", f"{namespace_path}/configmaps", body=config_map)),
            RELABEL: _cell(
                lambda: kube.request(
                    api, "PATCH", namespace_path, body=weaker, content_type="application/merge-patch+json"
                )
            ),
            NEW_NAMESPACE: _cell(lambda: kube.request(api, "POST", "/api/v1/namespaces", body=new_namespace)),
        }
    finally:
        _undo(admin, tenant, suffix, before.get(ENFORCE, ""))
        api.close()
        admin.close()


def _undo(admin: Any, tenant: Tenant, suffix: str, level: str) -> None:
    for path in (
        f"/api/v1/namespaces/{tenant.namespace}/configmaps/allowed-{suffix}",
        f"/api/v1/namespaces/{tenant.namespace}-extra-{suffix}",
    ):
        kube.delete_if_present(admin, path)
    if level:
        kube.request(
            admin,
            "PATCH",
            f"/api/v1/namespaces/{tenant.namespace}",
            body={"metadata": {"labels": {ENFORCE: level}}},
            content_type="application/merge-patch+json",
        )


def fences_comparison(tampering: Matrix, wanted: Mapping[str, Cell]) -> Comparison:
    """Every tenant's row against `wanted` (action -> cell); the allowed action (CONTROL) is the positive
    control: when it is not ALLOWED, no denial counts (ERROR, never a pass)."""
    expected = Matrix.build(
        tampering.rows, tampering.columns, {(r, c): wanted[c] for r in tampering.rows for c in tampering.columns}
    )
    return compare(expected, apply_positive_control(expected, tampering))
