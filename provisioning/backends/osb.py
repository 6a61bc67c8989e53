"""The `osb` backend: clusters as service instances of an Open Service Broker (API v2.17).

`OsbClient` speaks the broker API: catalog, provision with `accepts_incomplete`
and `last_operation` polling, bind, unbind and deprovision, with the headers
`X-Broker-API-Version` and `X-Broker-API-Originating-Identity`, and the spec's
409 / 410 / 422 answers turned into one clear line each. `OsbBackend` provisions
a cluster as an instance of the plan named like the tenant's plan, binds once
for the admin kubeconfig and once per tenant identity (the binding's parameters
name the user and groups), and on release unbinds and deprovisions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.errors import InfrastructureError
from harness.wait import wait_until
from provisioning.backends import kubeconfig_files
from provisioning.backends.cleanup import undo as _undo
from provisioning.backends.osb_spec import OsbSpec
from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.http import HttpClient, HttpFailure, Proxy, TransientHttpFailure, basic_auth
from provisioning.model.tenancy import Identity

API_VERSION = "2.17"
PLATFORM = "caas-conformance"
IN_PROGRESS = "in progress"
SUCCEEDED = "succeeded"


class OsbConflict(HttpFailure):
    """409: the instance or binding exists with other attributes."""


class OsbGone(HttpFailure):
    """410: the instance or binding does not exist."""


class OsbConcurrency(HttpFailure):
    """422 ConcurrencyError: another operation on the instance is in progress."""


class OsbOperationFailed(InfrastructureError):
    """`last_operation` ended in `failed`."""


@dataclass(frozen=True)
class Accepted:
    """A broker's answer to a PUT or DELETE: its status and the operation to poll (if async)."""

    status: int
    operation: str | None
    body: dict[str, Any] = field(default_factory=dict, repr=False)


class OsbClient:
    """A client of one broker; every call has a timeout and goes through the target's proxy if set."""

    def __init__(
        self,
        broker_url: str,
        *,
        username: str,
        password: str,
        timeout: float,
        proxy: Proxy | None = None,
        originating_user: str | None = None,
        where: str = "osb",
    ) -> None:
        self.http = HttpClient(broker_url, service="Service broker", timeout=timeout, proxy=proxy, secrets=(password,))
        self.where = where
        self._headers = {"Authorization": basic_auth(username, password), "X-Broker-API-Version": API_VERSION}
        if originating_user:
            identity = base64.b64encode(json.dumps({"user_id": originating_user}).encode()).decode()
            self._headers["X-Broker-API-Originating-Identity"] = f"{PLATFORM} {identity}"

    def __repr__(self) -> str:
        return f"OsbClient({self.http.base_url})"

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        hints = {
            401: f"the broker rejected the credentials: check {self.where}.username_env and {self.where}.password_env",
            409: f"{what} exists already with other attributes (409 Conflict): use another id or remove it",
            410: f"{what} does not exist (410 Gone)",
            412: f"the broker does not support API version {API_VERSION} (412 Precondition Failed)",
        }
        try:
            return self.http.request(method, path, headers=self._headers, hints=hints, **kwargs)
        except HttpFailure as exc:
            if exc.status == 409:
                raise OsbConflict(str(exc), exc.status, exc.error_code) from None
            if exc.status == 410:
                raise OsbGone(str(exc), exc.status, exc.error_code) from None
            if exc.status == 422 and exc.error_code == "ConcurrencyError":
                raise OsbConcurrency(
                    self.http.redact(
                        f"Service broker {method} {path}: 422 ConcurrencyError: another operation on {what} "
                        "is in progress (retry when it has finished)"
                    ),
                    exc.status,
                    exc.error_code,
                ) from None
            if exc.status == 422 and exc.error_code == "AsyncRequired":
                raise HttpFailure(
                    f"Service broker {method} {path}: 422 AsyncRequired: the broker only works asynchronously "
                    "(send accepts_incomplete=true)",
                    exc.status,
                    exc.error_code,
                ) from None
            raise

    def catalog(self) -> list[dict[str, Any]]:
        services = self._call("GET", "/v2/catalog", "the catalog").json().get("services")
        return services if isinstance(services, list) else []

    def provision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        accepts_incomplete: bool = True,
    ) -> Accepted:
        body = {
            "service_id": service_id,
            "plan_id": plan_id,
            "organization_guid": PLATFORM,
            "space_guid": PLATFORM,
            "context": {"platform": PLATFORM, **(context or {})},
            "parameters": parameters or {},
        }
        response = self._call(
            "PUT",
            f"/v2/service_instances/{quote(instance_id)}",
            f"instance {instance_id}",
            query={"accepts_incomplete": "true"} if accepts_incomplete else None,
            json_body=body,
            expect=(200, 201, 202),
        )
        answer = response.json() if response.body else {}
        return Accepted(response.status, answer.get("operation"), answer)

    def last_operation(self, instance_id: str, service_id: str, plan_id: str, operation: str | None) -> dict[str, Any]:
        query = {"service_id": service_id, "plan_id": plan_id}
        if operation:
            query["operation"] = operation
        state = self._call(
            "GET",
            f"/v2/service_instances/{quote(instance_id)}/last_operation",
            f"instance {instance_id}",
            query=query,
        ).json()
        return state if isinstance(state, dict) else {}

    def wait(
        self, instance_id: str, service_id: str, plan_id: str, operation: str | None, *, timeout: float, poll: float
    ) -> dict[str, Any]:
        """Poll `last_operation` until it leaves "in progress"; `failed` raises with the broker's description."""
        state = wait_until(
            lambda: self.last_operation(instance_id, service_id, plan_id, operation),
            lambda s: s.get("state") != IN_PROGRESS,
            timeout=timeout,
            what=f"the broker's operation {operation or ''} on instance {instance_id}".replace("  ", " "),
            interval=min(poll, 0.5),
            max_interval=poll,
            retry_on=(TransientHttpFailure,),
        )
        if state.get("state") != SUCCEEDED:
            raise OsbOperationFailed(
                f"the broker's operation on instance {instance_id} ended {state.get('state')}: "
                f"{state.get('description') or 'no description'}"
            )
        return state

    def bind(
        self, instance_id: str, binding_id: str, service_id: str, plan_id: str, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """A synchronous binding; returns its credentials."""
        response = self._call(
            "PUT",
            f"/v2/service_instances/{quote(instance_id)}/service_bindings/{quote(binding_id)}",
            f"binding {binding_id}",
            json_body={"service_id": service_id, "plan_id": plan_id, "parameters": parameters},
            expect=(200, 201),
        )
        credentials = response.json().get("credentials")
        if not isinstance(credentials, dict):
            raise InfrastructureError(f"the broker's binding {binding_id} has no credentials")
        return credentials

    def unbind(self, instance_id: str, binding_id: str, service_id: str, plan_id: str) -> None:
        self._call(
            "DELETE",
            f"/v2/service_instances/{quote(instance_id)}/service_bindings/{quote(binding_id)}",
            f"binding {binding_id}",
            query={"service_id": service_id, "plan_id": plan_id},
        )

    def deprovision(self, instance_id: str, service_id: str, plan_id: str, accepts_incomplete: bool = True) -> Accepted:
        query = {"service_id": service_id, "plan_id": plan_id}
        if accepts_incomplete:
            query["accepts_incomplete"] = "true"
        response = self._call(
            "DELETE",
            f"/v2/service_instances/{quote(instance_id)}",
            f"instance {instance_id}",
            query=query,
            expect=(200, 202),
        )
        answer = response.json() if response.body else {}
        return Accepted(response.status, answer.get("operation"), answer)

    def wait_gone(
        self, instance_id: str, service_id: str, plan_id: str, operation: str | None, *, timeout: float, poll: float
    ) -> None:
        """After an async deprovision: poll until the broker says 410 Gone (or succeeded)."""

        def fetch() -> str:
            try:
                return str(self.last_operation(instance_id, service_id, plan_id, operation).get("state"))
            except OsbGone:
                return "gone"

        state = wait_until(
            fetch,
            lambda s: s != IN_PROGRESS,
            timeout=timeout,
            what=f"instance {instance_id} to be deprovisioned",
            interval=min(poll, 0.5),
            max_interval=poll,
            retry_on=(TransientHttpFailure,),
        )
        if state not in ("gone", SUCCEEDED):
            raise OsbOperationFailed(f"deprovisioning instance {instance_id} ended {state}")


def kubeconfig_of(credentials: dict[str, Any], source: str) -> dict[str, Any]:
    """The kubeconfig inside binding credentials: under `kubeconfig` (text or mapping) or the credentials themselves."""
    return kubeconfig_files.parse(credentials.get("kubeconfig") or credentials, source)


@dataclass
class _Instance:
    instance_id: str
    service_id: str
    plan_id: str
    directory: Path
    bindings: list[str] = field(default_factory=list)


@dataclass
class OsbBackend:
    """ClusterBackend for any broker whose instances are Kubernetes clusters."""

    spec: OsbSpec
    username: str = field(repr=False)
    password: str = field(repr=False)
    where: str
    proxy: Proxy | None = None
    timeout: float = 30.0
    name: str = "osb"
    _instances: dict[str, _Instance] = field(default_factory=dict, repr=False)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(creates_clusters=True, mints_certificates=True, restarts_api_server=False)

    def client(self) -> OsbClient:
        return OsbClient(
            self.spec.broker_url,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            proxy=self.proxy,
            originating_user=self.spec.originating_user,
            where=self.where,
        )

    def _service_and_plan(self, client: OsbClient, plan_name: str) -> tuple[str, str, float]:
        """The service id, plan id and how long to poll (the plan's maximum_polling_duration, if shorter)."""
        services = client.catalog()
        if self.spec.service_id:
            services = [s for s in services if s.get("id") == self.spec.service_id]
        if len(services) != 1:
            raise InfrastructureError(
                f"the broker's catalog has {len(services)} matching services (fix: set {self.where}.service_id)"
            )
        plans = {str(p.get("name")): p for p in services[0].get("plans", [])}
        if plan_name not in plans:
            raise InfrastructureError(
                f'the broker offers no plan "{plan_name}" (offered: {", ".join(plans) or "none"}); '
                "fix: rename the plan in the targets file"
            )
        plan = plans[plan_name]
        limit = plan.get("maximum_polling_duration")
        timeout = min(self.spec.operation_timeout, float(limit)) if isinstance(limit, int | float) else None
        return str(services[0]["id"]), str(plan.get("id")), timeout or self.spec.operation_timeout

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        client = self.client()
        try:
            service_id, plan_id, polling = self._service_and_plan(client, request.plan.name)
            instance = _Instance(
                str(uuid.uuid4()), service_id, plan_id, kubeconfig_files.private_directory("caas-osb-")
            )
            self._instances[request.placement.name] = instance
            context = {"run_id": request.run_id, "cluster": request.placement.name}
            try:
                accepted = client.provision(instance.instance_id, service_id, plan_id, context=context)
                if accepted.status == 202:
                    client.wait(
                        instance.instance_id,
                        service_id,
                        plan_id,
                        accepted.operation,
                        timeout=polling,
                        poll=self.spec.poll_seconds,
                    )
                path = self._bind(client, instance, "admin", {})
            except BaseException as exc:  # orphan mitigation, as the spec asks
                _undo(lambda: self._remove(client, request.placement.name), exc, "deprovisioning the instance")
                raise
        finally:
            client.close()
        config = kubeconfig_files.parse(path.read_text(), "the broker's binding")
        return kubeconfig_files.cluster_handle(request, self.name, config, "the broker's binding", path)

    def _bind(self, client: OsbClient, instance: _Instance, user: str, parameters: dict[str, Any]) -> Path:
        binding_id = str(uuid.uuid4())
        instance.bindings.append(binding_id)
        credentials = client.bind(instance.instance_id, binding_id, instance.service_id, instance.plan_id, parameters)
        config = kubeconfig_of(credentials, f"the broker's binding for {user}")
        return kubeconfig_files.write_private(instance.directory, f"{user}.kubeconfig", kubeconfig_files.dump(config))

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        instance = self._instances[handle.name]
        client = self.client()
        try:
            return {
                i.user: Credential(
                    kubeconfig=self._bind(client, instance, i.user, {"user": i.user, "groups": list(i.groups)})
                )
                for i in identities
            }
        finally:
            client.close()

    def release(self, handle: ClusterHandle) -> None:
        client = self.client()
        try:
            self._remove(client, handle.name)
        finally:
            client.close()

    def _remove(self, client: OsbClient, placement: str) -> None:
        instance = self._instances.pop(placement, None)
        if instance is None:
            return
        try:
            for binding_id in reversed(instance.bindings):
                with contextlib.suppress(OsbGone):
                    client.unbind(instance.instance_id, binding_id, instance.service_id, instance.plan_id)
            try:
                accepted = client.deprovision(instance.instance_id, instance.service_id, instance.plan_id)
            except OsbGone:
                return
            if accepted.status == 202:
                client.wait_gone(
                    instance.instance_id,
                    instance.service_id,
                    instance.plan_id,
                    accepted.operation,
                    timeout=self.spec.operation_timeout,
                    poll=self.spec.poll_seconds,
                )
        finally:
            shutil.rmtree(instance.directory, ignore_errors=True)
