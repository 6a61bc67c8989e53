"""What a plan lets a tenant's pods do, case by case, and how to read who decided (pure).

Each `Case` is one privilege a pod can ask for. `expected_outcome(plan, case)`
says what the plan's catalog entry implies: the pod is rejected at admission
(its pod-security level forbids it, or the plan does not allow privileged
containers), it is admitted and runs with the privilege in effect, or it is
admitted and the node refuses to run it (`NodeSupport`: the kubelet's unsafe
sysctl allowlist and the runtime's user namespaces). `case_pod` builds the pod
that asks for exactly one case on top of a pod every level admits, and
`proof_command` is what, run inside it, shows the privilege is real.
`classify_refusal` reads the API's answer and names the layer that decided.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioning.model import answers
from provisioning.model.pods import restricted_container_security, restricted_pod_security
from provisioning.model.tenancy import Plan, PodSecurityLevel


class Case(enum.StrEnum):
    """One privilege a pod asks for."""

    PRIVILEGED = "privileged"
    HOST_NETWORK = "hostNetwork"
    HOST_PID = "hostPID"
    HOST_IPC = "hostIPC"
    HOST_PATH = "hostPath"
    HOST_PORT = "hostPort"
    NET_ADMIN = "cap NET_ADMIN"
    SYS_ADMIN = "cap SYS_ADMIN"
    PRIVILEGE_ESCALATION = "allowPrivilegeEscalation"
    RUN_AS_ROOT = "run as root"
    SECCOMP_UNCONFINED = "seccomp Unconfined"
    PROC_UNMASKED = "procMount Unmasked"
    UNSAFE_SYSCTL = "unsafe sysctl"

    @property
    def slug(self) -> str:
        """A DNS-label-safe short name (for pod names)."""
        return _SLUGS[self]


_SLUGS = {
    Case.PRIVILEGED: "priv",
    Case.HOST_NETWORK: "hostnet",
    Case.HOST_PID: "hostpid",
    Case.HOST_IPC: "hostipc",
    Case.HOST_PATH: "hostpath",
    Case.HOST_PORT: "hostport",
    Case.NET_ADMIN: "netadmin",
    Case.SYS_ADMIN: "sysadmin",
    Case.PRIVILEGE_ESCALATION: "escalate",
    Case.RUN_AS_ROOT: "root",
    Case.SECCOMP_UNCONFINED: "unconfined",
    Case.PROC_UNMASKED: "procmount",
    Case.UNSAFE_SYSCTL: "sysctl",
}


class Outcome(enum.StrEnum):
    """What happened to a pod that asked for a case. Only the first three are verdicts a plan can imply."""

    RUNS = "runs"  # admitted, running, and the privilege is in effect
    REJECTED = "rejected"  # refused at admission (PodSecurity, an admission policy, API validation)
    NOT_RUN = "node refused"  # admitted, but the kubelet or the container runtime refused to run it
    INEFFECTIVE = "runs without effect"  # running, but the privilege it asked for is not in effect
    ERROR = "error"  # the observation failed (transport, 401, 429, 5xx, timeout): never a verdict
    UNOBSERVED = "unobserved"


class Layer(enum.StrEnum):
    """Who decided a pod's fate, read from the API's answer or the pod's status."""

    POD_SECURITY = "PodSecurity admission"
    ADMISSION_POLICY = "ValidatingAdmissionPolicy"
    API_VALIDATION = "API validation"
    QUOTA = "ResourceQuota admission"
    KUBELET = "kubelet"
    RUNTIME = "container runtime"
    NONE = "-"  # nobody refused: the pod runs


ADMISSION_LAYERS = frozenset({Layer.POD_SECURITY, Layer.ADMISSION_POLICY, Layer.API_VALIDATION})
NODE_LAYERS = frozenset({Layer.KUBELET, Layer.RUNTIME})


@dataclass(frozen=True)
class NodeSupport:
    """What the product's nodes run beyond admission. The defaults are the kubelet's defaults (no
    unsafe sysctls allowlisted) and a runtime without user namespaces (containerd before 2.0), as the
    lab's nodes and the products' nodes of the time have."""

    allowed_unsafe_sysctls: frozenset[str] = frozenset()
    user_namespaces: bool = False


UNSAFE_SYSCTL = "kernel.msgmax"  # namespaced, but on no pod-security level's safe list
HOST_PORT = 18080

# What each pod-security level forbids (Pod Security Standards v1.34); restricted includes baseline.
_BASELINE_FORBIDS = frozenset(
    {
        Case.PRIVILEGED,
        Case.HOST_NETWORK,
        Case.HOST_PID,
        Case.HOST_IPC,
        Case.HOST_PATH,
        Case.HOST_PORT,
        Case.NET_ADMIN,
        Case.SYS_ADMIN,
        Case.SECCOMP_UNCONFINED,
        Case.PROC_UNMASKED,
        Case.UNSAFE_SYSCTL,
    }
)
FORBIDDEN_BY_LEVEL: Mapping[PodSecurityLevel, frozenset[Case]] = {
    PodSecurityLevel.PRIVILEGED: frozenset(),
    PodSecurityLevel.BASELINE: _BASELINE_FORBIDS,
    PodSecurityLevel.RESTRICTED: _BASELINE_FORBIDS | {Case.PRIVILEGE_ESCALATION, Case.RUN_AS_ROOT},
}


def expected_outcome(plan: Plan, case: Case, nodes: NodeSupport = NodeSupport()) -> Outcome:
    """The verdict the plan catalog implies for a pod asking for `case` on `plan`."""
    if case in FORBIDDEN_BY_LEVEL[plan.pod_security]:
        return Outcome.REJECTED
    if case is Case.PRIVILEGED and not plan.allow_privileged:
        return Outcome.REJECTED
    if case is Case.UNSAFE_SYSCTL and UNSAFE_SYSCTL not in nodes.allowed_unsafe_sysctls:
        return Outcome.NOT_RUN
    if case is Case.PROC_UNMASKED and not nodes.user_namespaces:
        return Outcome.NOT_RUN
    return Outcome.RUNS


def expected_outcomes(plan: Plan, nodes: NodeSupport = NodeSupport()) -> dict[Case, Outcome]:
    return {case: expected_outcome(plan, case, nodes) for case in Case}


def forbidden_case(plan: Plan) -> Case | None:
    """A case the plan's pod-security level rejects at admission (for the workload-controller check)."""
    for case in (Case.HOST_NETWORK, Case.RUN_AS_ROOT):
        if case in FORBIDDEN_BY_LEVEL[plan.pod_security]:
            return case
    return None


# --- pods -------------------------------------------------------------------------------------------

Manifest = dict[str, Any]


def compliant_pod(name: str, labels: Mapping[str, str], image: str) -> Manifest:
    """A pod every pod-security level admits (restricted): non-root, no escalation, no capabilities."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "securityContext": restricted_pod_security(with_group=False),
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "securityContext": restricted_container_security(read_only_root=False),
                }
            ],
        },
    }


def _as_root(pod: Manifest) -> None:
    pod["spec"]["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 0}
    pod["spec"]["containers"][0]["securityContext"].pop("allowPrivilegeEscalation", None)


def case_pod(case: Case, name: str, labels: Mapping[str, str], image: str, node: str = "") -> Manifest:
    """The compliant pod changed to ask for `case` and, where its proof needs it, to run as root;
    `node` pins it next to the tenant's compliant pod (the host-port proof comes from there)."""
    pod = compliant_pod(name, labels, image)
    spec = pod["spec"]
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    container = spec["containers"][0]
    security = container["securityContext"]
    if case is Case.PRIVILEGED:
        _as_root(pod)
        security["privileged"] = True
        security.pop("capabilities")
    elif case is Case.HOST_NETWORK:
        spec["hostNetwork"] = True
        container["args"] = ["serve", "--tcp", "18081", "--udp", "18082"]
    elif case is Case.HOST_PID:
        spec["hostPID"] = True
    elif case is Case.HOST_IPC:
        spec["hostIPC"] = True
    elif case is Case.HOST_PATH:
        spec["volumes"] = [{"name": "host-etc", "hostPath": {"path": "/etc", "type": "Directory"}}]
        container["volumeMounts"] = [{"name": "host-etc", "mountPath": "/host-etc", "readOnly": True}]
    elif case is Case.HOST_PORT:
        container["ports"] = [{"containerPort": 8080, "hostPort": HOST_PORT, "protocol": "TCP"}]
    elif case in (Case.NET_ADMIN, Case.SYS_ADMIN):
        _as_root(pod)
        security["capabilities"] = {"drop": ["ALL"], "add": [case.value.removeprefix("cap ")]}
    elif case is Case.PRIVILEGE_ESCALATION:
        security["allowPrivilegeEscalation"] = True
    elif case is Case.RUN_AS_ROOT:
        _as_root(pod)
    elif case is Case.SECCOMP_UNCONFINED:
        spec["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    elif case is Case.PROC_UNMASKED:
        spec["hostUsers"] = False  # API validation allows an unmasked /proc only in a user namespace
        security["procMount"] = "Unmasked"
    elif case is Case.UNSAFE_SYSCTL:
        spec["securityContext"]["sysctls"] = [{"name": UNSAFE_SYSCTL, "value": "65536"}]
    return pod


_PROOFS: Mapping[Case, str] = {
    # a privileged container sees the host's devices (an unprivileged one gets a short fixed list)
    Case.PRIVILEGED: "test -c /dev/kmsg",
    # the host's network namespace: the node's address is on one of the pod's interfaces
    Case.HOST_NETWORK: 'ip -o addr | grep -qF " $HOST_IP/"',
    # the host's process table: the node's container runtime is visible
    Case.HOST_PID: "cat /proc/[0-9]*/comm 2>/dev/null | grep -qx containerd",
    # the host's initial IPC namespace (fixed inode 0xEFFFFFFF)
    Case.HOST_IPC: 'test "$(readlink /proc/self/ns/ipc)" = "ipc:[4026531839]"',
    # the node's /etc: its user list is longer than the image's two lines
    Case.HOST_PATH: 'test "$(wc -l < /host-etc/passwd)" -gt 2',
    # the node's port forwards to the pod (run from a neighbour pod of the tenant)
    Case.HOST_PORT: "caas-probe connect --timeout 3s "
    f'\'[{{"id":"p","protocol":"tcp","host":"\'$HOST_IP\'","port":{HOST_PORT}}}]\' '
    '| grep -q \'"result":"connected"\'',
    # configure an address: needs CAP_NET_ADMIN
    Case.NET_ADMIN: "ip addr add 192.0.2.1/32 dev lo",
    # set the (pod's own) host name: needs CAP_SYS_ADMIN
    Case.SYS_ADMIN: "hostname caas-sys-admin",
    # no_new_privs is off
    Case.PRIVILEGE_ESCALATION: "grep -q '^NoNewPrivs:[[:space:]]*0$' /proc/self/status",
    Case.RUN_AS_ROOT: 'test "$(id -u)" = 0',
    # no seccomp filter
    Case.SECCOMP_UNCONFINED: "grep -q '^Seccomp:[[:space:]]*0$' /proc/self/status",
    # nothing masks /proc/timer_list
    Case.PROC_UNMASKED: "! grep -q ' /proc/timer_list ' /proc/self/mountinfo",
    Case.UNSAFE_SYSCTL: f'test "$(cat /proc/sys/{UNSAFE_SYSCTL.replace(".", "/")})" = 65536',
}

PROOF_FROM_NEIGHBOUR = frozenset({Case.HOST_PORT})  # proved from the tenant's compliant pod, not from inside


def proof_command(case: Case, host_ip: str) -> list[str]:
    """The command whose success shows the case's privilege in effect (`host_ip`: the pod's node)."""
    return ["sh", "-c", f"HOST_IP={host_ip}; {_PROOFS[case]}"]


# --- who decided ------------------------------------------------------------------------------------


def classify_refusal(status: int, message: str) -> Layer | None:
    """The admission layer that refused a create, from the HTTP status and message; None if the answer
    is no admission decision at all (401, 429, 5xx, transport errors, an RBAC 403) or one of a layer
    this table does not name. Read by `provisioning.model.answers.classify`, the one classifier."""
    answer = answers.classify(status, message)
    if answer.kind is answers.Kind.DENIED and answer.layer in _ADMISSION_ANSWERS:
        return Layer(answer.layer.value)
    if answer.kind is answers.Kind.INVALID and status == 422:
        return Layer.API_VALIDATION
    return None


_ADMISSION_ANSWERS = frozenset({answers.Layer.POD_SECURITY, answers.Layer.ADMISSION_POLICY, answers.Layer.QUOTA})
_KUBELET_REASONS = ("SysctlForbidden", "UnexpectedAdmissionError", "OutOfcpu", "OutOfmemory", "NodeAffinity")
_RUNTIME_REASONS = ("FailedCreatePodSandBox", "CreateContainerError", "RunContainerError", "CreateContainerConfigError")


def node_refusal(reason: str) -> Layer | None:
    """The node layer behind a pod status or event reason, or None if the reason is no refusal."""
    if reason in _KUBELET_REASONS:
        return Layer.KUBELET
    if reason in _RUNTIME_REASONS:
        return Layer.RUNTIME
    return None


# --- observations and their comparison ----------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """What was observed for one case in one tenant: outcome, the deciding layer and the API's words."""

    case: Case
    expected: Outcome
    observed: Outcome
    layer: Layer | None = None
    message: str = ""

    @property
    def matches(self) -> bool:
        if self.observed is not self.expected:
            return False
        if self.observed is Outcome.REJECTED:
            return self.layer in ADMISSION_LAYERS
        if self.observed is Outcome.NOT_RUN:
            return self.layer in NODE_LAYERS
        return True


@dataclass(frozen=True)
class PlanVerdicts:
    """Every case on one tenant's plan."""

    product: str
    plan: str
    tenant: str
    control: str  # what the positive control (a compliant pod) showed
    results: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def row(self) -> str:
        return f"{self.product}/{self.plan} ({self.tenant})"

    @property
    def passed(self) -> bool:
        return len(self.results) == len(Case) and all(r.matches for r in self.results)

    @property
    def contradicted(self) -> bool:
        """A case was observed and does not match its plan (a failure, not an observation problem)."""
        unobservable = (Outcome.ERROR, Outcome.UNOBSERVED)
        return any(not r.matches and r.observed not in unobservable for r in self.results)


def render_table(verdicts: Sequence[PlanVerdicts]) -> str:
    """Per-case table: case, expected, observed, layer, API message (one block per plan)."""
    lines = []
    for verdict in verdicts:
        status = "PASS" if verdict.passed else "FAIL" if verdict.contradicted else "ERROR"
        lines.append(f"{status} {verdict.row}: positive control {verdict.control}")
        lines.append(f"  {'case':<26}{'expected':<14}{'observed':<21}{'layer':<24}API message")
        for r in verdict.results:
            mark = " " if r.matches else "!"
            layer = r.layer.value if r.layer else "?"
            lines.append(
                f"{mark} {r.case.value:<26}{r.expected.value:<14}{r.observed.value:<21}{layer:<24}{r.message[:160]}"
            )
        lines.append("")
    return "\n".join(lines)


def plan_by_case_table(verdicts: Sequence[PlanVerdicts]) -> list[list[str]]:
    """The plan x case table, header first, for the report and the project test: each cell is the
    observed outcome and, where someone refused, the layer ("rejected: PodSecurity admission")."""
    header = ["plan", *(c.value for c in Case)]
    rows = [header]
    for verdict in verdicts:
        observed = {r.case: _cell(r) for r in verdict.results}
        rows.append([verdict.row, *(observed.get(c, Outcome.UNOBSERVED.value) for c in Case)])
    return rows


def _cell(result: CaseResult) -> str:
    if result.layer in (None, Layer.NONE):
        return result.observed.value
    return f"{result.observed.value}: {result.layer.value}"


def outcome_of(cell: str) -> str:
    """The outcome part of a plan x case table cell."""
    return cell.split(":", 1)[0]
