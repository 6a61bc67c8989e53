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

Any other answer, a review the credentials may not create, a body that is no review answer, or an answer whose
`status.evaluationError` says an authorizer failed (e.g. an unreachable webhook: its `allowed: false` decides
nothing, `provisioning.model.access_reviews`) cannot refute the statement, which stands.
`caas run` asks before pytest starts (`refuted_plans`, nothing provisioned yet), the backend again at provision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from provisioning.kube import client as kube
from provisioning.model.access_reviews import evaluation_error, not_an_answer
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
    `authorization: <mode>`, or None when it does not (pure; the rules are the module's): never when the
    status holds an evaluationError (nothing was decided)."""
    if evaluation_error(status):
        return None
    reason = str(status.get("reason") or "")
    given = f'"{reason}"' if reason else "none"
    if status.get("allowed"):
        return None
    if mode is AuthorizationMode.RBAC and ABAC_NO_MATCH in reason:
        return (
            "ABAC answers and RBAC grants nothing: asked whether a user in group system:authenticated may create "
            "selfsubjectreviews, which RBAC's default binding system:basic-user allows, the API server refused "
            f"with ABAC's reason {given}"
        )
    if mode is AuthorizationMode.ABAC and ABAC_NO_MATCH not in reason:
        return (
            "no ABAC authorizer answers: asked whether a user in no group may get an object of a resource no "
            f'cluster serves, the API server refused without ABAC\'s reason "{ABAC_NO_MATCH}." (its reason: {given})'
        )
    return None


def refusal(plan: str, mode: AuthorizationMode, context: str | None, why: str) -> str:
    """The one-line message of a plan whose `authorization: <mode>` the cluster of kubeconfig `context`
    refuted for the reason `why` (`contradiction`'s), ending in its fix."""
    other = AuthorizationMode.ABAC if mode is AuthorizationMode.RBAC else AuthorizationMode.RBAC
    return (
        f'plan "{plan}" says authorization: {mode.value}, but on the cluster of context {context or "(current)"} '
        f"{why} (fix: set authorization: {other.value} if the cluster authorizes by {other.name}, or point the "
        f"kubeconfig at a cluster that authorizes by {mode.name})"
    )


def refuted_plans(
    spec: Any, source: str, base_dir: Path, products: tuple[str, ...], timeout: float = kube.DEFAULT_TIMEOUT
) -> list[ConfigError]:
    """`caas run`'s pre-flight, before anything is provisioned: one SubjectAccessReview (`refutation`) per
    distinct kubeconfig context and stated `authorization` the selected kubeconfig products' tenants use (the
    product's context, or a dedicated tenant's) -> one ConfigError per refuted plan,
    `products[i].plans[j].authorization: <refusal>`. `spec` is the TargetsSpec, `source` its file's label,
    `base_dir` what relative kubeconfig paths start from, `timeout` each request's seconds. A review that
    fails (refused, unreachable) refutes nothing: provisioning reports an unreachable cluster. Raises
    ConfigError naming products[i].kubeconfig.path when the kubeconfig cannot be loaded."""
    problems: list[ConfigError] = []
    asked: set[tuple[Path, str | None, AuthorizationMode]] = set()
    by_name = {p.name: p for p in spec.products}
    for tenancy in spec.tenancy:
        product = by_name.get(tenancy.product)
        if product is None or product.name not in products or product.kubeconfig is None:
            continue
        i, section = spec.products.index(product), product.kubeconfig
        path = (base_dir / Path(section.path).expanduser()).resolve()
        plans = {plan.name: j for j, plan in enumerate(product.plans)}
        for tenant in tenancy.tenants:
            context = section.tenant_contexts.get(tenant.name) if tenant.placement == "dedicated" else section.context
            j = plans[tenant.plan]
            mode = AuthorizationMode(product.plans[j].authorization)
            if (path, context, mode) in asked:
                continue
            asked.add((path, context, mode))
            try:
                api = kube.from_kubeconfig(path, context, timeout=timeout)
            except Exception as exc:  # the loader raises ConfigException, KeyError, ...
                raise ConfigError(source, f"products[{i}].kubeconfig.path", f"cannot use {path}: {exc}") from None
            try:
                why = refutation(api, mode)
            finally:
                api.close()
            if why is not None:
                where = f"products[{i}].plans[{j}].authorization"
                problems.append(ConfigError(source, where, refusal(tenant.plan, mode, context, why)))
    return problems


def refutation(api: Any, mode: AuthorizationMode) -> str | None:
    """Ask `mode`'s question of the cluster `api` reaches (one SubjectAccessReview) -> why the answer
    refutes `authorization: <mode>`, or None. A review the cluster does not answer (refused, unreachable, a
    body that is no review answer: `access_reviews.not_an_answer`) refutes nothing: the plan's statement stands."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": _QUESTIONS[mode]}
    try:
        answer = kube.request(api, "POST", REVIEWS, body=body)
    except kube.ApiFailure:
        return None
    if not_an_answer(answer) is not None:
        return None
    return contradiction(mode, answer["status"])
