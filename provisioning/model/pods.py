"""Security settings of the pods the suite itself runs: they pass the `restricted` pod-security
level, so they run in the most locked-down tenant (pure data)."""

from __future__ import annotations

from typing import Any

NONROOT_UID = 65532  # the non-root user of the lab's images


def restricted_pod_security(with_group: bool = True) -> dict[str, Any]:
    """The pod-level securityContext: non-root user (and group), RuntimeDefault seccomp."""
    context: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": NONROOT_UID}
    if with_group:
        context["runAsGroup"] = NONROOT_UID
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context


def restricted_container_security(read_only_root: bool = True) -> dict[str, Any]:
    """The container-level securityContext: no privilege escalation, every capability dropped."""
    context: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if read_only_root:
        context["readOnlyRootFilesystem"] = True
    return context
