"""A plan's `authorization` held against the cluster a kubeconfig reaches.

On a cluster the suite did not build, the plan's `authorization` in the targets file is the user's statement
of how the cluster authorizes its tenants, and it stays the truth the run uses (the handle's mode: the
onboarding's RoleBindings or ABAC lines, the reports), like every plan field that is a product fact
(provisioning/model/fences.py). What the API server says can only refute it, never replace it: the
authorizers it runs are not readable through the API, and one review's answer names at most the one that
decided. So one SubjectAccessReview (authorization.k8s.io/v1, created with the kubeconfig's credentials;
it changes nothing) asks the question whose answer contradicts the statement if it is wrong:

- `rbac`: may a user in group system:authenticated create selfsubjectreviews (authentication.k8s.io)?
  RBAC grants that to everyone through its default ClusterRoleBinding system:basic-user. A refusal whose
  reason is ABAC's "No policy matched." shows an ABAC cluster where RBAC grants nothing: the tenants'
  RoleBindings would be ignored and every tenant request answered 403.
- `abac`: may a user in no group get an object of a resource no cluster serves? Every authorizer refuses;
  the union of authorizers joins the reasons of those without an opinion, and the ABAC authorizer's is
  "No policy matched." (k8s.io/kubernetes pkg/auth/authorizer/abac). Without it, no ABAC authorizer
  answers (a cluster whose webhook denies before ABAC is consulted would look alike: none is known).

Any other answer, or a review the credentials may not create, cannot refute the statement, which stands.
"""

from __future__ import annotations

from typing import Any

from provisioning.kube import client as kube
from provisioning.model.tenancy import AuthorizationMode

REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
ABAC_NO_MATCH = "No policy matched"  # the ABAC authorizer's reason when none of its lines matches
PROBE_USER = "caas-conformance:authorization-probe"  # a user no cluster knows: reviews only, never a request
_QUESTIONS: dict[AuthorizationMode, dict[str, Any]] = {
    AuthorizationMode.RBAC: {
        "user": PROBE_USER,
        "groups": ["system:authenticated"],
        "resourceAttributes": {"verb": "create", "group": "authentication.k8s.io", "resource": "selfsubjectreviews"},
    },
    AuthorizationMode.ABAC: {
        "user": PROBE_USER,
        "groups": [],
        "resourceAttributes": {
            "namespace": "caas-authorization-probe",
            "verb": "get",
            "group": "caas-conformance.io",
            "resource": "authorizationprobes",
        },
    },
}


def contradiction(mode: AuthorizationMode, status: dict[str, Any]) -> str | None:
    """Why a SubjectAccessReview's `status` (allowed, denied, reason) for `mode`'s question refutes a plan's
    `authorization: <mode>`, or None when it does not (pure; the rules are the module's)."""
    reason = str(status.get("reason") or "")
    if status.get("allowed"):
        return None
    if mode is AuthorizationMode.RBAC and ABAC_NO_MATCH in reason:
        return (
            "the cluster answers by ABAC and RBAC grants nothing there: a user in system:authenticated was "
            f"refused create selfsubjectreviews, which RBAC's default binding system:basic-user allows ({reason!r})"
        )
    if mode is AuthorizationMode.ABAC and ABAC_NO_MATCH not in reason:
        return (
            "no ABAC authorizer answers on the cluster: a request no authorizer allows was refused without "
            f"ABAC's reason {ABAC_NO_MATCH!r} (the review's reason: {reason!r})"
        )
    return None


def refutation(api: Any, mode: AuthorizationMode) -> str | None:
    """Ask `mode`'s question of the cluster `api` reaches (one SubjectAccessReview) -> why the answer
    refutes `authorization: <mode>`, or None. A review the cluster does not answer (refused, unreachable)
    refutes nothing: the plan's statement stands."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": _QUESTIONS[mode]}
    try:
        answer = kube.request(api, "POST", REVIEWS, body=body)
    except kube.ApiFailure:
        return None
    return contradiction(mode, (answer or {}).get("status") or {})
