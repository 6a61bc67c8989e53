"""What a plan lets a tenant's pods do, case by case, and how to read who decided (pure).

Each `Case` is one privilege a pod can ask for. `expected_outcome(plan, case)`
says what the plan's catalog entry implies: the pod is rejected at admission
(its pod-security level forbids it, or the plan does not allow privileged
containers), it is admitted and runs with the privilege in effect, or it is
admitted and the node refuses to run it (`NodeSupport`: the kubelet's unsafe
sysctl allowlist and the runtime's user namespaces). `case_pod` builds the pod
that asks for exactly one case on top of a pod every level admits, and
`proof_command` is what, run inside it, shows the privilege is real.
`refusal_layer` names the layer that decided from the API's classified answer
(`provisioning.model.answers.classify`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioning.model import answers, pss
from provisioning.model.pods import restricted_container_security, restricted_pod_security
from provisioning.model.pss import Control
from provisioning.model.tenancy import Plan, PodSecurityLevel


class Case(enum.StrEnum):
    """One privilege a pod asks for: each violates one Pod Security Standards control (`control`)."""

    PRIVILEGED = "privileged"
    HOST_PROCESS = "hostProcess"
    HOST_NETWORK = "hostNetwork"
    HOST_PID = "hostPID"
    HOST_IPC = "hostIPC"
    HOST_PATH = "hostPath"
    HOST_PORT = "hostPort"
    HOST_PROBE = "probe host"
    NET_ADMIN = "cap NET_ADMIN"
    SYS_ADMIN = "cap SYS_ADMIN"
    APPARMOR_UNCONFINED = "AppArmor Unconfined"
    SELINUX_TYPE = "SELinux type spc_t"
    PROC_UNMASKED = "procMount Unmasked"
    SECCOMP_UNCONFINED = "seccomp Unconfined"
    UNSAFE_SYSCTL = "unsafe sysctl"
    NFS_VOLUME = "nfs volume"
    PRIVILEGE_ESCALATION = "allowPrivilegeEscalation"
    RUN_AS_NON_ROOT_UNSET = "runAsNonRoot unset"
    RUN_AS_USER_ROOT = "runAsUser 0"
    SECCOMP_UNSET = "seccomp unset"
    CAPABILITIES_KEPT = "capabilities not dropped"
    CAP_CHOWN = "cap CHOWN"

    @property
    def slug(self) -> str:
        """A DNS-label-safe short name (for pod names)."""
        return _SLUGS[self]

    @property
    def control(self) -> Control:
        """The Pod Security Standards control the case is about."""
        return _CONTROLS[self]

    @property
    def violates(self) -> frozenset[Control]:
        """Every control the case's pod violates: its own, and where it cannot be otherwise one more
        (`UNAVOIDABLE`)."""
        return frozenset({self.control}) | UNAVOIDABLE.get(self, frozenset())


_SLUGS = {
    Case.PRIVILEGED: "priv",
    Case.HOST_PROCESS: "hostprocess",
    Case.HOST_NETWORK: "hostnet",
    Case.HOST_PID: "hostpid",
    Case.HOST_IPC: "hostipc",
    Case.HOST_PATH: "hostpath",
    Case.HOST_PORT: "hostport",
    Case.HOST_PROBE: "probehost",
    Case.NET_ADMIN: "netadmin",
    Case.SYS_ADMIN: "sysadmin",
    Case.APPARMOR_UNCONFINED: "apparmor",
    Case.SELINUX_TYPE: "selinux",
    Case.PROC_UNMASKED: "procmount",
    Case.SECCOMP_UNCONFINED: "unconfined",
    Case.UNSAFE_SYSCTL: "sysctl",
    Case.NFS_VOLUME: "nfs",
    Case.PRIVILEGE_ESCALATION: "escalate",
    Case.RUN_AS_NON_ROOT_UNSET: "nonrootunset",
    Case.RUN_AS_USER_ROOT: "uid0",
    Case.SECCOMP_UNSET: "seccompunset",
    Case.CAPABILITIES_KEPT: "capskept",
    Case.CAP_CHOWN: "chown",
}

_CONTROLS = {
    Case.PRIVILEGED: Control.PRIVILEGED,
    Case.HOST_PROCESS: Control.HOST_PROCESS,
    Case.HOST_NETWORK: Control.HOST_NAMESPACES,
    Case.HOST_PID: Control.HOST_NAMESPACES,
    Case.HOST_IPC: Control.HOST_NAMESPACES,
    Case.HOST_PATH: Control.HOST_PATH,
    Case.HOST_PORT: Control.HOST_PORTS,
    Case.HOST_PROBE: Control.HOST_PROBES,
    Case.NET_ADMIN: Control.CAPABILITIES_BASELINE,
    Case.SYS_ADMIN: Control.CAPABILITIES_BASELINE,
    Case.APPARMOR_UNCONFINED: Control.APPARMOR,
    Case.SELINUX_TYPE: Control.SELINUX,
    Case.PROC_UNMASKED: Control.PROC_MOUNT,
    Case.SECCOMP_UNCONFINED: Control.SECCOMP_BASELINE,
    Case.UNSAFE_SYSCTL: Control.SYSCTLS,
    Case.NFS_VOLUME: Control.VOLUME_TYPES,
    Case.PRIVILEGE_ESCALATION: Control.PRIVILEGE_ESCALATION,
    Case.RUN_AS_NON_ROOT_UNSET: Control.RUN_AS_NON_ROOT,
    Case.RUN_AS_USER_ROOT: Control.RUN_AS_NON_ROOT_USER,
    Case.SECCOMP_UNSET: Control.SECCOMP_RESTRICTED,
    Case.CAPABILITIES_KEPT: Control.CAPABILITIES_RESTRICTED,
    Case.CAP_CHOWN: Control.CAPABILITIES_RESTRICTED,
}

# The second control a case cannot help violating. A restricted control that is a stricter form of the
# case's baseline one (restricted's volume types exclude hostPath; restricted adds only NET_BIND_SERVICE;
# restricted allows no Unconfined seccomp); and API validation (k8s.io/kubernetes v1.34
# pkg/apis/core/validation ValidateSecurityContext: "cannot set `allowPrivilegeEscalation` to false and
# `privileged` to true", "... and `capabilities.Add` CAP_SYS_ADMIN") makes privileged and SYS_ADMIN
# pods leave allowPrivilegeEscalation unset. Each still has its own control as the lower level's only one.
UNAVOIDABLE: Mapping[Case, frozenset[Control]] = {
    Case.PRIVILEGED: frozenset({Control.PRIVILEGE_ESCALATION}),
    Case.HOST_PATH: frozenset({Control.VOLUME_TYPES}),
    Case.NET_ADMIN: frozenset({Control.CAPABILITIES_RESTRICTED}),
    Case.SYS_ADMIN: frozenset({Control.CAPABILITIES_RESTRICTED, Control.PRIVILEGE_ESCALATION}),
    Case.SECCOMP_UNCONFINED: frozenset({Control.SECCOMP_RESTRICTED}),
}


class Outcome(enum.StrEnum):
    """What happened to a pod that asked for a case. Only the first four are verdicts a plan can imply."""

    RUNS = "runs"  # admitted, running, and the privilege is in effect
    REJECTED = "rejected"  # refused at admission (PodSecurity, an admission policy, API validation)
    NOT_RUN = "node refused"  # admitted, but the kubelet or the container runtime refused to run it
    ADMITTED = "admitted"  # admitted; what it asks for has no effect the lab's nodes can show (not followed)
    INEFFECTIVE = "runs without effect"  # running, but the privilege it asked for is not in effect
    ERROR = "error"  # the observation failed (transport, 401, 429, 5xx, timeout): never a verdict
    UNOBSERVED = "unobserved"


class Layer(enum.StrEnum):
    """Who decided a pod's fate, read from the API's answer or the pod's status."""

    POD_SECURITY = "PodSecurity admission"
    ADMISSION_POLICY = "ValidatingAdmissionPolicy"
    WEBHOOK = "admission webhook"  # a policy engine's (Gatekeeper, Kyverno): what PSP-era products enforce with
    API_VALIDATION = "API validation"
    QUOTA = "ResourceQuota admission"
    KUBELET = "kubelet"
    RUNTIME = "container runtime"
    NONE = "-"  # nobody refused: the pod runs


ADMISSION_LAYERS = frozenset({Layer.POD_SECURITY, Layer.ADMISSION_POLICY, Layer.WEBHOOK, Layer.API_VALIDATION})
NODE_LAYERS = frozenset({Layer.KUBELET, Layer.RUNTIME})
# The admission layers that enforce a plan's pod-security level: PodSecurity admission, or a
# ValidatingAdmissionPolicy or a policy engine's webhook (Gatekeeper, Kyverno) doing its work; the plan
# promises the level, not the mechanism. API validation is not one of them: it refuses a pod invalid in
# every namespace, whatever the level.
POLICY_LAYERS = frozenset({Layer.POD_SECURITY, Layer.ADMISSION_POLICY, Layer.WEBHOOK})


@dataclass(frozen=True)
class NodeSupport:
    """What the product's nodes run beyond admission. The defaults are the kubelet's defaults (no
    unsafe sysctls allowlisted, no `seccompDefault`: an unset profile is Unconfined) and a runtime
    without user namespaces (containerd before 2.0), as the lab's nodes and the products' nodes of
    the time have."""

    allowed_unsafe_sysctls: frozenset[str] = frozenset()
    user_namespaces: bool = False
    seccomp_default: bool = False


UNSAFE_SYSCTL = "kernel.msgmax"  # namespaced, but on no pod-security level's safe list
HOST_PORT = 18080
PROBE_HOST = "192.0.2.1"  # TEST-NET-1 (RFC 5737): a probe aimed past the pod, at nobody
# Cases whose effect the lab's nodes cannot show (no AppArmor or SELinux on the lab's kernel, no NFS
# server, the pod keeps its non-root user, a probe at nobody): admission is the verdict.
ADMISSION_ONLY = frozenset(
    {Case.HOST_PROBE, Case.APPARMOR_UNCONFINED, Case.SELINUX_TYPE, Case.NFS_VOLUME, Case.RUN_AS_NON_ROOT_UNSET}
)
# API validation refuses these whatever the level: a HostProcess pod needs hostNetwork (v1.34
# validateWindowsHostProcessPod), which would be a second control; the case shows nothing admits it.
INVALID_EVERYWHERE = frozenset({Case.HOST_PROCESS})

FORBIDDEN_BY_LEVEL: Mapping[PodSecurityLevel, frozenset[Case]] = {
    level: frozenset(c for c in Case if c.violates & pss.forbidden_by(level)) for level in PodSecurityLevel
}


def expected_outcome(plan: Plan, case: Case, nodes: NodeSupport = NodeSupport()) -> Outcome:
    """The verdict the plan catalog implies for a pod asking for `case` on `plan`: rejected iff the
    plan's level enforces a control the case violates, the plan allows no privileged containers and
    it asks for one, or API validation refuses it anywhere; otherwise what its node does with it."""
    if case in INVALID_EVERYWHERE or case in FORBIDDEN_BY_LEVEL[plan.pod_security]:
        return Outcome.REJECTED
    if case is Case.PRIVILEGED and not plan.allow_privileged:
        return Outcome.REJECTED
    if case in ADMISSION_ONLY:
        return Outcome.ADMITTED
    if case is Case.UNSAFE_SYSCTL and UNSAFE_SYSCTL not in nodes.allowed_unsafe_sysctls:
        return Outcome.NOT_RUN
    if case is Case.PROC_UNMASKED and not nodes.user_namespaces:
        return Outcome.NOT_RUN
    if case is Case.RUN_AS_USER_ROOT:  # runAsNonRoot stays true: the kubelet refuses user 0
        return Outcome.NOT_RUN
    if case is Case.SECCOMP_UNSET and nodes.seccomp_default:
        return Outcome.INEFFECTIVE
    return Outcome.RUNS


def expected_layer(plan: Plan, case: Case, nodes: NodeSupport = NodeSupport()) -> Layer:
    """The layer that decides the case on `plan` when the product is as the catalog says: API
    validation before admission (it runs first), the plan's level at PodSecurity admission, the
    plan's privileged switch at API validation (`--allow-privileged=false`), the kubelet on the node."""
    outcome = expected_outcome(plan, case, nodes)
    if outcome is Outcome.REJECTED:
        if case in INVALID_EVERYWHERE:
            return Layer.API_VALIDATION
        return Layer.POD_SECURITY if case in FORBIDDEN_BY_LEVEL[plan.pod_security] else Layer.API_VALIDATION
    if outcome is Outcome.NOT_RUN:
        return Layer.RUNTIME if case is Case.PROC_UNMASKED else Layer.KUBELET
    return Layer.NONE


def deciding_layers(case: Case, expected: Outcome) -> frozenset[Layer]:
    """The layers whose refusal shows the `expected` outcome of `case` (a verdict of
    `expected_outcome`), empty for an outcome nobody refuses (runs, admitted, runs without effect).

    - rejected, a case API validation refuses anywhere (`INVALID_EVERYWHERE`): every admission layer
      (the case shows that nothing admits it; no plan decides it);
    - rejected `privileged`: `POLICY_LAYERS` or API validation (an API server without
      `--allow-privileged` refuses it before admission, as the lab's cfcr does; a plan that may not
      run privileged pods is refused by either, `expected_layer`);
    - rejected, any other case: `POLICY_LAYERS` only, since only the plan's level forbids it: a refusal
      by API validation shows the pod invalid everywhere, not the level enforced (and a ResourceQuota's
      refusal is no verdict at all: the observation records it as ERROR);
    - node refused: the kubelet or the container runtime (which one refuses an unmasked /proc or an
      unsafe sysctl depends on the runtime's version; both are the node)."""
    if expected is Outcome.REJECTED:
        if case in INVALID_EVERYWHERE:
            return ADMISSION_LAYERS
        return POLICY_LAYERS | {Layer.API_VALIDATION} if case is Case.PRIVILEGED else POLICY_LAYERS
    if expected is Outcome.NOT_RUN:
        return NODE_LAYERS
    return frozenset()


def expected_outcomes(plan: Plan, nodes: NodeSupport = NodeSupport()) -> dict[Case, Outcome]:
    """Every case's expected outcome under `plan` on nodes with `nodes`' support (`expected_outcome`)."""
    return {case: expected_outcome(plan, case, nodes) for case in Case}


def forbidden_case(plan: Plan) -> Case | None:
    """A case the plan's pod-security level rejects at admission (for the workload-controller check)."""
    for case in (Case.HOST_NETWORK, Case.RUN_AS_USER_ROOT):
        if case in FORBIDDEN_BY_LEVEL[plan.pod_security]:
            return case
    return None


# --- pods -------------------------------------------------------------------------------------------

Manifest = dict[str, Any]


def compliant_pod(name: str, labels: Mapping[str, str], image: str) -> Manifest:
    """A pod every pod-security level admits (restricted): non-root, no escalation, no capabilities.
    It is the positive control: it violates no control (tests/unit/test_pss_cases.py)."""
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


def case_pod(case: Case, name: str, labels: Mapping[str, str], image: str, node: str = "") -> Manifest:
    """The compliant pod changed in one place to ask for `case` (and so violate `case.violates` and
    nothing else); `node` pins it next to the tenant's compliant pod (the host-port proof comes from
    there)."""
    pod = compliant_pod(name, labels, image)
    spec = pod["spec"]
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    _ask(case, spec, spec["containers"][0])
    return pod


def _ask(case: Case, spec: Manifest, container: Manifest) -> None:
    """Change the compliant pod's `spec` (and its one `container`) to ask for `case`."""
    pod_security, security = spec["securityContext"], container["securityContext"]
    if case in (Case.PRIVILEGED, Case.SYS_ADMIN):
        security.pop("allowPrivilegeEscalation")  # API validation: false is invalid with either (UNAVOIDABLE)
    if case is Case.PRIVILEGED:
        security["privileged"] = True
    elif case is Case.HOST_PROCESS:
        security["windowsOptions"] = {"hostProcess": True}
    elif case in (Case.HOST_NETWORK, Case.HOST_PID, Case.HOST_IPC):
        spec[case.value] = True
        if case is Case.HOST_NETWORK:
            container["args"] = ["serve", "--tcp", "18081", "--udp", "18082"]
    elif case is Case.HOST_PATH:
        spec["volumes"] = [{"name": "host-etc", "hostPath": {"path": "/etc", "type": "Directory"}}]
        container["volumeMounts"] = [{"name": "host-etc", "mountPath": "/host-etc", "readOnly": True}]
    elif case is Case.HOST_PORT:
        container["ports"] = [{"containerPort": 8080, "hostPort": HOST_PORT, "protocol": "TCP"}]
    elif case is Case.HOST_PROBE:
        container["readinessProbe"] = {"tcpSocket": {"host": PROBE_HOST, "port": 80}, "periodSeconds": 60}
    elif case in (Case.NET_ADMIN, Case.SYS_ADMIN, Case.CAP_CHOWN):
        security["capabilities"] = {"drop": ["ALL"], "add": [case.value.removeprefix("cap ")]}
    elif case is Case.CAPABILITIES_KEPT:
        security.pop("capabilities")
    elif case is Case.APPARMOR_UNCONFINED:
        pod_security["appArmorProfile"] = {"type": "Unconfined"}
    elif case is Case.SELINUX_TYPE:
        pod_security["seLinuxOptions"] = {"type": "spc_t"}
    elif case is Case.PROC_UNMASKED:
        spec["hostUsers"] = False  # API validation allows an unmasked /proc only in a user namespace
        security["procMount"] = "Unmasked"
    elif case is Case.SECCOMP_UNCONFINED:
        pod_security["seccompProfile"] = {"type": "Unconfined"}
    elif case is Case.SECCOMP_UNSET:
        pod_security.pop("seccompProfile")
    elif case is Case.UNSAFE_SYSCTL:
        pod_security["sysctls"] = [{"name": UNSAFE_SYSCTL, "value": "65536"}]
    elif case is Case.NFS_VOLUME:
        spec["volumes"] = [{"name": "nfs", "nfs": {"server": PROBE_HOST, "path": "/", "readOnly": True}}]
        container["volumeMounts"] = [{"name": "nfs", "mountPath": "/nfs", "readOnly": True}]
    elif case is Case.PRIVILEGE_ESCALATION:
        security["allowPrivilegeEscalation"] = True
    elif case is Case.RUN_AS_NON_ROOT_UNSET:
        pod_security.pop("runAsNonRoot")  # the user stays 65532: only the guarantee is gone
    elif case is Case.RUN_AS_USER_ROOT:
        pod_security["runAsUser"] = 0  # runAsNonRoot stays true


def _capability(number: int) -> str:
    """Shell test: the container's bounding set holds capability `number` (linux/capability.h). The
    bounding set is what any process in the container (a root or file-capability one) may use; a
    non-root user's effective set stays empty without ambient capabilities, whatever the pod adds."""
    return f"b=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status); test $(( (0x$b >> {number}) & 1 )) = 1"


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
    # the capability is in the container's bounding set (the compliant pod's is empty)
    Case.NET_ADMIN: _capability(12),
    Case.SYS_ADMIN: _capability(21),
    Case.CAP_CHOWN: _capability(0),
    # the runtime's default set stays, CAP_NET_RAW in it (raw sockets: forged source addresses)
    Case.CAPABILITIES_KEPT: _capability(13),
    # no_new_privs is off
    Case.PRIVILEGE_ESCALATION: "grep -q '^NoNewPrivs:[[:space:]]*0$' /proc/self/status",
    # no seccomp filter
    Case.SECCOMP_UNCONFINED: "grep -q '^Seccomp:[[:space:]]*0$' /proc/self/status",
    Case.SECCOMP_UNSET: "grep -q '^Seccomp:[[:space:]]*0$' /proc/self/status",
    # nothing masks /proc/timer_list
    Case.PROC_UNMASKED: "! grep -q ' /proc/timer_list ' /proc/self/mountinfo",
    Case.UNSAFE_SYSCTL: f'test "$(cat /proc/sys/{UNSAFE_SYSCTL.replace(".", "/")})" = 65536',
}

PROOF_FROM_NEIGHBOUR = frozenset({Case.HOST_PORT})  # proved from the tenant's compliant pod, not from inside


def proof_command(case: Case, host_ip: str) -> list[str]:
    """The command whose success shows the case's privilege in effect (`host_ip`: the pod's node), as
    `sh -c` argv. KeyError for a case with no proof: those in ADMISSION_ONLY and
    INVALID_EVERYWHERE, and RUN_AS_USER_ROOT, which never run a proof."""
    return ["sh", "-c", f"HOST_IP={host_ip}; {_PROOFS[case]}"]


# --- who decided ------------------------------------------------------------------------------------


def refusal_layer(answer: answers.Answer) -> Layer | None:
    """The admission layer that refused a create, from its classified answer
    (`provisioning.model.answers.classify`, the one classifier); None if the answer is no admission
    decision at all (401, 429, 5xx, transport errors, an RBAC 403) or one of a layer this table does
    not name."""
    if answer.kind is answers.Kind.DENIED and answer.layer in _ADMISSION_ANSWERS:
        return Layer(answer.layer.value)
    if answer.kind is answers.Kind.INVALID and answer.status == 422:
        return Layer.API_VALIDATION
    return None


_ADMISSION_ANSWERS = frozenset(
    {answers.Layer.POD_SECURITY, answers.Layer.ADMISSION_POLICY, answers.Layer.WEBHOOK, answers.Layer.QUOTA}
)


def node_refusal(reason: str) -> Layer | None:
    """The node layer behind a pod status or event reason (`answers.node_refusal`), or None if the
    reason is no refusal."""
    layer = answers.node_refusal(reason)
    return None if layer is None else Layer(layer.value)


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
        """The observed outcome is the expected one and, for a refusal, came from a layer that shows it
        (`deciding_layers`): a case the plan's level forbids, refused by API validation, is a mismatch
        (`wrong_layer` names both), since the pod was invalid everywhere and the level never decided."""
        if self.observed is not self.expected:
            return False
        return not self.wrong_layer

    @property
    def wrong_layer(self) -> str:
        """Why the refusal's layer does not show the expected outcome, naming both the layer that decided
        and those expected, e.g. "refused by API validation, expected PodSecurity admission,
        ValidatingAdmissionPolicy or admission webhook"; "" when it does, or nothing was refused."""
        if self.observed is not self.expected or self.observed not in (Outcome.REJECTED, Outcome.NOT_RUN):
            return ""
        wanted = deciding_layers(self.case, self.expected)
        if self.layer in wanted:
            return ""
        names = [layer.value for layer in Layer if layer in wanted]
        either = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"refused by {self.layer.value if self.layer else 'no layer named'}, expected {either}"


@dataclass(frozen=True)
class PlanVerdicts:
    """Every case on one tenant's plan."""

    product: str
    plan: str
    tenant: str
    control: str  # what the positive control (a compliant pod) showed
    results: tuple[CaseResult, ...] = field(default_factory=tuple)
    control_ran: bool = False  # the positive control ran (and could be exec'd into): else no case counts

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
    """Per-case table: control, case, expected, observed, layer, API message (one block per plan)."""
    lines = []
    for verdict in verdicts:
        status = "PASS" if verdict.passed else "FAIL" if verdict.contradicted else "ERROR"
        lines.append(f"{status} {verdict.row}: positive control {verdict.control}")
        lines.append(f"  {'control':<30}{'case':<26}{'expected':<14}{'observed':<21}{'layer':<24}API message")
        for r in verdict.results:
            mark = " " if r.matches else "!"
            layer = r.layer.value if r.layer else "?"
            lines.append(
                f"{mark} {r.case.control.value:<30}{r.case.value:<26}{r.expected.value:<14}{r.observed.value:<21}"
                f"{layer:<24}{r.message[:160]}"
            )
        lines.append("")
    return "\n".join(lines)


def plan_by_case_table(verdicts: Sequence[PlanVerdicts]) -> list[list[str]]:
    """The plan x case table, header first (the text attachment's shape): each cell is the observed
    outcome and, where someone refused, the layer ("rejected: PodSecurity admission")."""
    header = ["plan", *(c.value for c in Case)]
    rows = [header]
    for verdict in verdicts:
        observed = {r.case: _cell(r) for r in verdict.results}
        rows.append([verdict.row, *(observed.get(c, Outcome.UNOBSERVED.value) for c in Case)])
    return rows


def control_cells(verdicts: Sequence[PlanVerdicts]) -> list[dict[str, str]]:
    """The plan x control table's cells, one per plan and case in `Case` order, for the report
    (`reports.plan_tables` makes one row per case from them): `plan` ("product/plan (tenant)"),
    `level` and `control` (the case's Pod Security Standards control, `pss.Control`), `case`,
    `expected` and `observed` (`Outcome` values), `layer` (who decided, "" if unknown) and `status`:
    pass (as the plan implies), fail (observed and contradicting it) or error (not observed)."""
    cells = []
    for verdict in verdicts:
        results = {r.case: r for r in verdict.results}
        for case in Case:
            result = results.get(case)
            observed = result.observed if result else Outcome.UNOBSERVED
            cells.append(
                {
                    "plan": verdict.row,
                    "level": case.control.level.value,
                    "control": case.control.value,
                    "case": case.value,
                    "expected": result.expected.value if result else "",
                    "observed": observed.value,
                    "layer": result.layer.value if result and result.layer else "",
                    "status": _status(result),
                }
            )
    return cells


def _status(result: CaseResult | None) -> str:
    if result is None or result.observed in (Outcome.ERROR, Outcome.UNOBSERVED):
        return "pass" if result is not None and result.matches else "error"
    return "pass" if result.matches else "fail"


def _cell(result: CaseResult) -> str:
    if result.layer in (None, Layer.NONE):
        return result.observed.value
    return f"{result.observed.value}: {result.layer.value}"


def outcome_of(cell: str) -> str:
    """The outcome part of a plan x case table cell."""
    return cell.split(":", 1)[0]
