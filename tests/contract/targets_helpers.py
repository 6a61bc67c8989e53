"""Helpers of the contract tests: a targets file per backend, built into settings and a backend."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from harness.backends import backend_for
from harness.settings import Settings, build_settings
from provisioning.backends.protocol import ClusterBackend, ClusterRequest


def product_settings(tmp_path: Path, product_yaml: str, environment: Mapping[str, str]) -> Settings:
    """Settings from a one-product targets file (tenants blue and green, shared, on plan small)."""
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\nproducts:\n"
        + textwrap.indent(textwrap.dedent(product_yaml), "  ")
        + textwrap.dedent("""\
        tenancy:
          - product: p
            tenants: [{name: blue, plan: small}, {name: green, plan: small}]
        """)
    )
    return build_settings(targets_path=targets, environment={"CAAS_CLUSTER_PREFIX": "bk-", **environment})


def backend_and_request(settings: Settings) -> tuple[ClusterBackend, ClusterRequest]:
    model = settings.targets.model
    placement = model.clusters("p", settings.cluster_prefix)[0]
    plan = model.product("p").plan(placement.tenants[0].plan)
    return backend_for(settings, "p"), ClusterRequest(placement, plan, settings.run_id)
