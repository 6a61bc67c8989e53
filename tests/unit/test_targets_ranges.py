"""An out-of-range number in the targets file gets a fix naming the field's allowed range, read from its
constraints (harness/targets_ranges.py), e.g. `caas check-config` with `lab.nodes: 13`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.targets import TargetsSpec
from harness.targets_ranges import allowed_range, range_fix
from tests.unit.test_targets import VALID


@pytest.mark.parametrize(
    ("replaced", "by", "line"),
    [
        (
            "lab: {profile: pks}",
            "lab: {profile: pks, nodes: 13}",
            "products[0].lab.nodes: 13 is out of range: input should be less than or equal to 12"
            " (fix: write a number from 1 to 12)",
        ),
        (
            "{name: small,",
            "{name: small, workers: 0,",
            "products[0].plans[0].workers: 0 is out of range: input should be greater than or equal to 1"
            " (fix: write a number from 1 to 12)",
        ),
        (
            "version: 1",
            "version: 7",
            "version: 7 is out of range: input should be less than or equal to 1 (fix: write 1)",
        ),
        (
            "lab: {profile: pks}",
            "lab: {profile: pks}\n    dataplane: {enforce_within_seconds: 0}",
            "products[0].dataplane.enforce_within_seconds: 0 is out of range: input should be greater than 0"
            " (fix: write a number above 0 and at most 3600)",
        ),
    ],
)
def test_check_config_names_the_allowed_range_as_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replaced: str, by: str, line: str
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(VALID.replace(replaced, by, 1))
    assert main(["check-config", str(targets)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"caas: error: {targets}: {line}"]


def test_a_range_is_read_from_the_fields_constraints_else_from_the_reported_bound() -> None:
    assert range_fix(TargetsSpec, ("products", 0, "osb", "poll_seconds"), {"gt": 0}) == (
        "write a number above 0 and at most 60"
    )
    assert (
        range_fix(TargetsSpec, ("products", 0, "pks", "cluster_timeout"), {"ge": 1}) == "write a number of at least 1"
    )
    assert range_fix(TargetsSpec, ("products", 0, "no_such_field"), {"lt": 5}) == "write a number below 5"
    assert allowed_range({"ge": 0.5, "lt": 2.0}) == "write a number of at least 0.5 and below 2"
