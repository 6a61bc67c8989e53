"""The API server's non-resource paths (metrics, logs, debug handlers, configz, version, health) asked
by every tenant identity, and requests without credentials (paths and resources): what a product
leaks to its tenants, or to anybody, outside the resource API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from checks.rbac.access import Probe, resource_probe
from checks.rbac.discovery import ApiResource
from provisioning.model.access import ANONYMOUS

# The API server's own handlers a tenant should not read (metrics, logs, profiling, flags, config)
# and the ones Kubernetes opens to everybody (discovery, version, health).
PATHS = (
    "/metrics",
    "/logs/",
    "/debug/pprof/",
    "/debug/flags/v",
    "/configz",
    "/version",
    "/healthz",
    "/livez",
    "/readyz",
    "/api",
    "/apis",
)
# Resource requests tried without credentials: the provider's secrets, every namespace, every pod.
ANONYMOUS_RESOURCES = (("", "secrets", "kube-system"), ("", "namespaces", ""), ("", "pods", ""))


def path_probe(user: str, row: str, path: str) -> Probe:
    """GET `path` as `user` (ANONYMOUS: without credentials)."""
    attributes = {"verb": "get", "path": path}
    return Probe(user, row, f"get {path}", attributes, "GET", path, anonymous=user == ANONYMOUS)


def anonymous_probes(resources: Sequence[ApiResource]) -> list[Probe]:
    """Every path of PATHS and a list of each of ANONYMOUS_RESOURCES, without credentials."""
    probes = [path_probe(ANONYMOUS, ANONYMOUS, p) for p in PATHS]
    by_name = {(r.group, r.name): r for r in resources}
    for group, name, namespace in ANONYMOUS_RESOURCES:
        probe = resource_probe(ANONYMOUS, ANONYMOUS, by_name[group, name], "list", namespace)
        probes.append(replace(probe, anonymous=True))
    return probes
