"""The one classifier of API answers (provisioning/model/answers.py), on the API server's own words
(Kubernetes v1.34 messages as the lab's API server sends them): an error is never a denial, and a
refusal names the layer that made it (no cluster)."""

from __future__ import annotations

import json

import pytest

from provisioning.model.answers import (
    ADMISSION_LAYERS,
    AUTHENTICATION_FENCE,
    AUTHORIZATION_FENCE,
    Answer,
    Decision,
    Kind,
    Layer,
    classify,
    classify_recorded,
    decide,
    exceeded_resources,
    node_refusal,
    warned_by,
)

AUTHORIZER = (
    'pods is forbidden: User "blue-viewer" cannot create resource "pods" in API group "" in the namespace '
    '"tenant-green"'
)
ABAC = 'pods is forbidden: User "blue-viewer" cannot list resource "pods" in API group "" at the cluster scope'
NON_RESOURCE = 'forbidden: User "system:anonymous" cannot get path "/metrics"'
ESCALATION = (
    'rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "blue-admin" (groups=["blue:admins" '
    '"system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
    '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}'
)
POD_SECURITY = (
    'pods "x" is forbidden: violates PodSecurity "baseline:v1.34": host namespaces (hostNetwork=true), '
    'hostPort (container "probe" uses hostPort 18080)'
)
QUOTA = (
    'persistentvolumeclaims "sto-quota-1" is forbidden: exceeded quota: tenant-quota, requested: '
    "requests.storage=3Gi, used: requests.storage=1Mi, limited: requests.storage=2Gi"
)
QUOTA_BOTH = (
    'persistentvolumeclaims "c" is forbidden: exceeded quota: tenant-quota, requested: '
    "persistentvolumeclaims=1,requests.storage=1Mi, used: persistentvolumeclaims=2,requests.storage=2Mi, "
    "limited: persistentvolumeclaims=2,requests.storage=2Gi"
)
QUOTA_UNSPECIFIED = 'pods "x" is forbidden: failed quota: tenant-quota: must specify limits.cpu,limits.memory'
LIMIT_RANGE = 'pods "x" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
LIMIT_RANGE_PVC = (
    'persistentvolumeclaims "c" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request '
    "is 3Gi"
)
POLICY = (
    'rolebindings.rbac.authorization.k8s.io "tenant-admins" is forbidden: ValidatingAdmissionPolicy '
    "'caas-protect-onboarding-run-1' with binding 'caas-protect-onboarding-run-1' denied request: the "
    "provider's onboarding made this object"
)
POLICY_INVALID = (
    "pods \"x\" is invalid: : ValidatingAdmissionPolicy 'no-host' with binding 'no-host' denied request: no host paths"
)
WEBHOOK = 'admission webhook "validate.gatekeeper.sh" denied the request: [no-privileged] privileged container'
TERMINATING = 'pods "x" is forbidden: unable to create new content in namespace t because it is being terminated'
INVALID = 'Pod "x" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster policy'


@pytest.mark.parametrize(
    ("status", "message", "kind", "layer"),
    [
        (200, "", Kind.GRANTED, Layer.NONE),
        (201, "", Kind.GRANTED, Layer.NONE),
        (403, AUTHORIZER, Kind.DENIED, Layer.AUTHORIZER),
        (403, ABAC, Kind.DENIED, Layer.AUTHORIZER),
        (403, NON_RESOURCE, Kind.DENIED, Layer.AUTHORIZER),
        (403, ESCALATION, Kind.DENIED, Layer.RBAC_ESCALATION),
        (403, POD_SECURITY, Kind.DENIED, Layer.POD_SECURITY),
        (403, QUOTA, Kind.DENIED, Layer.QUOTA),
        (403, QUOTA_UNSPECIFIED, Kind.DENIED, Layer.QUOTA),
        (403, LIMIT_RANGE, Kind.DENIED, Layer.LIMIT_RANGER),
        (403, LIMIT_RANGE_PVC, Kind.DENIED, Layer.LIMIT_RANGER),
        (403, POLICY, Kind.DENIED, Layer.ADMISSION_POLICY),
        (422, POLICY_INVALID, Kind.DENIED, Layer.ADMISSION_POLICY),
        (403, WEBHOOK, Kind.DENIED, Layer.WEBHOOK),
        (403, TERMINATING, Kind.DENIED, Layer.NAMESPACE_LIFECYCLE),
        (403, 'services "s" is forbidden: something else refused it', Kind.DENIED, Layer.ADMISSION),
        (422, INVALID, Kind.INVALID, Layer.API_VALIDATION),
        (400, "the body of the request was in an unknown format", Kind.INVALID, Layer.API_VALIDATION),
        (404, 'pods "caas-absent-object" not found', Kind.GRANTED, Layer.NONE),  # authorized, then not found
        (409, 'pods "x" already exists', Kind.GRANTED, Layer.NONE),
        (401, "Unauthorized", Kind.ERROR, Layer.AUTHENTICATION),
        (405, "the server does not allow this method on the requested resource", Kind.ERROR, Layer.NONE),
        (429, "too many requests", Kind.ERROR, Layer.NONE),
        (500, "etcdserver: request timed out", Kind.ERROR, Layer.NONE),
        (503, "", Kind.ERROR, Layer.NONE),
        (0, "ConnectTimeoutError", Kind.ERROR, Layer.NONE),  # transport error or timeout
        # a message that reads like a refusal decides nothing when the status says the request failed
        (500, AUTHORIZER, Kind.ERROR, Layer.NONE),
        (0, QUOTA, Kind.ERROR, Layer.NONE),
    ],
)
def test_an_answer_is_classified_by_its_status_and_the_api_servers_words(
    status: int, message: str, kind: Kind, layer: Layer
) -> None:
    answer = classify(status, message)
    assert (answer.kind, answer.layer) == (kind, layer)
    assert answer.status == status


def test_an_error_is_never_a_denial_and_says_nothing_about_authorization() -> None:
    for status in (0, 401, 405, 429, 500, 502, 503, 504):
        answer = classify(status, AUTHORIZER)
        assert answer.kind is Kind.ERROR
        assert answer.authorized is None


def test_authorized_is_false_only_for_the_authorizer_and_rbac_escalation() -> None:
    assert classify(403, AUTHORIZER).authorized is False
    assert classify(403, ESCALATION).authorized is False
    for message in (POD_SECURITY, QUOTA, LIMIT_RANGE, POLICY, WEBHOOK, TERMINATING):
        assert classify(403, message).authorized is True, message
    assert classify(422, INVALID).authorized is True
    assert classify(404, "not found").authorized is True


def test_a_raw_status_body_is_read_for_its_full_message_and_reason() -> None:
    long_reason = "x" * 400
    body = json.dumps(
        {"kind": "Status", "status": "Failure", "message": f"{QUOTA} {long_reason}", "reason": "Forbidden"}
    )
    answer = classify(403, body)
    assert answer.layer is Layer.QUOTA
    assert answer.message.endswith(long_reason)  # never cut
    assert classify(403, json.dumps({"kind": "Status", "message": "", "reason": "Forbidden"})).message == "Forbidden"
    assert classify(503, "", "Service Unavailable").message == "Service Unavailable"
    assert classify(403, "not json {").message == "not json {"


def test_a_policy_or_webhook_refusal_names_the_policy() -> None:
    assert classify(403, POLICY).policy == "caas-protect-onboarding-run-1"
    assert classify(422, POLICY_INVALID).policy == "no-host"
    assert classify(403, WEBHOOK).policy == "validate.gatekeeper.sh"
    assert classify(403, "x is forbidden: ValidatingAdmissionPolicy denied request").layer is Layer.ADMISSION_POLICY
    assert classify(403, AUTHORIZER).policy == ""


@pytest.mark.parametrize(
    ("message", "resources"),
    [
        (QUOTA, {"requests.storage"}),
        (QUOTA_BOTH, {"persistentvolumeclaims", "requests.storage"}),
        (QUOTA_UNSPECIFIED, {"limits.cpu", "limits.memory"}),
        ("exceeded quota: q", set()),  # no requested resources: names none
        (AUTHORIZER, set()),
        ("", set()),
    ],
)
def test_a_quota_refusal_names_the_resources_it_exceeded(message: str, resources: set[str]) -> None:
    assert exceeded_resources(message) == resources
    answer = classify(403, message)
    assert answer.exceeded == resources
    assert (answer.layer is Layer.QUOTA) == bool(resources)


def test_an_answer_reads_as_one_line() -> None:
    assert str(classify(403, AUTHORIZER)) == f"denied by authorizer (403: {AUTHORIZER})"
    assert str(classify(0, "timed out")) == "error (0: timed out)"
    assert isinstance(classify(201, ""), Answer)


def test_node_refusals_name_the_kubelet_or_the_runtime() -> None:
    assert node_refusal("SysctlForbidden") is Layer.KUBELET
    assert node_refusal("FailedCreatePodSandBox") is Layer.RUNTIME
    assert node_refusal("ContainerCreating") is None


@pytest.mark.parametrize(
    ("message", "kind", "layer"),
    [
        (
            'pods "forbidden-1-x" is forbidden: violates PodSecurity "restricted:latest": privileged',
            Kind.DENIED,
            Layer.POD_SECURITY,
        ),
        (
            'pods "f-1" is forbidden: exceeded quota: tenant-quota, requested: pods=1, used: pods=5, limited: pods=5',
            Kind.DENIED,
            Layer.QUOTA,
        ),
        ('pods "f-1" is forbidden: no pods allowed here', Kind.DENIED, Layer.ADMISSION),
        ('pods is forbidden: User "system:serviceaccount:kube-system:rs" cannot create', Kind.DENIED, Layer.AUTHORIZER),
        ('Pod "f-1" is invalid: spec.containers[0].image: Required value', Kind.INVALID, Layer.API_VALIDATION),
        ("Timeout: request did not complete within requested timeout", Kind.ERROR, Layer.NONE),
        ("", Kind.ERROR, Layer.NONE),
    ],
)
def test_a_refusal_a_controller_recorded_is_read_by_the_same_words(message: str, kind: Kind, layer: Layer) -> None:
    answer = classify_recorded(message)
    assert (answer.kind, answer.layer) == (kind, layer)
    if kind is Kind.DENIED:
        assert answer == classify(403, message), "the same reading as the API server's own answer"


def test_a_warning_names_the_admission_layer_that_warned() -> None:
    assert warned_by('would violate PodSecurity "restricted:latest": privileged (container "c")') is Layer.POD_SECURITY
    policy = "Validation failed for ValidatingAdmissionPolicy 'service-types' with binding 'b': type NodePort"
    assert warned_by(policy) is Layer.ADMISSION_POLICY
    assert warned_by("spec.template.spec.containers[0].image: is deprecated") is None


@pytest.mark.parametrize(
    ("status", "message", "absent", "unauthenticated"),
    [
        (404, 'pods "x" not found', True, False),  # authorized, then looked up: the object does not exist
        (410, "too old resource version", False, False),
        (200, "", False, False),
        (403, 'User "u" cannot get resource "pods"', False, False),
        (401, "Unauthorized", False, True),  # the credentials, or none, were refused
        (0, "connection refused", False, False),
    ],
)
def test_an_answer_says_whether_the_object_is_absent_or_the_credentials_refused(
    status: int, message: str, absent: bool, unauthenticated: bool
) -> None:
    answer = classify(status, message)
    assert answer.absent is absent
    assert answer.unauthenticated is unauthenticated


PROXY_FORBIDDEN = "Forbidden"  # e.g. an authenticating proxy in front of the API server: no wording of the API server's


@pytest.mark.parametrize(
    "message",
    [
        AUTHORIZER,
        ABAC,
        ABAC + ": No policy matched.",
        NON_RESOURCE,
        ESCALATION,
        POD_SECURITY,
        QUOTA,
        QUOTA_UNSPECIFIED,
        LIMIT_RANGE,
        LIMIT_RANGE_PVC,
        POLICY,
        WEBHOOK,
        TERMINATING,
        'services "s" is forbidden: something else refused it',  # admission.NewForbidden, no plugin named
        "pods is forbidden: no deletecollection here",  # admission.NewForbidden of a collection (no name)
    ],
)
def test_every_refusal_in_the_api_servers_words_names_a_known_layer(message: str) -> None:
    answer = classify(403, json.dumps({"kind": "Status", "message": message, "reason": "Forbidden"}))
    assert answer.kind is Kind.DENIED
    assert answer.layer is not Layer.UNKNOWN


@pytest.mark.parametrize("message", [PROXY_FORBIDDEN, "", "access denied by the gateway"])
def test_a_403_in_no_wording_of_the_api_servers_is_refused_by_an_unknown_layer(message: str) -> None:
    answer = classify(403, message, "Forbidden")
    assert (answer.kind, answer.layer) == (Kind.DENIED, Layer.UNKNOWN)
    assert answer.authorized is None  # it may have come before the authorizer


@pytest.mark.parametrize("fence", [AUTHORIZATION_FENCE, AUTHENTICATION_FENCE, AUTHORIZATION_FENCE | ADMISSION_LAYERS])
def test_a_refusal_by_an_unknown_layer_decides_nothing_about_a_fence(fence: frozenset[Layer]) -> None:
    assert decide(classify(403, PROXY_FORBIDDEN), fence) is Decision.UNDECIDED
    assert decide(classify(403, PROXY_FORBIDDEN)) is Decision.REFUSED  # the request as a whole was not done
    assert decide(classify(403, POD_SECURITY), AUTHORIZATION_FENCE) is Decision.PASSED  # a named later layer
    assert decide(classify(403, AUTHORIZER), AUTHORIZATION_FENCE) is Decision.REFUSED
