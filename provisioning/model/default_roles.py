"""The default user-facing cluster roles of Kubernetes v1.34 (admin, edit, view and the roles
aggregated into them), and the discovery roles every user holds through the default
ClusterRoleBindings (system:discovery, system:public-info-viewer), as the API server's bootstrap
policy creates them (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).

admin, edit and view carry only their aggregation rules: `provisioning.model.rbac.aggregate`
computes their rules from the aggregate-to-* roles, as the cluster's aggregation controller does.
Regenerate from a lab cluster's `GET /apis/rbac.authorization.k8s.io/v1/clusterroles` when the
lab's Kubernetes version changes.
"""

from __future__ import annotations

from typing import Any

KUBERNETES_VERSION = "v1.34"

DEFAULT_CLUSTER_ROLES: list[dict[str, Any]] = [
    {
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]
        },
        "metadata": {"labels": {}, "name": "admin"},
        "rules": [],
    },
    {
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}]
        },
        "metadata": {"labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}, "name": "edit"},
        "rules": [],
    },
    {
        "metadata": {
            "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
            "name": "system:aggregate-to-admin",
        },
        "rules": [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["rolebindings", "roles"],
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            },
        ],
    },
    {
        "metadata": {
            "labels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
            "name": "system:aggregate-to-edit",
        },
        "rules": [
            {
                "apiGroups": [""],
                "resources": [
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                    "secrets",
                    "services/proxy",
                ],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
            {
                "apiGroups": [""],
                "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
            {
                "apiGroups": [""],
                "resources": [
                    "configmaps",
                    "events",
                    "persistentvolumeclaims",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "secrets",
                    "serviceaccounts",
                    "services",
                    "services/proxy",
                ],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
            {
                "apiGroups": ["apps"],
                "resources": [
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "replicasets",
                    "replicasets/scale",
                    "statefulsets",
                    "statefulsets/scale",
                ],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["autoscaling"],
                "resources": ["horizontalpodautoscalers"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["batch"],
                "resources": ["cronjobs", "jobs"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["extensions"],
                "resources": [
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "ingresses",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicationcontrollers/scale",
                ],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["policy"],
                "resources": ["poddisruptionbudgets"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "networkpolicies"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            },
            {
                "apiGroups": ["resource.k8s.io"],
                "resources": ["resourceclaims", "resourceclaimtemplates"],
                "verbs": ["create", "delete", "deletecollection", "patch", "update"],
            },
        ],
    },
    {
        "metadata": {
            "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
            "name": "system:aggregate-to-view",
        },
        "rules": [
            {
                "apiGroups": [""],
                "resources": [
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "persistentvolumeclaims/status",
                    "pods",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "serviceaccounts",
                    "services",
                    "services/status",
                ],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": [""],
                "resources": [
                    "bindings",
                    "events",
                    "limitranges",
                    "namespaces/status",
                    "pods/log",
                    "pods/status",
                    "replicationcontrollers/status",
                    "resourcequotas",
                    "resourcequotas/status",
                ],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
            {
                "apiGroups": ["apps"],
                "resources": [
                    "controllerrevisions",
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "statefulsets",
                    "statefulsets/scale",
                    "statefulsets/status",
                ],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["autoscaling"],
                "resources": ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["batch"],
                "resources": ["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["extensions"],
                "resources": [
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "ingresses",
                    "ingresses/status",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "replicationcontrollers/scale",
                ],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["policy"],
                "resources": ["poddisruptionbudgets", "poddisruptionbudgets/status"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "ingresses/status", "networkpolicies"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["resource.k8s.io"],
                "resources": ["resourceclaims", "resourceclaims/status", "resourceclaimtemplates"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    },
    {
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]
        },
        "metadata": {"labels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}, "name": "view"},
        "rules": [],
    },
]

DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

DEFAULT_CLUSTER_ROLES += [
    {"metadata": {"name": "system:discovery"}, "rules": [{"nonResourceURLs": DISCOVERY_URLS, "verbs": ["get"]}]},
    {
        "metadata": {"name": "system:public-info-viewer"},
        "rules": [{"nonResourceURLs": PUBLIC_INFO_URLS, "verbs": ["get"]}],
    },
]


def _binding(role: str, groups: list[str]) -> dict[str, Any]:
    return {
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups],
    }


DEFAULT_CLUSTER_ROLE_BINDINGS: list[dict[str, Any]] = [
    _binding("system:discovery", ["system:authenticated"]),
    _binding("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
]
