"""The controls of the Pod Security Standards, as the plans pin them (v1.34, pure data).

Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the baseline and
restricted tables) and the PodSecurity admission code that enforces them,
k8s.io/pod-security-admission@v0.34.4 `policy/check_*.go`: each control is one or more of its checks
(`check_ids`, the `ID` of each `policy.Check`). Restricted includes baseline; where a restricted check
overrides a baseline one (`OverrideCheckIDs`: capabilities, seccomp, hostPath volumes), the upstream
evaluator reports the restricted one on a restricted namespace, and the page lists both rows.
"""

from __future__ import annotations

import enum

from provisioning.model.tenancy import PodSecurityLevel

VERSION = "v1.34"  # the enforce-version onboarding pins (provisioning/model/onboarding.py PSA_VERSION)


class Control(enum.StrEnum):
    """One row of the Pod Security Standards page, named as the page names it (the level in brackets
    where the page has the same name at both levels)."""

    HOST_PROCESS = "HostProcess"
    HOST_NAMESPACES = "Host Namespaces"
    PRIVILEGED = "Privileged Containers"
    CAPABILITIES_BASELINE = "Capabilities (baseline)"
    HOST_PATH = "HostPath Volumes"
    HOST_PORTS = "Host Ports"
    HOST_PROBES = "Host Probes / Lifecycle Hooks"
    APPARMOR = "AppArmor"
    SELINUX = "SELinux"
    PROC_MOUNT = "/proc Mount Type"
    SECCOMP_BASELINE = "Seccomp (baseline)"
    SYSCTLS = "Sysctls"
    VOLUME_TYPES = "Volume Types"
    PRIVILEGE_ESCALATION = "Privilege Escalation"
    RUN_AS_NON_ROOT = "Running as Non-root"
    RUN_AS_NON_ROOT_USER = "Running as Non-root user"
    SECCOMP_RESTRICTED = "Seccomp (restricted)"
    CAPABILITIES_RESTRICTED = "Capabilities (restricted)"

    @property
    def level(self) -> PodSecurityLevel:
        """The lowest level that enforces the control (restricted also enforces every baseline one)."""
        return PodSecurityLevel.RESTRICTED if self in _RESTRICTED else PodSecurityLevel.BASELINE

    @property
    def check_ids(self) -> frozenset[str]:
        """The upstream PodSecurity checks (`policy.Check.ID`) that enforce the control."""
        return _CHECK_IDS[self]


_RESTRICTED = frozenset(
    {
        Control.VOLUME_TYPES,
        Control.PRIVILEGE_ESCALATION,
        Control.RUN_AS_NON_ROOT,
        Control.RUN_AS_NON_ROOT_USER,
        Control.SECCOMP_RESTRICTED,
        Control.CAPABILITIES_RESTRICTED,
    }
)

_CHECK_IDS: dict[Control, frozenset[str]] = {
    Control.HOST_PROCESS: frozenset({"windowsHostProcess"}),
    Control.HOST_NAMESPACES: frozenset({"hostNamespaces"}),
    Control.PRIVILEGED: frozenset({"privileged"}),
    Control.CAPABILITIES_BASELINE: frozenset({"capabilities_baseline"}),
    Control.HOST_PATH: frozenset({"hostPathVolumes"}),
    Control.HOST_PORTS: frozenset({"hostPorts"}),
    Control.HOST_PROBES: frozenset({"hostProbesAndHostLifecycle"}),
    Control.APPARMOR: frozenset({"appArmorProfile"}),
    Control.SELINUX: frozenset({"seLinuxOptions"}),
    Control.PROC_MOUNT: frozenset({"procMount"}),
    Control.SECCOMP_BASELINE: frozenset({"seccompProfile_baseline"}),
    Control.SYSCTLS: frozenset({"sysctls"}),
    Control.VOLUME_TYPES: frozenset({"restrictedVolumes"}),
    Control.PRIVILEGE_ESCALATION: frozenset({"allowPrivilegeEscalation"}),
    Control.RUN_AS_NON_ROOT: frozenset({"runAsNonRoot"}),
    Control.RUN_AS_NON_ROOT_USER: frozenset({"runAsUser"}),
    Control.SECCOMP_RESTRICTED: frozenset({"seccompProfile_restricted"}),
    Control.CAPABILITIES_RESTRICTED: frozenset({"capabilities_restricted"}),
}


def forbidden_by(level: PodSecurityLevel) -> frozenset[Control]:
    """The controls a namespace at `level` enforces."""
    if level is PodSecurityLevel.PRIVILEGED:
        return frozenset()
    if level is PodSecurityLevel.BASELINE:
        return frozenset(Control) - _RESTRICTED
    return frozenset(Control)


def control_of_check(check_id: str) -> Control:
    """The control an upstream check ID enforces; KeyError for an ID no control names."""
    for control in Control:
        if check_id in control.check_ids:
            return control
    raise KeyError(f"no Pod Security Standards control is enforced by the check {check_id!r}")
