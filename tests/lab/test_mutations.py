"""Mutation testing of the deny checks: onboarding with the fence a check depends on removed
(`CAAS_MUTATION`), then `caas run`; every check that depends on it must fail. A check that still
passes would pass whether or not the fence exists. The CI runs one mutation; all run nightly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from provisioning.model.mutations import MUST_FAIL, RED_CONTROLS, Mutation
from tests.lab.inventory import suite_run_id
from tests.support import ROOT, run_caas

pytestmark = pytest.mark.lab
BROKER_TARGETS = ROOT / "tests" / "lab" / "data" / "targets_broker.yaml"


def _statuses(comparison: Path, product: str) -> dict[str, str]:
    rows = json.loads(comparison.read_text())["checks"]
    return {row["check"]: row["products"][product]["status"] for row in rows if product in row["products"]}


@pytest.mark.timeout(1600)  # the run's own limit is 1500 s; a loaded machine needs more than the default 900 s
@pytest.mark.parametrize(
    "mutation",
    [pytest.param(m, marks=() if m is Mutation.NETWORK_POLICIES else pytest.mark.nightly) for m in Mutation],
    ids=[m.value for m in Mutation],
)
def test_removing_a_fence_turns_every_check_that_depends_on_it_red(
    mutation: Mutation, tmp_path: Path, lab_paths: LabPaths
) -> None:
    checks = MUST_FAIL[mutation]
    run_id = suite_run_id(f"mutation-{mutation.value}")
    # the federation mutation needs a product that names its broker; the others run the example's pks
    targets = ["--targets", str(BROKER_TARGETS)] if mutation is Mutation.BROKER_UNPREFIXED else []
    done = run_caas(
        *(
            "run",
            *targets,
            "--product",
            "pks",
            "-k",
            " or ".join(checks),
            "--run-id",
            run_id,
            "--output",
            str(tmp_path),
        ),
        env={**os.environ, "CAAS_MUTATION": mutation.value},
        timeout=1500,
    )
    comparison = tmp_path / run_id / "comparison.json"
    assert comparison.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    statuses = _statuses(comparison, "pks")
    killed = [c for c in checks if statuses.get(c) == "fail"]
    print(f"mutation {mutation.value}: killed {len(killed)}/{len(checks)} ({statuses})")
    assert killed == list(checks), f"checks that survived the mutation: {set(checks) - set(killed)}"
    if mutation in RED_CONTROLS:  # the plan x control table: exactly that control's rows are red
        rows = json.loads(comparison.read_text())["pod_security_controls"]["rows"]
        red = {row["control"] for row in rows if row["status"] == "fail"}
        assert red == {c.value for c in RED_CONTROLS[mutation]}, [(r["case"], r["status"]) for r in rows]
        assert {row["status"] for row in rows if row["control"] not in red} == {"pass"}
    assert done.returncode == 1, "the run reports the failures"
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == run_id], "nothing is left"
