"""What an API server's answer to a request says, and who decided it (pure): the one classifier of
API answers every check reads.

`classify(status, message, reason)` turns an HTTP status and the API server's message (or the raw
body, a `Status` object in JSON) into an `Answer`:

- GRANTED: every layer that could refuse let the request through (2xx, 101 Switching Protocols: a stream
  the API server upgraded after authorizing it, or an answer about the object itself after authorization
  and admission: 404 Not Found, 409 Conflict, 410 Gone, 412);
- DENIED: a layer refused it; `layer` names which: the authorizer (`User "u" cannot <verb> ...`),
  RBAC's escalation check, or an admission plugin by name (PodSecurity, ResourceQuota, LimitRanger,
  NamespaceLifecycle, a ValidatingAdmissionPolicy, an admission webhook, any other admission plugin:
  `<kind> "<name>" is forbidden: <why>`); a 403 in none of these wordings (a proxy's plain "Forbidden",
  ...) is refused by an UNKNOWN layer: nothing says whether it came before or after the authorizer;
- INVALID: the request was authorized and admitted but its object or its form is not valid (400, 406,
  413, 415, 422 and any other 4xx that names no refusal);
- ERROR: nothing was decided about the request: a transport error or timeout (status 0), 401 (the
  credentials did not work), 405, 429, 5xx and any other status. An ERROR is never a denial.

The wording is the API server's (Kubernetes v1.34): the authorizer's refusal is
`k8s.io/apiserver/pkg/endpoints/handlers/responsewriters.forbiddenMessage` (`User "u" cannot ...`);
the admission refusals are `admission.NewForbidden` (`<kind> "<name>" is forbidden: <why>`) with the
plugin's reason: `violates PodSecurity "<level>:<version>"` (pod-security-admission),
`exceeded quota: <quota>, requested: <r>=<q>, used: ..., limited: ...` and `failed quota: <quota>:
must specify <resources>` (plugin/resourcequota), `maximum <resource> usage per <kind> is ...` /
`minimum ...` / `... max limit to request ratio per ...` (plugin/limitranger), `unable to create new
content in namespace <ns> because it is being terminated` (plugin/namespace/lifecycle),
`ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: ...` (403 by default,
422 when the policy's reason is Invalid) and `admission webhook "<name>" denied the request: ...`;
RBAC's escalation check (registry/rbac) answers `... is attempting to grant RBAC permissions not
currently held`.

What an answer says about the fence a probe asks about is `decide(answer, fence)` (a `Decision`: the fence
let the request through, refused it, or nothing was decided): the one rule every observed cell is made
with (`checks.answered` names its decisions as cells).

Node refusals are not API answers but pod status or event reasons: `node_refusal(reason)` names the
kubelet or the container runtime.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """What the answer says about the request."""

    GRANTED = "granted"
    DENIED = "denied"
    INVALID = "invalid"
    ERROR = "error"


class Layer(enum.StrEnum):
    """Who decided. The admission, validation and node values are those of
    `provisioning.model.privileges.Layer` (the plan x case table shows them)."""

    AUTHENTICATION = "authentication"  # a 401: nothing was asked of the authorizer
    AUTHORIZER = "authorizer"  # RBAC, ABAC, Node or a webhook authorizer: `User "u" cannot ...`
    RBAC_ESCALATION = "RBAC escalation check"
    POD_SECURITY = "PodSecurity admission"
    QUOTA = "ResourceQuota admission"
    LIMIT_RANGER = "LimitRanger admission"
    NAMESPACE_LIFECYCLE = "NamespaceLifecycle admission"
    ADMISSION_POLICY = "ValidatingAdmissionPolicy"
    WEBHOOK = "admission webhook"
    ADMISSION = "admission"  # an admission plugin the message does not name (`<kind> "<name>" is forbidden: ...`)
    UNKNOWN = "unknown layer"  # a 403 in no wording of the API server's: a proxy in front of it, ...
    API_VALIDATION = "API validation"
    KUBELET = "kubelet"
    RUNTIME = "container runtime"
    NONE = "-"  # nobody refused (granted) or nobody answered (error)


ADMISSION_LAYERS = frozenset(
    {
        Layer.POD_SECURITY,
        Layer.QUOTA,
        Layer.LIMIT_RANGER,
        Layer.NAMESPACE_LIFECYCLE,
        Layer.ADMISSION_POLICY,
        Layer.WEBHOOK,
        Layer.ADMISSION,
    }
)
AUTHORIZATION_LAYERS = frozenset({Layer.AUTHORIZER, Layer.RBAC_ESCALATION})


@dataclass(frozen=True)
class Answer:
    """One API answer, classified.

    `status`: the HTTP status (0 for a transport error or timeout); `message`: the API server's
    message (a Status object's `message`, in full); `policy`: the name of the ValidatingAdmissionPolicy
    or webhook that refused, else ""; `exceeded`: for a ResourceQuota refusal, the resources it names
    (e.g. {"requests.storage"}), else empty."""

    kind: Kind
    layer: Layer
    status: int
    message: str
    policy: str = ""
    exceeded: frozenset[str] = frozenset()

    @property
    def authorized(self) -> bool | None:
        """Whether the authorizer let the request through: False when the authorizer or RBAC's
        escalation check refused, None when nothing was decided (ERROR) or the refusing layer is unknown
        (Layer.UNKNOWN: it may have been before the authorizer), True otherwise (granted,
        invalid, or refused by a layer after authorization)."""
        if self.kind is Kind.ERROR or self.layer is Layer.UNKNOWN:
            return None
        return self.layer not in AUTHORIZATION_LAYERS

    @property
    def accepted(self) -> bool:
        """Whether the API server did what was asked: a 2xx, or 101 Switching Protocols (a stream opened)."""
        return self.kind is Kind.GRANTED and (200 <= self.status < 300 or self.status == 101)

    @property
    def created(self) -> bool:
        """Whether the API server created what was posted (201 Created): e.g. an access review, whose
        answer is the created object."""
        return self.kind is Kind.GRANTED and self.status == 201

    @property
    def absent(self) -> bool:
        """Whether the answer is that the object does not exist (404 Not Found): the authorizer let the
        request through (an unauthorized one is 403 whether the object exists or not) and admission never
        saw it."""
        return self.kind is Kind.GRANTED and self.status == 404

    @property
    def unauthenticated(self) -> bool:
        """Whether the authenticator refused the request's credentials, or a request without any (401):
        nothing was asked of the authorizer."""
        return self.layer is Layer.AUTHENTICATION

    def __str__(self) -> str:
        decided = "" if self.layer is Layer.NONE else f" by {self.layer.value}"
        return f"{self.kind.value}{decided} ({self.status}: {self.message})"


_ERROR_STATUSES = frozenset({0, 401, 405, 429})
_GRANTED_STATUSES = frozenset({404, 409, 410, 412})
_POLICY = re.compile(r"ValidatingAdmissionPolicy(?: '([^']*)')?")
_WEBHOOK = re.compile(r'admission webhook "([^"]*)" denied the request')
_FORBIDDEN = re.compile(r'^\S+ "[^"]*" is forbidden: ')  # admission.NewForbidden
# apimachinery errors.NewForbidden with a resource, the object's name or none (a collection): admission.NewForbidden
_API_FORBIDDEN = re.compile(r'^\S+ (?:"[^"]*" )?is forbidden: ')
_LIMIT_RANGER = re.compile(r"(?:maximum|minimum) \S+ usage per \S+ is |max limit to request ratio per ")


def _status_object(text: str) -> tuple[str, str]:
    """(message, reason) of a Status object in JSON; (text, "") when `text` is not one."""
    try:
        parsed = json.loads(text)
    except (ValueError, TypeError):
        return text, ""
    if not isinstance(parsed, dict) or "message" not in parsed:
        return text, ""
    return str(parsed["message"]), str(parsed.get("reason") or "")


def exceeded_resources(message: str) -> frozenset[str]:
    """The resources a ResourceQuota refusal names: `requested` of `exceeded quota: q, requested:
    requests.storage=3Gi, used: ..., limited: ...`, or the resources of `failed quota: q: must
    specify limits.cpu,limits.memory`; empty for any other message."""
    _, exceeded, rest = message.partition("exceeded quota: ")
    if exceeded and "requested: " in rest:
        requested = rest.partition("requested: ")[2].partition(", used: ")[0]
        return frozenset(item.partition("=")[0].strip() for item in requested.split(",") if "=" in item)
    _, failed, rest = message.partition("failed quota: ")
    if failed and ": must specify " in rest:
        return frozenset(r.strip() for r in rest.partition(": must specify ")[2].split(",") if r.strip())
    return frozenset()


def _refusal(status: int, message: str) -> tuple[Layer, str] | None:
    """The layer (and policy name) a refusal's message names, or None when it names none."""
    if " is attempting to grant RBAC permissions not currently held" in message:
        return Layer.RBAC_ESCALATION, ""
    if "violates PodSecurity" in message:
        return Layer.POD_SECURITY, ""
    policy = _POLICY.search(message)
    if policy:
        return Layer.ADMISSION_POLICY, policy.group(1) or ""
    webhook = _WEBHOOK.search(message)
    if webhook:
        return Layer.WEBHOOK, webhook.group(1)
    if exceeded_resources(message):
        return Layer.QUOTA, ""
    if _LIMIT_RANGER.search(message):
        return Layer.LIMIT_RANGER, ""
    if "because it is being terminated" in message:
        return Layer.NAMESPACE_LIFECYCLE, ""
    if status == 403 and " cannot " in message:
        return Layer.AUTHORIZER, ""
    return None


def classify(status: int, message: str, reason: str = "") -> Answer:
    """The answer an API request got (see the module docstring). `message` is the API server's message
    or the raw response body (a Status object in JSON, whose message and reason are read); `reason` is
    the HTTP reason or the Status reason (Forbidden, Invalid, ...), used only when there is no message."""
    message, status_reason = _status_object(message)
    message = message or status_reason or reason
    if 200 <= status < 300 or status == 101:
        return Answer(Kind.GRANTED, Layer.NONE, status, message)
    if status in _ERROR_STATUSES or status >= 500 or status < 400:
        layer = Layer.AUTHENTICATION if status == 401 else Layer.NONE
        return Answer(Kind.ERROR, layer, status, message)
    refusal = _refusal(status, message) if status in (403, 422) else None
    if refusal:
        layer, policy = refusal
        exceeded = exceeded_resources(message) if layer is Layer.QUOTA else frozenset[str]()
        return Answer(Kind.DENIED, layer, status, message, policy, exceeded)
    if status == 403 and _API_FORBIDDEN.match(message):  # admission.NewForbidden of a plugin the message does not name
        return Answer(Kind.DENIED, Layer.ADMISSION, status, message)
    if status == 403:  # no wording of the API server's (e.g. a proxy's plain "Forbidden"): nobody known refused
        return Answer(Kind.DENIED, Layer.UNKNOWN, status, message)
    if status in _GRANTED_STATUSES:
        return Answer(Kind.GRANTED, Layer.NONE, status, message)
    return Answer(Kind.INVALID, Layer.API_VALIDATION, status, message)


class Decision(enum.StrEnum):
    """What an answer says about the fence a probe asks about."""

    PASSED = "passed"  # the fence let the request through
    REFUSED = "refused"  # a layer of the fence refused it
    UNDECIDED = "undecided"  # nothing was decided about the fence


Fence = frozenset[Layer] | None  # the layers a probe asks about; None: the request as a whole
AUTHENTICATION_FENCE: frozenset[Layer] = frozenset({Layer.AUTHENTICATION})
AUTHORIZATION_FENCE: frozenset[Layer] = AUTHORIZATION_LAYERS


def decide(answer: Answer, fence: Fence = None) -> Decision:
    """What `answer` says about `fence`, the layers a probe asks about (pure): the one rule.

    - a refusal by a layer of the fence is REFUSED: a DENIED answer (any layer when `fence` is None), or a
      401 when the fence holds the authenticator (credentials refused, or a request without any);
    - an ERROR answer (transport, 401 otherwise, 405, 429, 5xx) is UNDECIDED: nobody decided anything;
    - a refusal by an UNKNOWN layer (a 403 in no wording of the API server's) is UNDECIDED about a `fence`:
      nothing says whether the fence or a layer in front of it or after it refused (REFUSED when `fence`
      is None: the request was not done);
    - `fence` None (the request as a whole: was it done?): GRANTED is PASSED, INVALID is UNDECIDED (the
      object sent was not valid, so the request was neither done nor refused by any fence: validation
      runs before validating admission, apiserver's handlers/create.go);
    - `fence` a set of layers at the front of the API server's chain (authentication, then authorization,
      then admission: https://kubernetes.io/docs/concepts/security/controlling-access/): any other answer
      (GRANTED, INVALID, or a refusal by a layer outside the fence) came from a later stage, so the fence
      let the request through: PASSED. E.g. AUTHORIZATION_FENCE (an access matrix asks the authorizer):
      a PodSecurity refusal or a 422 is PASSED; AUTHENTICATION_FENCE (do the credentials work?): a 403 of
      the authorizer is PASSED. A fence's layers must be those a probe's request meets before the ones
      it leaves out (the callers' fences: authentication, authorization, and admission layers with them)."""
    refusal = answer.kind is Kind.DENIED or answer.unauthenticated
    if refusal and (answer.layer in fence if fence is not None else answer.kind is Kind.DENIED):
        return Decision.REFUSED
    if answer.kind is Kind.ERROR or answer.layer is Layer.UNKNOWN:
        return Decision.UNDECIDED
    if fence is None and answer.kind is Kind.INVALID:
        return Decision.UNDECIDED
    return Decision.PASSED


_INVALID = re.compile(r'^\S+ "[^"]*" is invalid: ')
_WOULD_VIOLATE = 'would violate PodSecurity "'


def classify_recorded(message: str) -> Answer:
    """The answer behind a refusal a controller recorded without its status: a ReplicaSet's
    ReplicaFailure/FailedCreate condition or a FailedCreate event holds the API server's error message
    (`<kind> "<name>" is forbidden: ...`: pkg/controller/replicaset/replica_set_utils.go calculateStatus keeps
    the create's `err.Error()`).
    A message that names a refusal is that refusal, DENIED as the 403 it was (the layer as `classify`
    reads it, an admission plugin's `<kind> "<name>" is forbidden: ...` that names none is `admission`);
    the API server's `<kind> "<name>" is invalid: ...` is INVALID (422); anything else
    (empty, or no API answer: a timeout, a transport error) is ERROR with status 0: nothing is known of it."""
    if _refusal(403, message) or _FORBIDDEN.match(message):
        return classify(403, message)
    if _INVALID.match(message):
        return classify(422, message)
    return Answer(Kind.ERROR, Layer.NONE, 0, message)


def warned_by(warning: str) -> Layer | None:
    """The admission layer behind a `Warning` header the API server sent with an accepted request:
    PodSecurity's warn mode (`would violate PodSecurity "<level>:<version>": ...`, pod-security-admission,
    also on a workload whose pod template would be refused) or a ValidatingAdmissionPolicy bound with
    the Warn action (`Validation failed for ValidatingAdmissionPolicy '<policy>' ...`); None for any
    other warning."""
    if _WOULD_VIOLATE in warning:
        return Layer.POD_SECURITY
    if _POLICY.search(warning):
        return Layer.ADMISSION_POLICY
    return None


# CreateContainerConfigError is the kubelet's own (kuberuntime: e.g. runAsNonRoot with user 0), before the runtime
_KUBELET_REASONS = (
    "SysctlForbidden",
    "UnexpectedAdmissionError",
    "OutOfcpu",
    "OutOfmemory",
    "NodeAffinity",
    "CreateContainerConfigError",
)
_RUNTIME_REASONS = ("FailedCreatePodSandBox", "CreateContainerError", "RunContainerError")


def node_refusal(reason: str) -> Layer | None:
    """The node layer behind a pod status or event reason (the kubelet: SysctlForbidden, OutOf<resource>,
    CreateContainerConfigError, ...; the container runtime: FailedCreatePodSandBox, CreateContainerError,
    ...), or None if the reason is no refusal."""
    if reason in _KUBELET_REASONS:
        return Layer.KUBELET
    if reason in _RUNTIME_REASONS:
        return Layer.RUNTIME
    return None
