"""Which Service types a tenant may create, asked with its admin's own credentials as dry runs (nothing is
created, no node port or load balancer allocated). Observation only: {type: its answered cell}, allowed
when the API server accepted the request, denied when the one classifier reads a refusal in its answer
(the authorizer, an admission plugin or policy), error otherwise (`checks.answered`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from checks import answered
from checks.answered import Answered
from checks.matrix import Cell, Matrix
from provisioning.kube import client as kube
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.tenancy import SERVICE_TYPES, Tenant
from provisioning.tenancy import ProvisionedTenancy

NAME = "caas-service-type"


def service_of_type(service_type: str, run_id: str, tenant: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": service_type}
    if service_type == "ExternalName":
        spec["externalName"] = "example.com"
    else:
        spec["selector"] = {"app": "a", "probe": "caas"}
        spec["ports"] = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{NAME}-{service_type.lower()}", "labels": run_labels(run_id, tenant)},
        "spec": spec,
    }


def try_service_types(api: Any, namespace: str, run_id: str, tenant: str) -> dict[str, Answered]:
    """A dry-run create of a Service of every type Kubernetes knows in `namespace`: {type: its answered
    cell}, read by the one classifier (`checks.answered`)."""
    answers: dict[str, Answered] = {}
    for service_type in SERVICE_TYPES:
        try:
            kube.request(
                api,
                "POST",
                f"/api/v1/namespaces/{namespace}/services",
                body=service_of_type(service_type, run_id, tenant),
                query={"dryRun": "All"},
            )
            answers[service_type] = answered.succeeded("created (dry run)")
        except kube.ApiFailure as failure:
            answers[service_type] = answered.failed(failure)
    return answers


def observe_service_types(tenancy: ProvisionedTenancy, tenants: Sequence[Tenant]) -> Matrix:
    """Every tenant's admin asks for a Service of every type (`try_service_types`) -> rows: tenant names,
    columns: SERVICE_TYPES, with the API server's answers as evidence and who decided each."""
    cells, evidence, layers = {}, {}, {}
    for tenant in tenants:
        api = tenancy.client_for(f"{tenant.name}-admin")
        try:
            answers = try_service_types(api, tenant.namespace, tenancy.run_id, tenant.name)
        finally:
            api.close()
        for service_type, answer in answers.items():
            cells[(tenant.name, service_type)] = answer.cell
            evidence[(tenant.name, service_type)] = answer.evidence
            layers[(tenant.name, service_type)] = answer.layer
    return Matrix.build([t.name for t in tenants], list(SERVICE_TYPES), cells, evidence, layers)


def allowed_service_types(plans: Sequence[tuple[str, Collection[str]]]) -> Matrix:
    """What the plans allow (pure): [(tenant, its plan's service_types)] -> allowed for those types,
    denied for every other type of SERVICE_TYPES (targets file: plans[].service_types)."""
    return Matrix.build(
        [tenant for tenant, _ in plans],
        list(SERVICE_TYPES),
        {
            (tenant, kind): Cell.ALLOWED if kind in allowed else Cell.DENIED
            for tenant, allowed in plans
            for kind in SERVICE_TYPES
        },
    )
