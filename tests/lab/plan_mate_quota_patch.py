"""A pytest plugin for tests/lab/test_read_backs.py, loaded into `caas run`'s pytest with
`-p tests.lab.plan_mate_quota_patch`: before each scenario, every ResourceQuota of the tenant named by
CAAS_TEST_PATCHED_TENANT that holds a key of PATCHES gets that key's value, as the cluster's admin (a
provider's drift on one tenant after onboarding). Nothing else changes; the run's cleanup removes the
namespace with it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from provisioning.kube import client as kube

PATCHED_TENANT = "CAAS_TEST_PATCHED_TENANT"
PATCHES = {"requests.cpu": "2", "requests.storage": "20Gi"}  # plan small: 1 and 2Gi


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
        quotas = kube.request(api, "GET", path)["items"]
        patched = set()
        for quota in quotas:
            hard = {key: value for key, value in PATCHES.items() if key in quota["spec"]["hard"]}
            if hard:
                name_path = f"{path}/{quota['metadata']['name']}"
                body = {"spec": {"hard": hard}}
                kube.request(api, "PATCH", name_path, body=body, content_type="application/merge-patch+json")
                patched |= hard.keys()
        assert patched == PATCHES.keys(), f"{tenant.namespace}'s quotas hold {sorted(patched)} of {sorted(PATCHES)}"
    finally:
        api.close()
