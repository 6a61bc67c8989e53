"""The plan catalog's privilege verdicts, the pods that ask for each case, and the reading of refusals (pure)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.targets import load_targets
from provisioning.model import answers
from provisioning.model.privileges import (
    ADMISSION_ONLY,
    FORBIDDEN_BY_LEVEL,
    Case,
    CaseResult,
    Layer,
    NodeSupport,
    Outcome,
    PlanVerdicts,
    case_pod,
    compliant_pod,
    expected_layer,
    expected_outcome,
    expected_outcomes,
    node_refusal,
    plan_by_case_table,
    refusal_layer,
)
from provisioning.model.quantity import parse_quantity
from provisioning.model.tenancy import Plan, PodSecurityLevel
from tests.unit.test_targets import EXAMPLE

R, X, N, A = Outcome.RUNS, Outcome.REJECTED, Outcome.NOT_RUN, Outcome.ADMITTED
# what no level of these plans forbids yet the lab's nodes do not run or cannot show
_NODE = {Case.PROC_UNMASKED: N, Case.UNSAFE_SYSCTL: N, Case.RUN_AS_USER_ROOT: N}
_ADMITTED_ONLY = dict.fromkeys(ADMISSION_ONLY, A)

# The example catalog's verdicts, written out: pks small (restricted), medium and cfcr default (baseline),
# pks large (privileged, privileged containers allowed). A HostProcess pod is invalid everywhere.
EXAMPLE_VERDICTS = {
    "restricted": dict.fromkeys(Case, X),
    "baseline": {
        **dict.fromkeys(Case, X),
        Case.NFS_VOLUME: A,
        Case.PRIVILEGE_ESCALATION: R,
        Case.RUN_AS_NON_ROOT_UNSET: A,
        Case.RUN_AS_USER_ROOT: N,
        Case.SECCOMP_UNSET: R,
        Case.CAPABILITIES_KEPT: R,
        Case.CAP_CHOWN: R,
    },
    "privileged": {**dict.fromkeys(Case, R), **_NODE, **_ADMITTED_ONLY, Case.HOST_PROCESS: X},
}


@pytest.mark.parametrize(
    ("product", "plan", "level"),
    [
        ("pks", "small", "restricted"),
        ("pks", "medium", "baseline"),
        ("pks", "large", "privileged"),
        ("cfcr", "default", "baseline"),
    ],
)
def test_example_catalog_verdicts(product: str, plan: str, level: str) -> None:
    catalog = load_targets(EXAMPLE).model.product(product).plan(plan)
    assert expected_outcomes(catalog) == EXAMPLE_VERDICTS[level]


def test_privileged_level_without_the_switch_still_rejects_privileged_containers() -> None:
    plan = Plan("p", pod_security=PodSecurityLevel.PRIVILEGED, allow_privileged=False)
    assert expected_outcome(plan, Case.PRIVILEGED) is X
    assert expected_outcome(plan, Case.HOST_PID) is R


def test_nodes_that_support_more_run_more() -> None:
    plan = Plan("p", pod_security=PodSecurityLevel.PRIVILEGED, allow_privileged=True)
    nodes = NodeSupport(allowed_unsafe_sysctls=frozenset({"kernel.msgmax"}), user_namespaces=True)
    expected = {**dict.fromkeys(Case, R), **_ADMITTED_ONLY, Case.HOST_PROCESS: X, Case.RUN_AS_USER_ROOT: N}
    assert expected_outcomes(plan, nodes) == expected
    assert expected_outcome(plan, Case.SECCOMP_UNSET, NodeSupport(seccomp_default=True)) is Outcome.INEFFECTIVE


@pytest.mark.parametrize(
    ("level", "case", "layer"),
    [
        (PodSecurityLevel.RESTRICTED, Case.HOST_PROCESS, Layer.API_VALIDATION),
        (PodSecurityLevel.RESTRICTED, Case.SECCOMP_UNSET, Layer.POD_SECURITY),
        (PodSecurityLevel.BASELINE, Case.SECCOMP_UNSET, Layer.NONE),
        (PodSecurityLevel.BASELINE, Case.RUN_AS_USER_ROOT, Layer.KUBELET),
        (PodSecurityLevel.PRIVILEGED, Case.PRIVILEGED, Layer.API_VALIDATION),
        (PodSecurityLevel.PRIVILEGED, Case.PROC_UNMASKED, Layer.RUNTIME),
    ],
)
def test_the_deciding_layer_per_cell(level: PodSecurityLevel, case: Case, layer: Layer) -> None:
    assert expected_layer(Plan("p", pod_security=level), case) is layer


@given(st.sampled_from(list(PodSecurityLevel)), st.booleans())
def test_stricter_levels_never_allow_more(level: PodSecurityLevel, allow: bool) -> None:
    order = [PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED]
    for stricter in order[order.index(level) :]:
        assert FORBIDDEN_BY_LEVEL[level] <= FORBIDDEN_BY_LEVEL[stricter]
    plan = Plan("p", pod_security=level, allow_privileged=allow)
    for case in FORBIDDEN_BY_LEVEL[level]:
        assert expected_outcome(plan, case) is X


@pytest.mark.parametrize("case", list(Case))
def test_each_case_pod_differs_from_the_compliant_pod(case: Case) -> None:
    base = compliant_pod("p", {}, "img")
    pod = case_pod(case, "p", {}, "img", node="n1")
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "n1"}
    pod["spec"].pop("nodeSelector")
    assert pod != base
    container = pod["spec"]["containers"][0]["securityContext"]
    if container.get("privileged") or "SYS_ADMIN" in container.get("capabilities", {}).get("add", []):
        assert "allowPrivilegeEscalation" not in container  # API validation forbids false with these


@pytest.mark.parametrize(
    ("status", "message", "layer"),
    [
        (403, 'pods "x" is forbidden: violates PodSecurity "baseline:v1.34": host namespaces', Layer.POD_SECURITY),
        (
            422,
            'Pod "x" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster '
            "policy",
            Layer.API_VALIDATION,
        ),
        (403, "pods \"x\" is forbidden: ValidatingAdmissionPolicy 'no-host' denied request", Layer.ADMISSION_POLICY),
        (403, 'pods "x" is forbidden: exceeded quota: tenant-quota, requested: pods=1', Layer.QUOTA),
        (403, 'pods is forbidden: User "blue-admin" cannot create resource "pods"', None),
        (401, "Unauthorized", None),
        (500, "etcdserver: request timed out", None),
        (429, "too many requests", None),
        (0, "ConnectionRefusedError", None),
    ],
)
def test_refusals_name_their_layer_and_errors_are_no_refusal(status: int, message: str, layer: Layer | None) -> None:
    assert refusal_layer(answers.classify(status, message)) is layer


def test_node_refusals() -> None:
    assert node_refusal("SysctlForbidden") is Layer.KUBELET
    assert node_refusal("FailedCreatePodSandBox") is Layer.RUNTIME
    assert node_refusal("ContainerCreating") is None


def test_a_rejection_counts_only_from_an_admission_layer() -> None:
    assert CaseResult(Case.HOST_PID, X, X, Layer.POD_SECURITY).matches
    assert not CaseResult(Case.HOST_PID, X, X, Layer.KUBELET).matches
    assert not CaseResult(Case.HOST_PID, X, X, None).matches
    assert not CaseResult(Case.HOST_PID, R, Outcome.ERROR).matches
    assert not CaseResult(Case.HOST_PID, R, Outcome.INEFFECTIVE, Layer.NONE).matches


def test_missing_cases_fail_the_plan_and_show_unobserved() -> None:
    verdicts = PlanVerdicts("pks", "small", "blue", "ran", (CaseResult(Case.HOST_PID, X, X, Layer.POD_SECURITY),))
    assert not verdicts.passed
    table = plan_by_case_table([verdicts])
    assert table[1][0] == "pks/small (blue)"
    assert table[1].count("unobserved") == len(Case) - 1
    assert not verdicts.contradicted, "missing cases make the plan inconclusive (ERROR), not a failure"


def test_an_error_is_inconclusive_and_a_wrong_outcome_is_a_contradiction() -> None:
    error = PlanVerdicts("pks", "small", "blue", "ran", (CaseResult(Case.HOST_PID, X, Outcome.ERROR),))
    assert not error.passed
    assert not error.contradicted
    wrong = PlanVerdicts("pks", "small", "blue", "ran", (CaseResult(Case.HOST_PID, X, R, Layer.NONE),))
    assert wrong.contradicted
    elsewhere = PlanVerdicts("pks", "small", "blue", "ran", (CaseResult(Case.HOST_PID, X, X, Layer.KUBELET),))
    assert elsewhere.contradicted, "a rejection by a layer that is not admission contradicts the plan"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", Fraction(2)),
        ("4Gi", Fraction(4 * 2**30)),
        ("1e3", Fraction(1000)),
        ("64Mi", Fraction(64 * 2**20)),
        ("1.5k", Fraction(1500)),
    ],
)
def test_quantities(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


def test_bad_quantity() -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity("64MB")
