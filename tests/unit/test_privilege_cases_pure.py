"""The pure pieces of the privilege cases no other test names (issue 18): the controls a pod-security
level enforces (pss.forbidden_by), the case the workload-controller check sends (forbidden_case), the
proof run inside a case's pod (proof_command) and the outcome read back from a table cell (outcome_of)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioning.model import privileges, pss
from provisioning.model.privileges import Case, CaseResult, Layer, NodeSupport, Outcome, PlanVerdicts
from provisioning.model.pss import Control
from provisioning.model.tenancy import Plan, PodSecurityLevel

# --- pss.forbidden_by -----------------------------------------------------------------------------------

# kubernetes.io/docs/concepts/security/pod-security-standards (v1.34): the baseline table's rows
BASELINE = {
    Control.HOST_PROCESS,
    Control.HOST_NAMESPACES,
    Control.PRIVILEGED,
    Control.CAPABILITIES_BASELINE,
    Control.HOST_PATH,
    Control.HOST_PORTS,
    Control.HOST_PROBES,
    Control.APPARMOR,
    Control.SELINUX,
    Control.PROC_MOUNT,
    Control.SECCOMP_BASELINE,
    Control.SYSCTLS,
}
# ... and the rows the restricted table adds
RESTRICTED_ONLY = {
    Control.VOLUME_TYPES,
    Control.PRIVILEGE_ESCALATION,
    Control.RUN_AS_NON_ROOT,
    Control.RUN_AS_NON_ROOT_USER,
    Control.SECCOMP_RESTRICTED,
    Control.CAPABILITIES_RESTRICTED,
}


def test_privileged_enforces_no_control() -> None:
    assert pss.forbidden_by(PodSecurityLevel.PRIVILEGED) == frozenset()


def test_baseline_enforces_exactly_the_baseline_table() -> None:
    assert pss.forbidden_by(PodSecurityLevel.BASELINE) == BASELINE


def test_restricted_enforces_baseline_and_its_own_rows() -> None:
    assert pss.forbidden_by(PodSecurityLevel.RESTRICTED) == BASELINE | RESTRICTED_ONLY
    assert len(pss.forbidden_by(PodSecurityLevel.RESTRICTED)) == 18


@pytest.mark.parametrize("level", list(PodSecurityLevel))
def test_a_level_enforces_every_control_whose_lowest_level_it_reaches(level: PodSecurityLevel) -> None:
    order = [PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED]
    reached = {c for c in Control if order.index(c.level) <= order.index(level)}
    assert pss.forbidden_by(level) == reached


# --- privileges.forbidden_case --------------------------------------------------------------------------


def test_a_privileged_plan_has_no_case_its_level_rejects() -> None:
    assert privileges.forbidden_case(Plan("p", pod_security=PodSecurityLevel.PRIVILEGED, allow_privileged=True)) is None


@pytest.mark.parametrize("level", [PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED])
def test_the_forbidden_case_is_rejected_by_pod_security_admission(level: PodSecurityLevel) -> None:
    plan = Plan("p", pod_security=level)
    case = privileges.forbidden_case(plan)
    assert case is Case.HOST_NETWORK  # Host Namespaces: a baseline control, so both levels refuse it
    assert case.control in pss.forbidden_by(level)
    assert privileges.expected_outcome(plan, case) is Outcome.REJECTED
    assert privileges.expected_layer(plan, case) is Layer.POD_SECURITY


# --- privileges.proof_command ---------------------------------------------------------------------------

# a plan and nodes on which every case that can run does
EVERYTHING = Plan("all", pod_security=PodSecurityLevel.PRIVILEGED, allow_privileged=True)
NODES = NodeSupport(allowed_unsafe_sysctls=frozenset({privileges.UNSAFE_SYSCTL}), user_namespaces=True)


@pytest.mark.parametrize("case", [c for c in Case if privileges.expected_outcome(EVERYTHING, c, NODES) is Outcome.RUNS])
def test_every_case_that_can_run_has_a_proof_run_by_sh_with_the_nodes_address(case: Case) -> None:
    argv = privileges.proof_command(case, "10.77.0.3")
    assert argv[:2] == ["sh", "-c"]
    assert len(argv) == 3
    assert argv[2].startswith("HOST_IP=10.77.0.3; ")


def test_the_cases_that_never_run_are_exactly_those_without_a_proof() -> None:
    never = {c for c in Case if privileges.expected_outcome(EVERYTHING, c, NODES) is not Outcome.RUNS}
    assert never == privileges.ADMISSION_ONLY | privileges.INVALID_EVERYWHERE | {Case.RUN_AS_USER_ROOT}
    for case in never:
        with pytest.raises(KeyError):
            privileges.proof_command(case, "10.77.0.3")


@pytest.mark.parametrize(
    ("case", "bit"),
    # linux/capability.h: CAP_CHOWN 0, CAP_NET_ADMIN 12, CAP_NET_RAW 13 (in the runtime's default set), CAP_SYS_ADMIN 21
    [(Case.CAP_CHOWN, 0), (Case.NET_ADMIN, 12), (Case.CAPABILITIES_KEPT, 13), (Case.SYS_ADMIN, 21)],
)
def test_a_capability_proof_succeeds_iff_that_capability_is_in_the_bounding_set(
    case: Case, bit: int, tmp_path: Path
) -> None:
    script = privileges.proof_command(case, "10.77.0.3")[2]
    assert "/proc/self/status" in script

    def proves(mask: int) -> bool:
        status = tmp_path / "status"
        status.write_text(f"Name:\tsh\nCapInh:\t0000000000000000\nCapBnd:\t{mask:016x}\nNoNewPrivs:\t1\n")
        run = subprocess.run(["sh", "-c", script.replace("/proc/self/status", str(status))], check=False, timeout=10)
        return run.returncode == 0

    assert proves(1 << bit)
    assert proves(0x000001FFFFFFFFFF)  # a privileged container's full set
    assert not proves(0)  # the compliant pod's: every capability dropped
    assert not proves(0x000001FFFFFFFFFF & ~(1 << bit))


def test_the_namespace_and_kernel_proofs_read_what_the_privilege_changes() -> None:
    def script(case: Case) -> str:
        return privileges.proof_command(case, "10.77.0.3")[2]

    assert "4026531839" in script(Case.HOST_IPC)  # the initial IPC namespace's inode, 0xEFFFFFFF
    assert '" $HOST_IP/"' in script(Case.HOST_NETWORK)  # the node's address on one of the pod's interfaces
    assert "/host-etc/passwd" in script(Case.HOST_PATH)  # where case_pod mounts the node's /etc
    assert "/proc/sys/kernel/msgmax" in script(Case.UNSAFE_SYSCTL)
    assert "NoNewPrivs:[[:space:]]*0" in script(Case.PRIVILEGE_ESCALATION)
    assert "Seccomp:[[:space:]]*0" in script(Case.SECCOMP_UNCONFINED)  # 0: SECCOMP_MODE_DISABLED
    assert f'"port":{privileges.HOST_PORT}' in script(Case.HOST_PORT)
    assert "$HOST_IP" in script(Case.HOST_PORT)


def test_the_host_path_proof_reads_where_the_case_pod_mounts_the_node() -> None:
    pod = privileges.case_pod(Case.HOST_PATH, "p", {}, "img")
    (mount,) = pod["spec"]["containers"][0]["volumeMounts"]
    assert privileges.proof_command(Case.HOST_PATH, "10.77.0.3")[2].count(mount["mountPath"] + "/") == 1


# --- privileges.outcome_of ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "outcome"),
    [
        ("rejected: PodSecurity admission", "rejected"),
        ("node refused: kubelet", "node refused"),
        ("runs", "runs"),
        ("runs without effect", "runs without effect"),
        ("unobserved", "unobserved"),
    ],
)
def test_the_outcome_of_a_cell_is_its_part_before_the_layer(cell: str, outcome: str) -> None:
    assert privileges.outcome_of(cell) == outcome


def test_outcome_of_reads_back_every_observed_outcome_of_the_plan_by_case_table() -> None:
    results = (
        CaseResult(Case.HOST_NETWORK, Outcome.REJECTED, Outcome.REJECTED, Layer.POD_SECURITY),
        CaseResult(Case.UNSAFE_SYSCTL, Outcome.NOT_RUN, Outcome.NOT_RUN, Layer.KUBELET),
        CaseResult(Case.NET_ADMIN, Outcome.RUNS, Outcome.RUNS, Layer.NONE),
        CaseResult(Case.SECCOMP_UNSET, Outcome.RUNS, Outcome.INEFFECTIVE),
    )
    verdict = PlanVerdicts("pks", "small", "a", "runs", results)
    header, row = privileges.plan_by_case_table([verdict])
    cells = dict(zip(header[1:], row[1:], strict=True))
    for result in results:
        assert privileges.outcome_of(cells[result.case.value]) == result.observed.value
    assert privileges.outcome_of(cells[Case.HOST_PID.value]) == Outcome.UNOBSERVED.value
