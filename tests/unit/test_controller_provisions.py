"""An xdist controller provisions the products only for a session that runs the scenarios under steps/
(fixtures.plugin._runs_scenarios): `pytest -n 2 tests/unit` provisions nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from fixtures.plugin import _runs_scenarios
from tests.support import ROOT


def config(*args: str, cwd: Path = ROOT) -> pytest.Config:
    fake: Any = SimpleNamespace(rootpath=ROOT, args=list(args), invocation_params=SimpleNamespace(dir=cwd))
    return cast(pytest.Config, fake)


def test_the_scenarios_or_a_folder_holding_them_run_scenarios() -> None:
    assert _runs_scenarios(config("steps"))
    assert _runs_scenarios(config("steps/test_rbac.py::test_x[cfcr]"))
    assert _runs_scenarios(config(str(ROOT)))
    assert _runs_scenarios(config("tests/unit", "steps/test_network.py"))
    assert _runs_scenarios(config("test_storage.py", cwd=ROOT / "steps"))


def test_the_projects_own_tests_run_no_scenario() -> None:
    assert not _runs_scenarios(config("tests/unit", "tests/golden"))
    assert not _runs_scenarios(config("tests/unit/test_scenario_needs.py::test_every_need_has_a_case"))
