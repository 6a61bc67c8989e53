"""A pytest plugin for tests/lab/test_storage_read_backs.py, loaded into `caas run`'s pytest with
`-p tests.lab.storage_quota_patch`: before each scenario, the ResourceQuotas of the tenant named by
CAAS_TEST_STORAGE_PATCHED_TENANT that hold `requests.storage` get PATCHED_STORAGE, as the cluster's admin
(a provider's drift on one tenant after onboarding). Nothing else changes; the run's cleanup removes the
namespace with it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from provisioning.kube import client as kube

PATCHED_TENANT = "CAAS_TEST_STORAGE_PATCHED_TENANT"
PATCHED_STORAGE = "20Gi"


@pytest.hookimpl
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    name = os.environ.get(PATCHED_TENANT, "")
    if not name:
        return
    tenancy = request.getfixturevalue("tenancy")
    tenant = next(t for t in tenancy.tenants if t.name == name)
    api = tenancy.admin_client(tenancy.cluster_of(name))
    path = f"/api/v1/namespaces/{tenant.namespace}/resourcequotas"
    try:
        quotas = [q for q in kube.request(api, "GET", path)["items"] if "requests.storage" in q["spec"]["hard"]]
        assert quotas, f"{tenant.namespace} has no ResourceQuota of requests.storage to patch"
        for quota in quotas:
            patch = {"spec": {"hard": {"requests.storage": PATCHED_STORAGE}}}
            name_path = f"{path}/{quota['metadata']['name']}"
            kube.request(api, "PATCH", name_path, body=patch, content_type="application/merge-patch+json")
    finally:
        api.close()
