"""Isolation under change: one change at a time to a tenancy whose policies are in force, then the matrix
re-observed until it matches what the policies in force allow on the pods as they now are.

The time from a change's API call to the first matching observation is its time to enforce, a figure of
the verdict; a change not enforced within the product's deadline (targets file: dataplane) fails with
its time. Observation only: the caller ends the check with `checks.verdicts.require` on each verdict
(`ChangeVerdict.late`: a mismatch remained after the deadline).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from checks.matrix import Matrix
from checks.network.policies_in_force import partner_policy
from checks.network.reachability import Verdict, attach, observe_until_converged
from provisioning.kube import client as kube
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

CONVERGE_ATTEMPTS = 1000  # bounded by the deadline, never by a count


@dataclass(frozen=True)
class Change:
    """A named change made through the API (`make` returns once the API server accepted it)."""

    kind: str  # e.g. "relabel a pod"
    make: Callable[[], None]


@dataclass(frozen=True)
class ChangeVerdict:
    kind: str
    verdict: Verdict
    deadline: float

    @property
    def seconds(self) -> float:
        """Time to enforce: from the change's API call to the first observation that matched (or the last)."""
        return self.verdict.seconds

    @property
    def late(self) -> bool:
        """A mismatch remained after the deadline (an unobserved cell, or nothing compared, is ERROR)."""
        return bool(self.verdict.comparison.mismatches)

    def line(self) -> str:
        outcome = (
            f"enforced in {self.seconds:.1f}s"
            if self.verdict.comparison.passed
            else f"not enforced after {self.seconds:.1f}s (deadline {self.deadline:g}s)"
        )
        return f"{self.kind}: {outcome}, {self.verdict.attempts} observation(s)"


def enforce(
    change: Change, expect: Callable[[], Matrix], observe: Callable[[], tuple[Matrix, int]], deadline: float
) -> ChangeVerdict:
    """Make `change`, compute what the policies in force now allow (`expect`, read after the change), and
    re-observe until it matches or `deadline` seconds have passed since the change."""
    started = time.monotonic()
    change.make()
    expected = expect()
    verdict = observe_until_converged(expected, observe, CONVERGE_ATTEMPTS, started=started, within=deadline)
    return ChangeVerdict(change.kind, verdict, deadline)


def enforce_one_at_a_time(
    changes: Callable[[], Sequence[Change]],
    expect: Callable[[], Matrix],
    observe: Callable[[], tuple[Matrix, int]],
    deadline: float,
    baseline_seconds: float,
) -> list[ChangeVerdict]:
    """The baseline (nothing changed, judged within `baseline_seconds`), then each of `changes()` in turn,
    each enforced within `deadline` seconds (targets file: dataplane.enforce_within_seconds), every verdict
    attached as it comes. Stops after the first that fails: the next change would start from a state the
    dataplane has not reached; a failed baseline means no change can be judged (the policies are not in
    force to begin with). -> the verdicts made, the baseline first."""
    baseline = enforce(Change("nothing changed yet", lambda: None), expect, observe, baseline_seconds)
    attach(baseline.verdict, "before any change")
    made = [baseline]
    if not baseline.verdict.comparison.passed:
        return made
    for change in changes():
        outcome = enforce(change, expect, observe, deadline)
        attach(outcome.verdict, f"after: {change.kind}")
        made.append(outcome)
        if not outcome.verdict.comparison.passed:
            break
    return made


def summary(verdicts: Sequence[ChangeVerdict]) -> str:
    """Median and worst time to enforce per kind of change, in seconds (enforced changes only)."""
    lines = []
    for kind in dict.fromkeys(v.kind for v in verdicts):
        times = [v.seconds for v in verdicts if v.kind == kind and v.verdict.comparison.passed]
        missed = sum(1 for v in verdicts if v.kind == kind and not v.verdict.comparison.passed)
        figures = f"median {statistics.median(times):.1f}s, worst {max(times):.1f}s" if times else "never enforced"
        lines.append(f"{kind}: {figures} over {len(times)} change(s)" + (f", {missed} not enforced" if missed else ""))
    return "\n".join(lines)


def enforcement_figure(verdicts: Sequence[ChangeVerdict]) -> str:
    """One line for the reports: median and worst time to enforce over every enforced change, in seconds,
    e.g. "time to enforce: median 2.6 s, worst 2.9 s (relabel a pod) over 6 changes, 1 not enforced"."""
    enforced = [v for v in verdicts if v.verdict.comparison.passed]
    missed = len(verdicts) - len(enforced)
    tail = f", {missed} not enforced" if missed else ""
    if not enforced:
        return f"time to enforce: no change enforced of {len(verdicts)}"
    worst = max(enforced, key=lambda v: v.seconds)
    median = statistics.median(v.seconds for v in enforced)
    return (
        f"time to enforce: median {median:.1f} s, worst {worst.seconds:.1f} s ({worst.kind}) "
        f"over {len(enforced)} changes{tail}"
    )


PARTNER_LABEL = "caas-conformance.io/partner-of"  # a namespace label only the provider sets
POLICIES = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"


def _patch_labels(api: Any, path: str, labels: dict[str, str | None]) -> None:
    kube.request(api, "PATCH", path, body={"metadata": {"labels": labels}}, content_type="application/merge-patch+json")


class PartnerChanges:
    """The changes two tenants of a shared cluster and their provider make around one flow: `second`'s
    pods a to `first`'s pods b on TCP 8080, admitted by `first` from namespaces the provider labels as its
    partners. Each change is made with the credentials of whoever would make it (tenant admin or provider);
    `restore()` undoes them all (idempotent) and closes the clients."""

    def __init__(self, tenancy: ProvisionedTenancy, cluster: ProvisionedCluster, first: Tenant, second: Tenant) -> None:
        self.first, self.second = first, second
        self.admin = tenancy.admin_client(cluster)
        self.first_admin = tenancy.client_for(f"{first.name}-admin")
        self.second_admin = tenancy.client_for(f"{second.name}-admin")
        self.pod = f"/api/v1/namespaces/{first.namespace}/pods/probe-b"
        self.partner_namespace = f"/api/v1/namespaces/{second.namespace}"
        self.admit = partner_policy("change-admit", "Ingress", "b", second.name, "a", 8080)
        self.admit["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {"matchLabels": {PARTNER_LABEL: first.name}}
        self.reach = partner_policy("change-reach", "Egress", "a", first.name, "b", 8080)

    def _add_policies(self) -> None:
        kube.request(self.first_admin, "POST", POLICIES.format(self.first.namespace), body=self.admit)
        kube.request(self.second_admin, "POST", POLICIES.format(self.second.namespace), body=self.reach)

    def _remove_admit(self) -> None:
        kube.request(self.first_admin, "DELETE", f"{POLICIES.format(self.first.namespace)}/change-admit")

    def changes(self) -> list[Change]:
        """Policy added (opens nothing yet), partner namespace labelled (opens the flow), the pod relabelled
        out of the policy's selector (closes it) and back (reopens it), the policy removed (closes it)."""
        return [
            Change("add a tenant's policy", self._add_policies),
            Change(
                "relabel a namespace",
                lambda: _patch_labels(self.admin, self.partner_namespace, {PARTNER_LABEL: self.first.name}),
            ),
            Change("relabel a pod", lambda: _patch_labels(self.first_admin, self.pod, {"app": "b-moved"})),
            Change("relabel a pod back", lambda: _patch_labels(self.first_admin, self.pod, {"app": "b"})),
            Change("remove a tenant's policy", self._remove_admit),
        ]

    def undo(self) -> None:
        """Back to the tenancy as onboarded (idempotent), clients kept."""
        kube.delete_if_present(self.first_admin, f"{POLICIES.format(self.first.namespace)}/change-admit")
        kube.delete_if_present(self.second_admin, f"{POLICIES.format(self.second.namespace)}/change-reach")
        _patch_labels(self.first_admin, self.pod, {"app": "b"})
        _patch_labels(self.admin, self.partner_namespace, {PARTNER_LABEL: None})

    def restore(self) -> None:
        try:
            self.undo()
        finally:
            for api in (self.admin, self.first_admin, self.second_admin):
                api.close()
