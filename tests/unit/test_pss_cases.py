"""Each privilege case violates exactly its Pod Security Standards control, judged by the upstream
PodSecurity policy itself (k8s.io/pod-security-admission v0.34.4, the lab API server's, run by
provisioning/lab/go/kube/pss), and the positive control violates none.

Why the upstream evaluator and not a dry-run create on the lab: it needs no cluster (seconds, in the
unit tests), it lists every check a pod fails rather than the API server's first refusal, and it is the
code PodSecurity admission runs. API validation, which runs before admission, is proved on the lab
(check_privileged_001: an API-validation refusal where the model expects PodSecurity is a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from provisioning.model import pss
from provisioning.model.privileges import FORBIDDEN_BY_LEVEL, UNAVOIDABLE, Case, case_pod, compliant_pod
from provisioning.model.tenancy import PodSecurityLevel
from tests.support import ROOT

KUBE_MODULE = ROOT / "provisioning" / "lab" / "go" / "kube"
POSITIVE = "positive control"


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, Any]]:
    """The upstream evaluator's verdict on every case's pod and on the compliant pod."""
    if shutil.which("go") is None:
        pytest.skip("not applicable: no Go toolchain (make system installs it)")
    pods = {c.value: case_pod(c, c.slug, {}, "caas.local/lab/probe:1.0", node="n1") for c in Case}
    pods[POSITIVE] = compliant_pod("compliant", {}, "caas.local/lab/probe:1.0")
    done = subprocess.run(
        ["go", "run", "./pss", "-version", pss.VERSION],
        cwd=KUBE_MODULE,
        input=json.dumps(pods),
        capture_output=True,
        text=True,
        timeout=600,  # a cold Go build cache compiles k8s.io/api first (about 2 minutes on 2 cores)
        check=False,
        env={**os.environ, "GOFLAGS": "-mod=readonly", "GOPROXY": "off"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return result


def test_the_positive_control_violates_no_control(verdicts: dict[str, dict[str, Any]]) -> None:
    assert verdicts[POSITIVE] == {"failing": [], "baseline": True, "restricted": True}


@pytest.mark.parametrize("case", list(Case), ids=[c.slug for c in Case])
def test_each_case_violates_exactly_its_control(case: Case, verdicts: dict[str, dict[str, Any]]) -> None:
    verdict = verdicts[case.value]
    violated = {pss.control_of_check(check) for check in verdict["failing"]}
    assert violated == case.violates, f"{case.value}: upstream checks failing: {verdict['failing']}"
    assert verdict["restricted"] is False, "restricted admits no case"
    assert verdict["baseline"] is (case.control.level is PodSecurityLevel.RESTRICTED)
    assert (case in FORBIDDEN_BY_LEVEL[PodSecurityLevel.BASELINE]) is not verdict["baseline"]


def test_every_control_has_a_case_of_its_own() -> None:
    """Every control of the page is some case's own control, and the second controls some cases
    cannot avoid are always of the stricter level, so the lower level tells the control apart."""
    assert {c.control for c in Case} == set(pss.Control)
    for case, extra in UNAVOIDABLE.items():
        assert all(c.level is PodSecurityLevel.RESTRICTED for c in extra), case
        assert case.control not in extra


def test_every_upstream_check_id_is_one_control() -> None:
    ids = [i for c in pss.Control for i in c.check_ids]
    assert len(ids) == len(set(ids)) == 18
    with pytest.raises(KeyError, match="no Pod Security Standards control"):
        pss.control_of_check("hostNetwork")
