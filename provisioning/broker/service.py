"""The bundled service broker: lab clusters as Open Service Broker instances (API v2.17, via openbrokerapi).

Its catalog is one service whose plans are a product's plans from the targets
file. Provisioning is asynchronous: the instance's cluster is created in the
background and `last_operation` reports it. Bindings carry a kubeconfig: the
admin's, or with parameters `{user, groups}` a client certificate for that
identity. The answers follow the spec:

- a repeated identical PUT: 202 with the same operation while in progress, 200 once done;
- a PUT with the same id and other attributes: 409 Conflict;
- any request that mutates an instance while an operation on it runs: 422 ConcurrencyError;
- a DELETE of an unknown instance or binding: 410 Gone; `last_operation` of a removed instance: 410.

Concurrent identical PUTs create exactly one cluster: the decision is taken under one lock.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openbrokerapi import errors
from openbrokerapi.catalog import ServicePlan
from openbrokerapi.service_broker import (
    BindDetails,
    Binding,
    BindState,
    DeprovisionDetails,
    DeprovisionServiceSpec,
    LastOperation,
    OperationState,
    ProvisionDetails,
    ProvisionedServiceSpec,
    ProvisionState,
    Service,
    ServiceBroker,
    UnbindDetails,
    UnbindSpec,
)

from provisioning.broker.clusters import ClusterMaker
from provisioning.model.tenancy import Product

LOGGER = logging.getLogger("caas.broker")
SERVICE_ID = "caas-lab-cluster"
IN_PROGRESS = "in progress"
SUCCEEDED = "succeeded"
FAILED = "failed"


def cluster_name(prefix: str, instance_id: str) -> str:
    """The lab cluster of an instance: short, valid as a lab name, stable for the instance id."""
    return f"{prefix}osb-{hashlib.sha256(instance_id.encode()).hexdigest()[:8]}"


@dataclass
class _Binding:
    parameters: str
    credentials: dict[str, Any] = field(repr=False)


@dataclass
class _Instance:
    attributes: str  # service, plan and parameters, canonical JSON: decides identical vs conflicting
    plan_id: str
    cluster: str
    run_id: str
    action: str  # provision | deprovision
    state: str
    operation: str
    description: str = ""
    bindings: dict[str, _Binding] = field(default_factory=dict)


class LabClusterBroker(ServiceBroker):  # type: ignore[misc]
    """An OSB broker in front of a ClusterMaker; safe under concurrent requests."""

    def __init__(
        self,
        product: Product,
        clusters: ClusterMaker,
        cluster_prefix: str = "",
        start: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.product = product
        self.clusters = clusters
        self.cluster_prefix = cluster_prefix
        self._start = start or _in_thread
        self._lock = threading.Lock()
        self._instances: dict[str, _Instance] = {}
        self._operations = itertools.count(1)
        self.created: list[str] = []  # cluster names in creation order (the broker's own record)

    def live_clusters(self) -> list[str]:
        """Clusters of instances the broker still knows (provisioned, or being created or removed)."""
        with self._lock:
            return sorted(i.cluster for i in self._instances.values())

    # -- catalog ---------------------------------------------------------------------------------
    def plan_id(self, plan_name: str) -> str:
        return f"{self.product.name}-{plan_name}"

    def catalog(self) -> Service:
        return Service(
            id=SERVICE_ID,
            name=SERVICE_ID,
            description=f"Kubernetes clusters of the embedded lab, with the plans of product {self.product.name}",
            bindable=True,
            plans=[
                ServicePlan(
                    id=self.plan_id(plan.name),
                    name=plan.name,
                    description=f"{plan.workers} worker(s), privileged "
                    f"{'allowed' if plan.allow_privileged else 'denied'}, pod security {plan.pod_security.value}",
                )
                for plan in self.product.plans
            ],
        )

    def _plan(self, plan_id: str) -> Any:
        for plan in self.product.plans:
            if self.plan_id(plan.name) == plan_id:
                return plan
        raise errors.ErrBadRequest(f"unknown plan {plan_id}")

    # -- instances -------------------------------------------------------------------------------
    def provision(
        self, instance_id: str, details: ProvisionDetails, async_allowed: bool, **kwargs: Any
    ) -> ProvisionedServiceSpec:
        if not async_allowed:
            raise errors.ErrAsyncRequired()
        plan = self._plan(details.plan_id)
        attributes = json.dumps([details.service_id, details.plan_id, details.parameters or {}], sort_keys=True)
        context = details.context if isinstance(details.context, dict) else {}
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is not None:
                if instance.action == "deprovision" and instance.state == IN_PROGRESS:
                    raise errors.ErrConcurrentInstanceAccess()
                if instance.attributes != attributes:
                    raise errors.ErrInstanceAlreadyExists()
                if instance.state == IN_PROGRESS:
                    return ProvisionedServiceSpec(ProvisionState.IS_ASYNC, operation=instance.operation)
                if instance.state == SUCCEEDED:
                    return ProvisionedServiceSpec(ProvisionState.IDENTICAL_ALREADY_EXISTS)
            name = cluster_name(self.cluster_prefix, instance_id)
            instance = _Instance(
                attributes=attributes,
                plan_id=details.plan_id,
                cluster=name,
                run_id=str(context.get("run_id") or ""),
                action="provision",
                state=IN_PROGRESS,
                operation=f"provision-{next(self._operations)}",
            )
            self._instances[instance_id] = instance
            self.created.append(name)
        self._start(lambda: self._create(instance, plan))
        return ProvisionedServiceSpec(ProvisionState.IS_ASYNC, operation=instance.operation)

    def _create(self, instance: _Instance, plan: Any) -> None:
        LOGGER.info("creating cluster %s on plan %s (%s)", instance.cluster, plan.name, instance.operation)
        try:
            self.clusters.create(instance.cluster, plan, instance.run_id)
        except Exception as exc:
            LOGGER.warning("cluster %s failed: %s", instance.cluster, exc)
            self._finish(instance, FAILED, f"creating cluster {instance.cluster} failed: {exc}")
        else:
            LOGGER.info("cluster %s is ready", instance.cluster)
            self._finish(instance, SUCCEEDED, f"cluster {instance.cluster} is ready")

    def _finish(self, instance: _Instance, state: str, description: str) -> None:
        with self._lock:
            instance.state = state
            instance.description = description

    def last_operation(
        self, instance_id: str, operation_data: str | None, service_id: str | None, plan_id: str | None, **kwargs: Any
    ) -> LastOperation:
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                raise errors.ErrInstanceDoesNotExist()
            state = {IN_PROGRESS: OperationState.IN_PROGRESS, SUCCEEDED: OperationState.SUCCEEDED}.get(
                instance.state, OperationState.FAILED
            )
            return LastOperation(state, instance.description or f"{instance.action} {instance.state}")

    def deprovision(
        self, instance_id: str, details: DeprovisionDetails, async_allowed: bool, **kwargs: Any
    ) -> DeprovisionServiceSpec:
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                raise errors.ErrInstanceDoesNotExist()
            if instance.state == IN_PROGRESS:
                raise errors.ErrConcurrentInstanceAccess()
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            instance.action, instance.state, instance.description = "deprovision", IN_PROGRESS, ""
            instance.operation = f"deprovision-{next(self._operations)}"
            instance.bindings.clear()
        self._start(lambda: self._delete(instance_id, instance))
        return DeprovisionServiceSpec(is_async=True, operation=instance.operation)

    def _delete(self, instance_id: str, instance: _Instance) -> None:
        LOGGER.info("deleting cluster %s (%s)", instance.cluster, instance.operation)
        try:
            self.clusters.delete(instance.cluster)
        except Exception as exc:
            LOGGER.warning("deleting cluster %s failed: %s", instance.cluster, exc)
            self._finish(instance, FAILED, f"deleting cluster {instance.cluster} failed: {exc}")
            return
        LOGGER.info("cluster %s is deleted", instance.cluster)
        with self._lock:
            self._instances.pop(instance_id, None)

    # -- bindings --------------------------------------------------------------------------------
    def bind(
        self, instance_id: str, binding_id: str, details: BindDetails, async_allowed: bool, **kwargs: Any
    ) -> Binding:
        parameters = details.parameters or {}
        canonical = json.dumps(parameters, sort_keys=True)
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                raise errors.ErrBadRequest(f"no instance {instance_id}")
            if instance.state == IN_PROGRESS:
                raise errors.ErrConcurrentInstanceAccess()
            if instance.state != SUCCEEDED:
                raise errors.ErrBadRequest(f"instance {instance_id} failed: {instance.description}")
            existing = instance.bindings.get(binding_id)
            if existing is not None:
                if existing.parameters != canonical:
                    raise errors.ErrBindingAlreadyExists()
                return Binding(BindState.IDENTICAL_ALREADY_EXISTS, credentials=existing.credentials)
            cluster = instance.cluster
        user = parameters.get("user")
        groups = parameters.get("groups") or []
        if user is not None and (not isinstance(user, str) or not all(isinstance(g, str) for g in groups)):
            raise errors.ErrBadRequest("binding parameters: user must be text and groups a list of text")
        credentials = {
            "kubeconfig": self.clusters.kubeconfig(cluster, user, tuple(groups)),
            "cluster_name": cluster,
        }
        with self._lock:
            instance.bindings[binding_id] = _Binding(canonical, credentials)
        return Binding(BindState.SUCCESSFUL_BOUND, credentials=credentials)

    def unbind(
        self, instance_id: str, binding_id: str, details: UnbindDetails, async_allowed: bool, **kwargs: Any
    ) -> UnbindSpec:
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or binding_id not in instance.bindings:
                raise errors.ErrBindingDoesNotExist()
            del instance.bindings[binding_id]
        return UnbindSpec(is_async=False)


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="broker-operation", daemon=True).start()
