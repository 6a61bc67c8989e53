"""A Deployment whose pods the plan forbids, followed through its ReplicaSet (observation, then verdict).

First a compliant Deployment's pod must run in the same namespace (the positive control): if it does not,
nothing about the forbidden one counts and the check is ERROR with what the control saw. Then the
forbidden Deployment: accepted with a warning, its ReplicaSet records FailedCreate, no pod of it exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from checks.answered import classified
from checks.matrix import Cell
from checks.representatives import ReadBack
from checks.verdicts import Observed, require_rows
from harness.wait import StopTrying, WaitTimeout, wait_until
from provisioning.images.products import suite_pod
from provisioning.images.refs import PROBE_IMAGE
from provisioning.kube import client as kube
from provisioning.kube.pods import running_and_ready, selected_may_start, start_watch
from provisioning.model import answers
from provisioning.model.onboarding import labels as run_labels
from provisioning.model.privileges import ADMISSION_LAYERS, Case, case_pod, compliant_pod, refusal_layer
from provisioning.model.tenancy import Tenant
from provisioning.tenancy import ProvisionedTenancy


@dataclass(frozen=True)
class DeploymentObservation:
    """What one tenant's Deployments showed. `observed` is False when nothing about the forbidden
    Deployment counts: its positive control failed, or an answer was no answer (transport, 401, 429,
    5xx, a timeout); `error` then says what was seen."""

    tenant: str
    case: Case
    accepted: bool
    warnings: tuple[str, ...]
    failed_create: str  # the ReplicaSet's ReplicaFailure/FailedCreate message ("" if none)
    pods: int  # pods of the Deployment that exist (-1: not counted)
    error: str = ""
    control: str = ""  # the positive control: a compliant Deployment's pod runs in the same namespace
    refusal: str = ""  # the admission layer's answer when the forbidden Deployment itself was refused

    @property
    def observed(self) -> bool:
        return not self.error

    @property
    def decided_by(self) -> str:
        """Who decided what was observed (an `answers.Layer` value, "-" if nobody refused): the layer
        that refused the Deployment, else the one its ReplicaSet's FailedCreate names, else the one that
        warned when accepting it."""
        if self.refusal:
            return answers.classify_recorded(self.refusal).layer.value
        if self.failed_create:
            return answers.classify_recorded(self.failed_create).layer.value
        warned = [w for w in map(answers.warned_by, self.warnings) if w]
        return warned[0].value if warned else answers.Layer.NONE.value

    def describe(self) -> str:
        return (
            f"{self.tenant}: Deployment asking for {self.case.value}: accepted={self.accepted}"
            + (f" (refused: {self.refusal})" if self.refusal else "")
            + f", warnings={list(self.warnings)}, ReplicaSet FailedCreate={self.failed_create!r}, pods={self.pods}; "
            f"positive control: {self.control}" + (f"; ERROR: {self.error}" if self.error else "")
        )


def _replica_failure(api: Any, namespace: str, app: str) -> tuple[str, int]:
    sets = kube.call(api, "AppsV1Api", "list_namespaced_replica_set", namespace, label_selector=f"app={app}").items
    message = ""
    for replica_set in sets:
        for condition in replica_set.status.conditions or []:
            if condition.type == "ReplicaFailure" and condition.reason == "FailedCreate":
                message = condition.message or ""
    pods = kube.call(api, "CoreV1Api", "list_namespaced_pod", namespace, label_selector=f"app={app}").items
    return message, len(pods)


def _deployment(app: str, labels: dict[str, str], pod: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": labels}, "spec": pod["spec"]},
        },
    }


def run_control(api: Any, namespace: str, app: str, timeout: float) -> str:
    """Wait for the compliant Deployment's pod to run; "" when it does, else what the control saw.
    Ends at once when its pod cannot start (provisioning/kube/pod_start.py's rules) or its ReplicaSet
    cannot create the pod for any reason but a full quota (other pods may end)."""
    watch = start_watch(api, namespace)

    def fetch() -> list[Any]:
        refused, _ = _replica_failure(api, namespace, app)
        if refused and answers.classify_recorded(refused).layer is not answers.Layer.QUOTA:
            raise StopTrying(f"the ReplicaSet of {namespace}/{app} could not create its pod: {refused}")
        return selected_may_start(api, namespace, f"app={app}", watch)

    try:
        wait_until(
            fetch,
            lambda pods: any(running_and_ready(p) for p in pods),
            timeout=timeout,
            what=f"the pod of the compliant Deployment {namespace}/{app} to run",
            retry_on=(kube.ApiFailure,),
        )
    except (StopTrying, WaitTimeout) as exc:
        return str(exc)[:800]
    return ""


def observe_forbidden_deployment(
    tenancy: ProvisionedTenancy, tenant: Tenant, case: Case, run_id: str, timeout: float
) -> DeploymentObservation:
    """Create, as `<tenant>-admin`, a compliant Deployment (its pod must run: the positive control) and
    a Deployment whose pod asks for `case`; wait for the latter's ReplicaSet's FailedCreate or a pod of
    it; count its pods; remove both."""
    api = tenancy.client_for(f"{tenant.name}-admin")
    namespace, suffix = tenant.namespace, secrets.token_hex(3)
    app, control_app = f"forbidden-{suffix}", f"compliant-{suffix}"
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    created: list[str] = []

    def manifest(name: str, pod: Any) -> dict[str, Any]:
        labels = {**run_labels(run_id, tenant.name), "app": name}
        return suite_pod(tenancy.product.name, api, namespace, _deployment(name, labels, pod(name, labels)))

    def failed_control(what: str) -> DeploymentObservation:
        return DeploymentObservation(tenant.name, case, False, (), "", -1, f"positive control failed: {what}", "failed")

    try:
        try:
            kube.request(
                api, "POST", path, body=manifest(control_app, lambda n, marks: compliant_pod(n, marks, PROBE_IMAGE))
            )
        except kube.ApiFailure as exc:
            return failed_control(f"creating the compliant Deployment {namespace}/{control_app}: {exc}")
        created.append(control_app)
        seen = run_control(api, namespace, control_app, timeout)
        if seen:
            return failed_control(seen)
        control = f"the compliant Deployment's pod runs ({control_app})"
        forbidden = manifest(app, lambda n, marks: case_pod(case, n, marks, PROBE_IMAGE))
        try:
            _, warnings = kube.create_with_warnings(api, path, forbidden)
        except kube.ApiFailure as exc:
            if refusal_layer(classified(exc)) in ADMISSION_LAYERS:
                return DeploymentObservation(tenant.name, case, False, (), "", 0, "", control, exc.message)
            return DeploymentObservation(tenant.name, case, False, (), "", -1, f"{exc.status}: {exc.message}", control)
        created.append(app)
        try:
            message, pods = wait_until(
                lambda: _replica_failure(api, namespace, app),
                lambda state: bool(state[0]) or state[1] > 0,
                timeout=timeout,
                what=f"the ReplicaSet of {namespace}/{app} to record FailedCreate or create a pod",
                retry_on=(kube.ApiFailure,),
            )
        except WaitTimeout as exc:
            return DeploymentObservation(tenant.name, case, True, tuple(warnings), "", -1, str(exc)[:300], control)
        quota_only = answers.classify_recorded(message).layer is answers.Layer.QUOTA and pods == 0
        unobserved = f"the quota, not pod security, refused its pod: {message}" if quota_only else ""
        return DeploymentObservation(tenant.name, case, True, tuple(warnings), message, pods, unobserved, control)
    finally:
        for name in created:
            with contextlib.suppress(kube.ApiFailure):  # else it goes with the tenant's namespace
                kube.request(api, "DELETE", f"{path}/{name}", body={"propagationPolicy": "Background"})
        api.close()


def covered_deployment(representative: DeploymentObservation, read: ReadBack) -> DeploymentObservation:
    """A covered tenant's observation: its representative's (`read.representative`), its positive control
    said to be the representative's with what the tenant's read-back found."""
    control = f"as {representative.tenant}: {representative.control}; read back: {read.describe()}"
    return dataclasses.replace(representative, tenant=read.tenant, control=control)


def require_each(
    observations: Sequence[DeploymentObservation], contradiction: Callable[[DeploymentObservation], str]
) -> None:
    """Fail (AssertionError) when an observed Deployment contradicts the expectation (`contradiction`
    says how, "" if it does not); otherwise ERROR (Inconclusive) when one was not observed (its positive
    control failed, an answer was no answer); otherwise pass: one row per Deployment through the one
    verdict rule (`checks.verdicts.require_rows`). A failed control is never a failure."""
    report = "\n".join(o.describe() for o in observations)
    rows: dict[str, Observed] = {}
    layers: dict[str, str] = {}
    for number, seen in enumerate(observations, 1):
        said = contradiction(seen) if seen.observed else ""
        cell = (Cell.DENIED, said) if said else (Cell.ALLOWED, "") if seen.observed else (Cell.ERROR, seen.error)
        row = f"{number}. {seen.tenant}: {seen.case.value}"
        rows[row], layers[row] = cell, seen.decided_by
    contradicted = [evidence for cell, evidence in rows.values() if cell is Cell.DENIED]
    require_rows(rows, "\n".join(contradicted) + "\n\n" + report if contradicted else report, layers=layers)


def not_accepted_with_warning(seen: DeploymentObservation) -> str:
    if not seen.accepted:
        return f"{seen.tenant}: the Deployment was refused ({seen.refusal}), not accepted with a warning"
    if answers.Layer.POD_SECURITY not in map(answers.warned_by, seen.warnings):
        return f"{seen.tenant}: the Deployment was accepted without a pod-security warning"
    return ""


def no_failed_create(seen: DeploymentObservation) -> str:
    if seen.pods > 0:
        return f"{seen.tenant}: the ReplicaSet created {seen.pods} pod(s) asking for {seen.case.value}"
    if answers.classify_recorded(seen.failed_create).layer is not answers.Layer.POD_SECURITY:
        return f"{seen.tenant}: the ReplicaSet's FailedCreate does not name pod security: {seen.failed_create!r}"
    return ""


def some_pod_exists(seen: DeploymentObservation) -> str:
    return f"{seen.tenant}: {seen.pods} pod(s) of the forbidden Deployment exist" if seen.pods != 0 else ""
