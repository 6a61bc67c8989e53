"""The waits of a starting lab cluster: what `caas lab up` waits for before it calls a cluster ready.

Each wait polls with harness.wait.wait_until up to `timeout` seconds and calls `check` on every
attempt: the cluster's daemon check, which raises (cluster.ComponentDied) as soon as a daemon exited,
so that a crash is reported with its log instead of a timeout. A wait that runs out raises
InfrastructureError naming what it waited for.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import InfrastructureError
from harness.wait import WaitTimeout, wait_until
from provisioning.http import HttpClient, HttpFailure
from provisioning.kube import client as kube
from provisioning.lab.addons import DEFAULT_CLASS_ANNOTATION, READINESS_NAMESPACE, readiness_pod

Check = Callable[[], None]


@dataclass(frozen=True)
class ReadinessRound:
    """One readiness pod's outcome: it ran (an address) and resolved the API service's name (Succeeded),
    or its phase and log say why not."""

    phase: str
    address: str
    log: str

    @property
    def ready(self) -> bool:
        return self.phase == "Succeeded" and bool(self.address)

    def __str__(self) -> str:
        return f"{self.phase or 'Pending'}: {self.log.strip()}" if self.log else self.phase or "Pending"


def wait_api_ready(api: Any, check: Check, timeout: float, cluster: str) -> None:
    """Until the API server of `cluster` answers its /readyz with "ok"."""

    def ready() -> Any:
        check()
        return kube.request(api, "GET", "/readyz", raw=True)

    wait_until(
        ready,
        lambda answer: answer.strip() == "ok",
        timeout=timeout,
        what=f"the API server of {cluster} to be ready",
        retry_on=(kube.ApiFailure,),
    )


def wait_issuer_ready(issuer: HttpClient, check: Check, timeout: float, cluster: str) -> None:
    """Until the OIDC issuer of `cluster` answers its /healthz with "ok"."""

    def healthy() -> bytes:
        check()
        return issuer.request("GET", "/healthz").body

    wait_until(
        healthy,
        lambda body: body == b"ok",
        timeout=timeout,
        what=f"the OIDC issuer of {cluster} to serve",
        retry_on=(HttpFailure,),
    )


def wait_nodes_ready(api: Any, check: Check, expected: Collection[str], timeout: float) -> None:
    """Until every node named in `expected` has the condition Ready=True."""

    def nodes_ready() -> list[str]:
        check()
        nodes = kube.call(api, "CoreV1Api", "list_node").items
        return [
            n.metadata.name
            for n in nodes
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]

    wait_until(
        nodes_ready,
        lambda ready: set(ready) >= set(expected),
        timeout=timeout,
        what=f"nodes {sorted(expected)} to be Ready",
        retry_on=(kube.ApiFailure,),
    )


def wait_default_service_account(api: Any, timeout: float) -> None:
    """Until the controller manager created the service account `default` of namespace `default`."""
    wait_until(
        lambda: kube.call(api, "CoreV1Api", "read_namespaced_service_account", "default", "default"),
        lambda _v: True,
        timeout=timeout,
        what="the default service account",
        retry_on=(kube.ApiFailure,),
    )


def wait_readiness_pod(api: Any, check: Check, timeout: float) -> ReadinessRound:
    """Until a readiness pod (addons.readiness_pod) ran and resolved a name through cluster DNS: a new pod
    per attempt, all within `timeout` seconds."""
    attempts, deadline = itertools.count(1), time.monotonic() + timeout
    return wait_until(
        lambda: readiness_round(api, check, next(attempts), max(1.0, deadline - time.monotonic())),
        lambda outcome: outcome.ready,
        timeout=timeout,
        what="a readiness pod to run and resolve kubernetes.default (a new pod per attempt)",
        retry_on=(kube.ApiFailure,),
    )


def readiness_round(api: Any, check: Check, attempt: int, timeout: float) -> ReadinessRound:
    """Run one readiness pod to its end and remove it. A fresh cluster's DNS path (coredns serving, the
    proxy's rules for its service) may lag behind Ready nodes: the pod then fails, and the caller
    starts another."""
    name = f"lab-ready-{attempt}"
    kube.call(api, "CoreV1Api", "create_namespaced_pod", READINESS_NAMESPACE, readiness_pod(name))
    try:

        def pod_phase() -> ReadinessRound:
            check()
            pod = kube.call(api, "CoreV1Api", "read_namespaced_pod", name, READINESS_NAMESPACE)
            return ReadinessRound(pod.status.phase or "", pod.status.pod_ip or "", "")

        try:
            outcome = wait_until(
                pod_phase,
                lambda r: r.phase in ("Succeeded", "Failed"),
                timeout=timeout,
                what=f"the readiness pod {name} to end",
                retry_on=(kube.ApiFailure,),
            )
        except WaitTimeout as late:  # the caller's deadline has passed too: it says what it waited for
            return ReadinessRound(
                late.last_state.phase if isinstance(late.last_state, ReadinessRound) else "",
                "",
                f"{name} had not ended",
            )
        if outcome.ready:
            return outcome
        log = kube.call(api, "CoreV1Api", "read_namespaced_pod_log", name, READINESS_NAMESPACE)
        return replace(outcome, log=str(log))
    finally:
        kube.delete_if_present(api, f"/api/v1/namespaces/{READINESS_NAMESPACE}/pods/{name}")


def check_default_storage_class(api: Any, cluster: str) -> None:
    """Raise InfrastructureError unless `cluster` has a StorageClass annotated as the default."""
    classes = kube.call(api, "StorageV1Api", "list_storage_class").items
    if not any((c.metadata.annotations or {}).get(DEFAULT_CLASS_ANNOTATION) == "true" for c in classes):
        raise InfrastructureError(f"cluster {cluster} has no default StorageClass")
