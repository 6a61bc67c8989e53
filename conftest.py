"""Root conftest: the suite's pytest plugins, check-id markers and Hypothesis profiles."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["fixtures.plugin", "fixtures.expectations", "steps.common"]

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("dev")


def pytest_configure(config: pytest.Config) -> None:
    from reports.catalog import load_checks

    for check_id, record in load_checks().items():
        config.addinivalue_line("markers", f"{check_id}: {record.title}")
