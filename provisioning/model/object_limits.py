"""Object counts and system-critical priorities as a plan promises them (pure).

Object counts: a plan's quota `hard` keys that count API objects (`configmaps`, `count/configmaps`,
`secrets`, `count/secrets`, `services`, `count/services`, `services.nodeports`, `services.loadbalancers`)
each promise that the tenant's namespace holds at most that many. The check fills each key to its limit
(`to_create`: hard minus what the quota already counts) and asks for one more: the (n+1)-th create must
get a ResourceQuota refusal naming the key (403 `exceeded quota: <q>, requested: <key>=1, ...`,
plugin/resourcequota; `answers.classify` reads it). The n-th create admitted is the positive control.
A plan without a key promises nothing for it: no row (n/a), never a failure (issue 25). `pods` is
check_privileged_005's, `persistentvolumeclaims` check_storage_005's; other counted keys are not probed here.

System-critical priorities: the PriorityClasses `system-cluster-critical` and `system-node-critical`
(the API server creates them) preempt every tenant workload and are meant for the cluster's own
components. Since Kubernetes v1.17 the Priority admission plugin no longer limits them to kube-system;
a provider limits them with ResourceQuota admission's `limitedResources` (scope `PriorityClass In
[...]`: a pod of such a class is admitted only in a namespace whose quota names the scope) or with an
admission policy ("Limit Priority Class consumption by default",
https://kubernetes.io/docs/concepts/policy/resource-quotas/#limit-priority-class-consumption-by-default).
A tenant's pod of such a class must be refused by some admission layer; a pod of no class, the same
otherwise, admitted is the positive control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioning.model import answers
from provisioning.model.tenancy import Plan

SYSTEM_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")


@dataclass(frozen=True)
class CountProbe:
    """One counted quota key of a plan and the object that fills it.

    `key`: the quota key as the plan writes it (e.g. "count/configmaps"); `hard`: its limit (objects);
    `kind`: the object's kind; `resource`: its collection under /api/v1/namespaces/<ns>/;
    `service_type`: for a Service, its type ("" otherwise)."""

    key: str
    hard: int
    kind: str
    resource: str
    service_type: str = ""

    def path(self, namespace: str) -> str:
        """The collection path the objects are created in."""
        return f"/api/v1/namespaces/{namespace}/{self.resource}"

    def manifest(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        """The object that counts against `key` once (a Service selects nothing the check runs)."""
        meta = {"name": name, "labels": labels}
        if self.kind == "ConfigMap":
            return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"probe": "count"}}
        if self.kind == "Secret":
            return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": {}}
        spec = {"type": self.service_type, "selector": {"caas-conformance.io/nowhere": "true"}}
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {**spec, "ports": [{"port": 80}]}}


# quota key -> (kind, collection, Service type); the keys and what they count: "Object count quota",
# https://kubernetes.io/docs/concepts/policy/resource-quotas/#object-count-quota
_COUNTED: dict[str, tuple[str, str, str]] = {
    "configmaps": ("ConfigMap", "configmaps", ""),
    "count/configmaps": ("ConfigMap", "configmaps", ""),
    "secrets": ("Secret", "secrets", ""),
    "count/secrets": ("Secret", "secrets", ""),
    "services": ("Service", "services", "ClusterIP"),
    "count/services": ("Service", "services", "ClusterIP"),
    "services.nodeports": ("Service", "services", "NodePort"),
    "services.loadbalancers": ("Service", "services", "LoadBalancer"),
}
PROBED_KEYS = frozenset(_COUNTED)


def count_probes(plan: Plan) -> list[CountProbe]:
    """The plan's counted quota keys this check probes, in the plan's order (empty: the plan promises
    no object count this check observes). A Service type the plan does not offer (`Plan.service_types`)
    is not probed: its creation is refused by the plan's type rule before quota (check_network_010's)."""
    probes = []
    for key, quantity in plan.quota.hard.items():
        if key not in _COUNTED:
            continue
        kind, resource, service_type = _COUNTED[key]
        if service_type and service_type not in plan.service_types:
            continue
        probes.append(CountProbe(key, int(quantity), kind, resource, service_type))
    return probes


def to_create(hard: int, used: int) -> int:
    """How many objects fill the key to its limit when the quota already counts `used` (never negative)."""
    return max(hard - used, 0)


def refused_for(answer: answers.Answer, key: str) -> bool:
    """Whether `answer` is the ResourceQuota refusal of the key (`exceeded quota: ..., requested:
    <key>=1, ...`): DENIED by ResourceQuota admission, the key among the resources it names."""
    return answer.kind is answers.Kind.DENIED and answer.layer is answers.Layer.QUOTA and key in answer.exceeded


def priority_pod(base: dict[str, Any], priority_class: str) -> dict[str, Any]:
    """`base` (a pod manifest the tenant's plan admits) asking for `priority_class`."""
    return {**base, "spec": {**base["spec"], "priorityClassName": priority_class}}
