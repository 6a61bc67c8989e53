"""What a failing check attaches as evidence: a namespace's events and its pods' recent logs."""

from __future__ import annotations

from typing import Any

from provisioning.kube.client import ApiFailure, call

EVENT_LIMIT = 50
LOG_TAIL_LINES = 40


def namespace_events(api: Any, namespace: str, limit: int = EVENT_LIMIT) -> str:
    """The namespace's latest events, one line each (time, type, object, reason, message)."""
    try:
        events = call(api, "CoreV1Api", "list_namespaced_event", namespace, limit=limit).items
    except ApiFailure as exc:
        return f"events of {namespace}: could not be read ({exc})"
    lines = [
        f"{e.last_timestamp or e.event_time or ''} {e.type} {e.involved_object.kind}/{e.involved_object.name} "
        f"{e.reason}: {e.message}"
        for e in events
    ]
    return f"events of {namespace} ({len(lines)})\n" + "\n".join(lines)


def pod_logs(api: Any, namespace: str, tail_lines: int = LOG_TAIL_LINES, max_pods: int = 6) -> str:
    """The last lines of every container of (up to `max_pods`) pods in the namespace."""
    try:
        pods = call(api, "CoreV1Api", "list_namespaced_pod", namespace).items[:max_pods]
    except ApiFailure as exc:
        return f"pods of {namespace}: could not be listed ({exc})"
    parts = []
    for pod in pods:
        for container in pod.spec.containers:
            try:
                text = call(
                    api,
                    "CoreV1Api",
                    "read_namespaced_pod_log",
                    pod.metadata.name,
                    namespace,
                    container=container.name,
                    tail_lines=tail_lines,
                )
            except ApiFailure as exc:
                text = f"(could not be read: {exc})"
            parts.append(f"--- {namespace}/{pod.metadata.name} [{container.name}] ---\n{text}")
    return "\n".join(parts) or f"no pods in {namespace}"
