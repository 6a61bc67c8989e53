"""Private images on shared nodes (pure): whether a product forces image pulls, what another tenant's pod
naming a tenant's private image does on a node that already holds it, and the requirement table of the
check.

The rule is kubectl-mtb's require-always-pull-image (MTB-PL1-CC-DI-1, "require imagePullPolicy Always";
Capsule's tenant_imagepullpolicy): once tenant A's private image is in a node's cache, the kubelet starts
any pod naming it with pull policy IfNotPresent or Never from that cache, without asking the registry
whether the pod's namespace may read it. Tenant B, without any pull secret, runs A's image unless the
product forces a pull with the pod's own credentials: the AlwaysPullImages admission plugin
(kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwayspullimages) rewrites every
container's imagePullPolicy to Always, so the kubelet asks the registry with the pod's pull secrets and
an anonymous pull of a private repository is refused (401 Unauthorized: ErrImagePull, then
ImagePullBackOff). The kubelet's own credential check for cached images (KubeletEnsureSecretPulledImages,
`imagePullCredentialsVerificationPolicy`) is alpha in Kubernetes v1.34 and not modelled here. A product may
also refuse such pods at admission (a ValidatingAdmissionPolicy or webhook requiring pull policy Always, as
Capsule and Kyverno's require-image-pull-policy-always do): the other tenant's pod is then refused too.

Where "this product forces pulls" comes from: the requirement itself is unconditional on a shared cluster
(a product that lets another tenant start a cached private image fails the check, whatever it promises);
the prediction of the verdict comes from the API server's admission plugins (`forces_pulls`), which the
suite knows for the embedded lab (the lab profile the cluster started with) and cannot read through the
API elsewhere (fixtures/run_facts.py records them). A dedicated cluster has one tenant: nothing to check.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provisioning.model import answers

FORCING_ADMISSION_PLUGIN = "AlwaysPullImages"

OWNER_RUNS = "runs its private image on the node"


def other_refused(pull_policy: str) -> str:
    """The requirement (column) of another tenant's pod asking for pull policy `pull_policy`."""
    return f"cannot start another tenant's private image from the node's cache ({pull_policy})"


# The kubelet's and containerd's words for a registry refusing the pull's credentials (distribution's
# 401 body: "authentication required"; containerd: "401 Unauthorized", "unauthorized").
_REFUSED_CREDENTIALS = re.compile(r"unauthorized|authentication required|\b401\b|access denied", re.IGNORECASE)


def forces_pulls(admission_plugins: Iterable[str]) -> bool:
    """Whether an API server with these enabled admission plugins forces every pod to pull its images
    with its own credentials (AlwaysPullImages among them)."""
    return FORCING_ADMISSION_PLUGIN in admission_plugins


class Start(enum.StrEnum):
    """How a pod's start ended: it ran, the registry refused its pull's credentials, or it failed for
    another reason (a pod that failed otherwise proves nothing about credentials)."""

    RAN = "ran"
    PULL_REFUSED = "pull refused: unauthorized"
    ADMISSION_REFUSED = "refused at admission by a policy"
    FAILED = "failed otherwise"


def start_of(failure: str) -> Start:
    """The Start of a pod from its failure message ("" when it ran): PULL_REFUSED when the message is a
    pull failure naming refused credentials (ErrImagePull or ImagePullBackOff with unauthorized/401),
    else FAILED."""
    if not failure:
        return Start.RAN
    pull = "ErrImagePull" in failure or "ImagePullBackOff" in failure or "failed to pull" in failure.lower()
    return Start.PULL_REFUSED if pull and _REFUSED_CREDENTIALS.search(failure) else Start.FAILED


_POLICY_LAYERS = frozenset({answers.Layer.ADMISSION_POLICY, answers.Layer.WEBHOOK, answers.Layer.ADMISSION})


def start_of_refusal(status: int, message: str, reason: str = "") -> Start:
    """The Start of a pod the API server did not create (`status`, `message`: its answer, the message or
    the raw Status body; `reason`: the HTTP reason), read by the one rule of an answer about the request
    as a whole (`answers.decide`, which `checks.answered` maps to cells): ADMISSION_REFUSED when it is
    REFUSED by an admission policy, webhook or unnamed admission plugin (a product refusing pulls from
    the cache at admission; a ValidatingAdmissionPolicy whose reason is Invalid answers 422 and is still
    the policy's refusal: the classifier reads its message, `answers.classify`), FAILED otherwise
    (PodSecurity, quota, authorization, an invalid pod or an error prove nothing about the cache)."""
    answer = answers.classify(status, message, reason)
    refused = answers.decide(answer) is answers.Decision.REFUSED and answer.layer in _POLICY_LAYERS
    return Start.ADMISSION_REFUSED if refused else Start.FAILED


def expected_other_tenant(forced: bool) -> Start:
    """What another tenant's pod without credentials does with a private image cached on its node: refused
    when the product forces pulls, run from the cache otherwise (the check then fails)."""
    return Start.PULL_REFUSED if forced else Start.RAN


@dataclass(frozen=True)
class Observation:
    """One pod start: its Start and the evidence (the pod, its node, the kubelet's reason)."""

    start: Start
    evidence: str


Requirement = tuple[bool | None, str]  # holds (True), contradicted (False) or unobserved (None); evidence


def requirements(owner: Observation, others: Mapping[str, Observation]) -> dict[str, Requirement]:
    """The check's cells: the owner's pod ran (OWNER_RUNS, the positive control) and each of the other
    tenant's pods, by the pull policy it asked for (IfNotPresent, Never), was refused its pull or refused
    at admission (`other_refused(policy)`). The owner's pod not running is unobserved (None, whatever
    stopped it: a pull error of the owner is the suite's or the registry's problem, never a verdict on the
    product), and so is another tenant's pod that failed otherwise: it says nothing about the cache."""

    def cell(observation: Observation, wanted: frozenset[Start], contradicted_by: frozenset[Start]) -> Requirement:
        if observation.start in wanted:
            return True, observation.evidence
        if observation.start in contradicted_by:
            return False, observation.evidence
        return None, observation.evidence

    cells = {OWNER_RUNS: cell(owner, frozenset({Start.RAN}), frozenset())}
    refused = frozenset({Start.PULL_REFUSED, Start.ADMISSION_REFUSED})
    for policy, observation in others.items():
        cells[other_refused(policy)] = cell(observation, refused, frozenset({Start.RAN}))
    return cells
