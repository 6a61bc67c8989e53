"""A namespace's ResourceQuotas and LimitRanges as the API server holds them (core/v1 list calls)."""

from __future__ import annotations

from typing import Any

from provisioning.kube import client as kube


def quotas_and_limit_ranges(api: Any, namespace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ResourceQuota items, LimitRange items) of `namespace`, each a list of API objects as dicts, read
    with `api`'s credentials; raises kube.ApiFailure if either list is refused or fails."""
    base = f"/api/v1/namespaces/{namespace}"
    quotas = list(kube.request(api, "GET", f"{base}/resourcequotas")["items"])
    limit_ranges = list(kube.request(api, "GET", f"{base}/limitranges")["items"])
    return quotas, limit_ranges
