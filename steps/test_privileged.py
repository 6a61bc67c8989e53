"""Steps of the privileged-container plan rules and plan limits: observe as each tenant, compare with its plan."""

from __future__ import annotations

import json

import allure
from pytest_bdd import parsers, scenarios, then, when

from checks.matrix import Cell, Matrix, to_html_table
from checks.privileged import per_plan
from checks.privileged.cases import PlansObserved, observe_plans, require_plan_verdicts
from checks.privileged.limits import LimitsObservation, require_limits
from checks.privileged.object_limits import (
    Rows,
    describe_rows,
    require_held,
)
from checks.privileged.private_images import (
    PrivateImageObservation,
    comparison,
    forced_pulls,
    heading,
    observe_private_image,
    private_registry,
    shared_pairs,
)
from checks.privileged.tampering import fences_comparison, observe_tampering
from checks.privileged.workloads import (
    DeploymentObservation,
    no_failed_create,
    not_accepted_with_warning,
    require_each,
    some_pod_exists,
)
from checks.verdicts import decide, require
from harness.settings import Settings
from provisioning.model.needs import applicable, promises_limits
from provisioning.model.object_limits import count_probes
from provisioning.model.privileges import control_cells, render_table
from provisioning.model.tenancy import Placement, Tenant
from provisioning.tenancy import ProvisionedTenancy
from reports.plan_tables import ATTACHMENT as PLAN_CONTROL_CELLS

scenarios("privileged")


def _tenants(tenancy: ProvisionedTenancy, placement: Placement) -> tuple[Tenant, ...]:
    """The tenants of `placement`: some (the plugin skipped the scenario otherwise, by its placement tag)."""
    return applicable(tuple(t for t in tenancy.tenants if t.placement is placement), f"{placement.value}_cluster")


def _text(body: str, name: str) -> None:
    allure.attach(body, name=name, attachment_type=allure.attachment_type.TEXT)


@when(
    parsers.parse("each tenant admin on a {placement} cluster asks for every privilege"),
    target_fixture="plan_verdicts",
)
def ask_for_every_privilege(tenancy: ProvisionedTenancy, settings: Settings, placement: str) -> PlansObserved:
    tenants = _tenants(tenancy, Placement(placement))
    return observe_plans(tenancy, tenants, settings.run_id, settings.timeouts.pod_ready)


@then("every privilege gets the verdict its plan implies, with the layer that decided")
def verdicts_as_plans_imply(plan_verdicts: PlansObserved) -> None:
    verdicts = plan_verdicts.verdicts
    table = render_table(verdicts)
    _text(plan_verdicts.describe(), "tenants observed, and the others' fences read back")
    _text(table, "privileges per plan: control, case, expected, observed, layer, API message")
    allure.attach(
        json.dumps(control_cells(verdicts)), name=PLAN_CONTROL_CELLS, attachment_type=allure.attachment_type.JSON
    )
    require_plan_verdicts(verdicts, f"{plan_verdicts.describe()}\n\n{table}", plan_verdicts.covered)


@when(
    "each tenant admin whose plan forbids host namespaces creates a Deployment whose pod uses one",
    target_fixture="deployments",
)
def forbidden_deployments(tenancy: ProvisionedTenancy, settings: Settings) -> list[DeploymentObservation]:
    tenants = _tenants(tenancy, Placement.SHARED)
    seen, observations = per_plan.forbidden_deployments(tenancy, tenants, settings.run_id, settings.timeouts.pod_ready)
    applicable(observations, "needs_plan_forbidding_host_namespaces")
    _text(seen.describe(), "tenants observed, and the others' namespace labels and Deployment dry run read back")
    _text("\n".join(o.describe() for o in observations), "Deployments with a forbidden pod")
    return observations


@then("each Deployment was accepted with a pod-security warning")
def accepted_with_warning(deployments: list[DeploymentObservation]) -> None:
    require_each(deployments, not_accepted_with_warning)


@then("each Deployment's ReplicaSet recorded that it failed to create the pod")
def replica_set_failed_create(deployments: list[DeploymentObservation]) -> None:
    require_each(deployments, no_failed_create)


@then("no pod of those Deployments exists")
def no_pod_exists(deployments: list[DeploymentObservation]) -> None:
    require_each(deployments, some_pod_exists)


@when("each tenant admin on a shared cluster tries to change its fences", target_fixture="tampering")
def try_to_change_fences(tenancy: ProvisionedTenancy, settings: Settings) -> Matrix:
    return observe_tampering(tenancy, _tenants(tenancy, Placement.SHARED), settings.run_id)


@then("the observed access is exactly:")
def access_is_exactly(tampering: Matrix, datatable: list[list[str]]) -> None:
    comparison = fences_comparison(tampering, {row[0].strip(): Cell(row[1].strip()) for row in datatable[1:]})
    _text(f"tenant fences of {len(tampering.rows)} tenant(s)\n\n{comparison.render()}", "tenant fences (text)")
    allure.attach(to_html_table(comparison), name="tenant fences (table)", attachment_type=allure.attachment_type.HTML)
    require(comparison, comparison.render())


@when("each tenant admin meets its plan's limits", target_fixture="limits")
def meet_plan_limits(tenancy: ProvisionedTenancy, settings: Settings) -> list[LimitsObservation]:
    tenants = [t for t in tenancy.tenants if promises_limits(tenancy.product.plan(t.plan))]
    applicable(tenants, "needs_plan_limits")
    seen, observations = per_plan.plan_limits(tenancy, tenants, settings.run_id, settings.timeouts.pod_ready)
    _text(seen.describe(), "tenants observed, and the others' quotas and limit ranges read back")
    _text("\n".join(o.describe() for o in observations), "plan limits")
    return observations


@then("every tenant's limits are exactly its plan's")
def limits_are_the_plans(limits: list[LimitsObservation]) -> None:
    require_limits(limits)


@when(
    parsers.parse(
        "a tenant admin on a {placement} cluster runs its private image "
        "and another tenant's admin starts it on the same node"
    ),
    target_fixture="private_images",
)
def start_another_tenants_private_image(
    tenancy: ProvisionedTenancy, settings: Settings, placement: str
) -> list[PrivateImageObservation]:
    pairs = applicable(shared_pairs(tenancy, Placement(placement)), "needs_two_tenants_on_a_cluster")
    where = applicable(private_registry(tenancy, settings), "needs_private_registry")
    timeout = settings.timeouts.pod_ready
    images = settings.lab_home / "images"
    return [observe_private_image(tenancy, p, where, images, settings.run_id, timeout) for p in pairs]


@then("the other tenant's pods are refused, once the owner's pod ran")
def other_tenant_refused(
    private_images: list[PrivateImageObservation], tenancy: ProvisionedTenancy, settings: Settings
) -> None:
    text = heading(private_images[0].registry, forced_pulls(settings, tenancy.product.name))
    _text("\n".join(o.describe() for o in private_images), "private images: owner's and other tenant's pods")
    decide(comparison(private_images), "private images on shared nodes", text)


@when(
    "each tenant admin fills every object count its plan promises and asks for one more",
    target_fixture="object_counts",
)
def fill_object_counts(tenancy: ProvisionedTenancy, settings: Settings) -> Rows:
    tenants = [t for t in tenancy.tenants if count_probes(tenancy.product.plan(t.plan))]
    applicable(tenants, "needs_plan_object_counts")
    seen, rows = per_plan.object_counts(tenancy, tenants, settings.run_id, settings.timeouts.pod_ready)
    _text(seen.describe(), "tenants observed, and the others' quotas and limit ranges read back")
    _text(describe_rows(rows), "object counts filled to one past the plan's")
    return rows


@then("each count admits its last object and refuses the one past it")
def counts_hold(object_counts: Rows) -> None:
    require_held(object_counts, "n-th admitted, (n+1)-th refused by quota")


@when("each tenant admin creates a pod of each system-critical priority class", target_fixture="priorities")
def create_system_critical_pods(tenancy: ProvisionedTenancy, settings: Settings) -> Rows:
    seen, rows = per_plan.system_priorities(tenancy, tenancy.tenants, settings.run_id)
    _text(seen.describe(), "tenants observed, and the others' quotas, labels and a system-critical dry run read back")
    _text(describe_rows(rows), "pods at system-critical priorities")
    return rows


@then("every such pod is refused, while the same pod without a class is admitted")
def system_priorities_refused(priorities: Rows) -> None:
    require_held(priorities, "refused")
