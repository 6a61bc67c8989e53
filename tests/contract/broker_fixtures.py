"""The bundled broker served on a free local port, in front of a recording ClusterMaker (no cluster)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import urllib3

from harness.errors import InfrastructureError
from provisioning.broker.server import BrokerCredentials, create_app, make_broker_server
from provisioning.broker.service import LabClusterBroker
from provisioning.model.tenancy import Plan, Product

USER = "broker-admin"
PASSWORD = "broker-pw-s3cret"
CA = b"-----BEGIN CERTIFICATE-----\nMIIBbroker\n-----END CERTIFICATE-----\n"


@dataclass
class RecordingClusters:
    """A ClusterMaker that records what the broker asks for; `gate` holds operations in progress."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()

    def create(self, name: str, plan: Plan, run_id: str) -> None:
        with self.lock:
            self.created.append(name)
        self.gate.wait(30)
        if self.fail:
            raise InfrastructureError(f"lab cluster {name} did not become Ready")

    def delete(self, name: str) -> None:
        self.gate.wait(30)
        with self.lock:
            self.deleted.append(name)

    def kubeconfig(self, name: str, user: str | None, groups: tuple[str, ...]) -> str:
        who = user or "admin"
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": name,
                        "cluster": {
                            "server": "https://10.0.0.1:6443",
                            "certificate-authority-data": base64.b64encode(CA).decode(),
                        },
                    }
                ],
                "users": [{"name": who, "user": {"token": f"token-of-{who}-{'.'.join(groups)}"}}],
                "contexts": [{"name": who, "context": {"cluster": name, "user": who}}],
                "current-context": who,
            }
        )


def product() -> Product:
    return Product(name="pks", backend="lab", plans=(Plan(name="small"), Plan(name="medium", workers=2)))


@contextmanager
def served_broker(clusters: RecordingClusters) -> Iterator[tuple[LabClusterBroker, str]]:
    broker = LabClusterBroker(product(), clusters, cluster_prefix="bk-")
    server = make_broker_server(create_app(broker, BrokerCredentials(USER, PASSWORD)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield broker, f"http://127.0.0.1:{server.server_port}"
    finally:
        clusters.gate.set()
        server.shutdown()
        server.server_close()


class RawOsb:
    """Plain OSB requests, to see the broker's exact status codes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = urllib3.PoolManager(timeout=10, retries=False)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        password: str | None = PASSWORD,
        version: bool = True,
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if version:
            headers["X-Broker-API-Version"] = "2.17"
        if password is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
        response = self.http.request(
            method, self.url + path, body=json.dumps(body).encode() if body is not None else None, headers=headers
        )
        try:
            data = json.loads(response.data or b"null")
        except ValueError:
            data = response.data.decode()
        return response.status, data

    def provision(self, instance: str, plan: str = "pks-small", parameters: dict[str, Any] | None = None) -> Any:
        body = {
            "service_id": "caas-lab-cluster",
            "plan_id": plan,
            "organization_guid": "org",
            "space_guid": "space",
            "parameters": parameters or {},
        }
        return self.call("PUT", f"/v2/service_instances/{instance}?accepts_incomplete=true", body)

    def last_operation(self, instance: str) -> Any:
        return self.call("GET", f"/v2/service_instances/{instance}/last_operation")

    def deprovision(self, instance: str, plan: str = "pks-small") -> Any:
        return self.call(
            "DELETE",
            f"/v2/service_instances/{instance}?service_id=caas-lab-cluster&plan_id={plan}&accepts_incomplete=true",
        )

    def bind(self, instance: str, binding: str, parameters: dict[str, Any] | None = None) -> Any:
        body = {"service_id": "caas-lab-cluster", "plan_id": "pks-small", "parameters": parameters or {}}
        return self.call("PUT", f"/v2/service_instances/{instance}/service_bindings/{binding}", body)

    def unbind(self, instance: str, binding: str) -> Any:
        return self.call(
            "DELETE",
            f"/v2/service_instances/{instance}/service_bindings/{binding}?service_id=caas-lab-cluster&plan_id=pks-small",
        )
