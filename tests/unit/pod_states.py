"""Pods as the API server returns them (kubernetes client models), in the states the kubelet and the
scheduler report, for the pod-start and positive-control tests."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

NEVER_PULL = (
    "ErrImageNeverPull",
    'Container image "caas.local/lab/probe:1.0" is not present with pull policy of Never',
)


class _Response:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = json.dumps(data)


def model(data: dict[str, Any], kind: str) -> Any:
    """`data` (the API's JSON) as the client's model object, e.g. kind "V1Pod"."""
    return client.ApiClient().deserialize(_Response(data), kind)


def pod(
    name: str = "probe-a",
    namespace: str = "tenant-blue",
    *,
    phase: str = "Pending",
    waiting: tuple[str, str] | None = None,
    init_waiting: tuple[str, str] | None = None,
    unschedulable: str = "",
    scheduling_reason: str = "Unschedulable",
    running: bool = False,
    deleting: bool = False,
    labels: dict[str, str] | None = None,
    uid: str = "uid-1",
) -> Any:
    """A V1Pod: `waiting` (reason, message) of its container, `unschedulable` the scheduler's message."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid, "labels": labels or {}}
    if deleting:
        metadata["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    status: dict[str, Any] = {"phase": "Running" if running else phase, "conditions": []}
    if unschedulable:
        status["conditions"].append(
            {"type": "PodScheduled", "status": "False", "reason": scheduling_reason, "message": unschedulable}
        )
    if running:
        status["conditions"].append({"type": "Ready", "status": "True"})
        status["podIP"], status["hostIP"] = "10.101.1.5", "10.213.1.11"
    for key, state in (("containerStatuses", waiting), ("initContainerStatuses", init_waiting)):
        if state is not None or (key == "containerStatuses" and running):
            container_state = (
                {"running": {}} if state is None else {"waiting": {"reason": state[0], "message": state[1]}}
            )
            status[key] = [
                {
                    "name": "init" if key.startswith("init") else "probe",
                    "image": "i",
                    "imageID": "",
                    "ready": running,
                    "restartCount": 0,
                    "state": container_state,
                }
            ]
    return model({"metadata": metadata, "spec": {"containers": [{"name": "probe"}]}, "status": status}, "V1Pod")
