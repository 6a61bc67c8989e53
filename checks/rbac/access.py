"""Observe what identities may do, three ways, concurrently; never asserts.

1. the real request with the identity's own credentials (server-side dry-run for writes);
2. a SelfSubjectAccessReview sent with the identity's credentials;
3. a SubjectAccessReview sent by the cluster admin about the identity.

A 401, 429, 5xx, transport error or timeout is ERROR, never DENIED. A 403 is DENIED
only when the authorizer (or RBAC's escalation check) refused; a request the
authorizer let through and admission or validation then rejected was ALLOWED.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import more_itertools

from checks.answered import classified, observed
from checks.matrix import Cell, Matrix
from checks.rbac import rules
from checks.rbac.discovery import ApiResource, ApiSubresource
from provisioning.kube import client as kube
from provisioning.model import answers
from provisioning.model.access import ANONYMOUS, UNAUTHENTICATED
from provisioning.model.access_reviews import not_an_answer
from provisioning.model.onboarding import PROTECTION
from provisioning.model.rbac import AUTHENTICATED
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

ABSENT = "caas-absent-object"
NEVER = {"labelSelector": "caas-conformance.io/never=never"}
WAYS = ("request", "selfsubjectaccessreview", "subjectaccessreview")
SELF_WAY = WAYS[1]
T = TypeVar("T")
U = TypeVar("U")
# The provider's admission policy refused the request after the authorizer let it through: the object
# stays out of the tenant's reach, which access reviews (they ask only the authorizer) cannot see.
FENCED_BY_ADMISSION = "refused by the provider's admission policy: "
NOBODY = answers.Layer.NONE.value  # the deciding layer of a cell nobody refused
ANSWER_BYTES = 8192  # the most of a refused stream's or watch's answer read (a Status is a few hundred bytes)


class Said(tuple[Cell, str]):
    """One way's answer to a probe: (cell, evidence) like every observed cell, and what the classifier
    read that the matrices do not show: `fenced`, the provider's admission policy refused the real
    request (access reviews, which ask only the authorizer, cannot see it); `refused`, the API server
    refused the access review itself (the way cannot answer, e.g. ABAC grants no review); `layer`, who
    decided the cell (an `answers.Layer` value, "-" when nobody refused or it is unknown)."""

    fenced: bool
    refused: bool
    layer: str

    def __new__(
        cls, cell: Cell, evidence: str, *, fenced: bool = False, refused: bool = False, layer: str = "-"
    ) -> Said:
        said = super().__new__(cls, (cell, evidence))
        said.fenced = fenced
        said.refused = refused
        said.layer = layer
        return said


def layer_of(answer: tuple[Cell, str]) -> str:
    """Who decided a way's answer (`Said.layer`), "-" when it does not say."""
    return answer.layer if isinstance(answer, Said) else NOBODY


def _fenced(answer: tuple[Cell, str]) -> bool:
    return isinstance(answer, Said) and answer.fenced


def _refused(answer: tuple[Cell, str]) -> bool:
    return isinstance(answer, Said) and answer.refused


@dataclass(frozen=True)
class Probe:
    """One access question: the subject (row), what it asks (column), the review attributes and
    the real request that asks it."""

    user: str
    row: str
    column: str
    attributes: Mapping[str, str]  # resourceAttributes of an access review
    method: str
    path: str
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    upgrade: bool = False  # a stream's handshake (WebSocket or SPDY): the answer is the status line, 101 or not
    anonymous: bool = False  # sent without credentials: a 401 is the refusal asked for, not an error
    # `onboarding: existing`: the object is the provider's own, so any admission refusal (its own policy,
    # webhook, Kyverno or Gatekeeper, 403 or 422) is its fence, not only the suite's PROTECTION policy
    admission_fences: bool = False

    def reproduce(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.path}{'?' + query if query else ''} as {self.user}"


def _body(resource: ApiResource, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": name}}
    if resource.kind in ("RoleBinding", "ClusterRoleBinding"):  # a valid roleRef the tenant holds: no escalation
        body["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    if resource.kind in ("Role", "ClusterRole"):
        body["rules"] = []
    if resource.kind == "Binding":  # a pod's binding to a node: without a target the server answers 500
        body["target"] = {"apiVersion": "v1", "kind": "Node", "name": ABSENT}
    return body


def resource_probe(user: str, row: str, resource: ApiResource, verb: str, namespace: str) -> Probe:
    """The probe of `verb` on `resource` in `namespace` ("" for cluster scope), on an absent object."""
    collection = resource.collection(namespace)
    attributes = {"verb": verb, "group": resource.group, "resource": resource.name, "namespace": namespace}
    column = f"{namespace or '(cluster)'}: {verb} {resource.label}"
    dry = {"dryRun": "All"}
    named = dict(attributes, name=ABSENT)
    item = f"{collection}/{ABSENT}"
    if verb == "get":
        return Probe(user, row, column, named, "GET", item)
    if verb == "list":
        return Probe(user, row, column, attributes, "GET", collection, query={"limit": "1"})
    if verb == "watch":
        return Probe(user, row, column, attributes, "GET", collection, query={"watch": "true", "timeoutSeconds": "1"})
    if verb == "create":
        return Probe(user, row, column, attributes, "POST", collection, _body(resource, ABSENT), dry)
    if verb == "update":
        return Probe(user, row, column, named, "PUT", item, _body(resource, ABSENT), dry)
    if verb == "patch":
        return Probe(user, row, column, named, "PATCH", item, {}, dry, "application/merge-patch+json")
    if verb == "delete":
        return Probe(user, row, column, named, "DELETE", item, None, dry)
    if verb == "deletecollection":
        return Probe(user, row, column, attributes, "DELETE", collection, None, {**dry, **NEVER})
    raise ValueError(f"no probe for verb {verb}")


# The bodies a subresource's writes take (their kinds differ from the parent's).
_SUBRESOURCE_BODIES: dict[str, tuple[str, str]] = {
    "scale": ("autoscaling/v1", "Scale"),
    "eviction": ("policy/v1", "Eviction"),
    "token": ("authentication.k8s.io/v1", "TokenRequest"),
    "binding": ("v1", "Binding"),
}
STREAMING = ("exec", "attach", "portforward")  # connect subresources that upgrade to a stream
_CONNECT_QUERY = {
    "exec": {"command": "true", "stdout": "true"},
    "attach": {"stdout": "true"},
    "portforward": {"ports": "80"},
}


def _subresource_body(sub: ApiSubresource, name: str, namespace: str) -> dict[str, Any] | None:
    if sub.name in ("proxy", *STREAMING):
        return None
    api_version, kind = _SUBRESOURCE_BODIES.get(sub.name, (sub.parent.api_version, sub.parent.kind))
    meta = {"name": name, **({"namespace": namespace} if sub.parent.namespaced else {})}
    body: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if kind == "TokenRequest":
        body["spec"] = {"audiences": []}
    if kind == "Binding":
        body["target"] = {"apiVersion": "v1", "kind": "Node", "name": ABSENT}
    return body


def subresource_probe(user: str, row: str, sub: ApiSubresource, verb: str, namespace: str) -> Probe:
    """The probe of `verb` on subresource `sub` of an absent object in `namespace` ("" for cluster scope).
    A namespace's own subresources (status, finalize) are asked of the namespace `namespace` itself,
    which the API server attributes to that namespace (so RoleBindings there apply)."""
    if sub.parent.group == "" and sub.parent.name == "namespaces":
        name, path = namespace, f"/api/v1/namespaces/{namespace}/{sub.name}"
    else:
        name, path = ABSENT, f"{sub.parent.collection(namespace)}/{ABSENT}/{sub.name}"
    attributes = {
        "verb": verb,
        "group": sub.parent.group,
        "resource": sub.parent.name,
        "subresource": sub.name,
        "namespace": namespace,
        "name": name,
    }
    column = f"{namespace or '(cluster)'}: {verb} {sub.label}"
    dry = {} if sub.name in ("proxy", *STREAMING) else {"dryRun": "All"}
    query = {**_CONNECT_QUERY.get(sub.name, {}), **dry}
    body = _subresource_body(sub, name, namespace)
    methods = {"get": "GET", "create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE"}
    if verb not in methods:
        raise ValueError(f"no probe for verb {verb} on {sub.label}")
    method = methods[verb]
    if verb == "get":
        return Probe(user, row, column, attributes, method, path, query=_CONNECT_QUERY.get(sub.name, {}))
    if verb == "patch":
        patch: dict[str, Any] | None = None if sub.name == "proxy" else {}
        return Probe(user, row, column, attributes, method, path, patch, query, "application/merge-patch+json")
    return Probe(user, row, column, attributes, method, path, body if verb != "delete" else None, query)


def classify_failure(failure: kube.ApiFailure, admission_fences: bool = False, anonymous: bool = False) -> Said:
    """What an API error says about authorization: the one mapping of an answer to a cell
    (`checks.answered.observed`) with the authorizer as the fence probed (`answers.AUTHORIZATION_FENCE`):
    DENIED when the authorizer or RBAC's escalation check refused; with `anonymous` (a probe sent without
    credentials) the authenticator is part of the fence, so its 401 is DENIED (the refusal asked for);
    with `admission_fences` (a probe on the provider's own object), or when the provider's onboarding
    protection (a ValidatingAdmissionPolicy named PROTECTION...) refused, the admission layers are part
    of the fence too: that keeps the object out of the tenant's reach, which access reviews cannot see
    (`fenced`); ERROR when nothing was decided (transport, 401 of an identity's credentials, 405, 429,
    5xx) or nothing is known of who refused (a 403 in no wording of the API server's, e.g. a proxy's
    "Forbidden": `answers.Layer.UNKNOWN`); ALLOWED otherwise (authorized, then refused by admission, found
    invalid or not found). A 404 is
    ALLOWED because the API server authorizes a request before its storage looks the object up
    (`answers.Answer.absent`): it proves the authorizer's yes, and nothing of admission, which never saw
    the request; the evidence says so. The cell's deciding layer is the Said's `layer`."""
    message = failure.message
    answer = classified(failure)
    fence = answers.AUTHORIZATION_FENCE | ({answers.Layer.AUTHENTICATION} if anonymous else set())
    if admission_fences or (answer.layer is answers.Layer.ADMISSION_POLICY and answer.policy.startswith(PROTECTION)):
        fence |= answers.ADMISSION_LAYERS
    seen = observed(answer, "", fence)
    said = f"{failure.status}: {message}"
    if seen.cell is Cell.DENIED and answer.unauthenticated:
        said = f"{failure.status}: a request without credentials is refused ({message})"
    elif seen.cell is Cell.DENIED and answer.layer in answers.ADMISSION_LAYERS:
        return Said(Cell.DENIED, f"{FENCED_BY_ADMISSION}{said}", fenced=True, layer=seen.layer)
    elif seen.cell is Cell.ERROR and answer.layer is answers.Layer.UNKNOWN:
        unknown = "refused by a layer the answer does not name (not the API server's words)"
        said = f"{unknown}, nothing known of the authorizer: {said}"
    elif seen.cell is Cell.ALLOWED and answer.kind is answers.Kind.DENIED:
        said = f"authorized, then refused by admission: {message}"
    elif seen.cell is Cell.ALLOWED and answer.absent:
        absent = "the authorizer allowed it; the object does not exist, so admission never saw it"
        said = f"authorized ({said}; {absent})"
    elif seen.cell is Cell.ALLOWED:
        said = f"authorized ({said})"
    return Said(seen.cell, said, layer=seen.layer)


def is_watch(probe: Probe) -> bool:
    """A watch: its answer is the status line, the stream after it is never read."""
    return probe.method == "GET" and probe.query.get("watch") == "true"


def handshake(api: Any, probe: Probe) -> tuple[Cell, str]:
    """A stream's upgrade handshake (WebSocket or SPDY) or a watch's start, nothing more: the API server
    authorizes before it proxies the upgrade to the kubelet or starts the watch, so a 101 (Switching
    Protocols) proves the stream opened and a 2xx that the watch started (its status line is sent before
    any event: the events are never waited for, up to the probe's timeoutSeconds), a 403 naming the
    authorizer that it was refused. ALLOWED on 101, 2xx or any answer after authorization; ERROR on 401
    (DENIED for a probe sent without credentials), 405, 429, 5xx and transport errors (as
    `classify_failure`). The connection is closed at once and never returned to the client's pool."""
    config = api.configuration
    headers = {**api.default_headers, **probe.headers}
    token = config.get_api_key_with_prefix("authorization")
    if token:
        headers["Authorization"] = token
    url = f"{config.host}{probe.path}?{urlencode(list(probe.query.items()))}"
    try:
        response = api.rest_client.pool_manager.request(
            probe.method, url, headers=headers, preload_content=False, retries=False, timeout=kube.timeout_of(api)
        )
    except Exception as exc:  # transport: refused, TLS, timeout
        return Cell.ERROR, f"0: {exc.__class__.__name__}: {exc}"[:300]
    whole = False
    try:
        if answers.classify(response.status, str(response.reason)).accepted:
            if probe.upgrade:
                upgraded = response.headers.get("Upgrade", "?")
                return Cell.ALLOWED, f"{response.status}: upgraded to {upgraded} (the stream opened)"
            return Cell.ALLOWED, f"authorized ({response.status}: the watch started)"
        data = response.read(ANSWER_BYTES)
        whole = len(data) < ANSWER_BYTES and not response.read(1)  # the refusal's whole body, nothing after
        body = data.decode(errors="replace")
    except Exception as exc:
        return Cell.ERROR, f"0: reading the answer: {exc.__class__.__name__}: {exc}"[:300]
    finally:
        if whole:  # a refusal read to its end: its connection serves the next request (no new TLS handshake)
            response.release_conn()
        else:  # a hijacked, streaming or half-read connection never goes back to the pool
            response.close()
    failure = kube.ApiFailure(response.status, str(response.reason), body)
    return classify_failure(failure, probe.admission_fences, probe.anonymous)


def real_request(api: Any, probe: Probe) -> tuple[Cell, str]:
    """The probe's own request with the identity's credentials, as a cell (see the module docstring);
    streams and watches are answered by their status line (`handshake`)."""
    if probe.upgrade or is_watch(probe):
        return handshake(api, probe)
    query = urlencode(list(probe.query.items()))
    body = None if probe.body is None else json.dumps(probe.body).encode()
    headers = {"Content-Type": probe.content_type, **probe.headers}
    try:
        status, reason, data = kube.send(
            api, probe.method, f"{probe.path}?{query}" if query else probe.path, body, headers
        )
        if answers.classify(status, reason).accepted:
            return Cell.ALLOWED, "authorized (2xx)"
        raise kube.ApiFailure(status, reason, data.decode(errors="replace"))
    except kube.ApiFailure as failure:
        return classify_failure(failure, probe.admission_fences, probe.anonymous)


def _review_cell(api: Any, kind: str, spec: Mapping[str, Any]) -> tuple[Cell, str]:
    body = json.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}).encode()
    try:
        status, reason, data = kube.send(
            api, "POST", f"/apis/authorization.k8s.io/v1/{kind.lower()}s", body, {"Content-Type": "application/json"}
        )
        if not answers.classify(status, reason).accepted:
            raise kube.ApiFailure(status, reason, data.decode(errors="replace"))
    except kube.ApiFailure as failure:
        refused = classified(failure)
        evidence = f"{kind} itself failed: {failure.status}: {failure.message}"
        return Said(Cell.ERROR, evidence, refused=refused.kind is answers.Kind.DENIED)
    try:
        answer = json.loads(data)
    except ValueError:
        return Cell.ERROR, f"{kind}: no review answer: the body is not JSON: {data[:300].decode(errors='replace')}"
    why = not_an_answer(answer)
    if why:  # e.g. no status.allowed: never taken as a denial
        return Cell.ERROR, f"{kind}: {why}"
    status = answer["status"]
    if status.get("evaluationError"):
        return Cell.ERROR, f"{kind} evaluation error: {status['evaluationError']}"
    reason = status.get("reason", "")
    return (Cell.ALLOWED if status["allowed"] else Cell.DENIED), f"{kind}: {reason}"


def _attributes(probe: Probe) -> dict[str, Any]:
    """A review's attributes: nonResourceAttributes when the probe asks a path, else resourceAttributes."""
    if "path" in probe.attributes:
        return {"nonResourceAttributes": {"path": probe.attributes["path"], "verb": probe.attributes["verb"]}}
    return {"resourceAttributes": dict(probe.attributes)}


def self_review(api: Any, probe: Probe) -> tuple[Cell, str]:
    return _review_cell(api, "SelfSubjectAccessReview", _attributes(probe))


def subject_review(admin: Any, probe: Probe, groups: Sequence[str]) -> tuple[Cell, str]:
    every = [UNAUTHENTICATED] if probe.user == ANONYMOUS else [*groups, AUTHENTICATED]
    spec = {"user": probe.user, "groups": every, **_attributes(probe)}
    return _review_cell(admin, "SubjectAccessReview", spec)


@dataclass(frozen=True)
class Observation:
    """The matrices of the three ways, and the cells where ways that could answer disagree."""

    ways: Mapping[str, Matrix]
    disagreements: tuple[str, ...]
    unavailable: Mapping[str, str]  # way -> why it could not answer at all (e.g. ABAC refuses self-reviews)
    # way -> cells inferred instead of asked (the self reviews from SelfSubjectRulesReviews, see rules.py)
    inferred: Mapping[str, int] = field(default_factory=dict)
    rules_reviews: int = 0  # SelfSubjectRulesReviews the inferred cells came from

    @property
    def request(self) -> Matrix:
        return self.ways["request"]

    def asked(self) -> dict[str, int]:
        """way -> cells the API server answered one by one (a request or an access review each)."""
        return {w: len(m.cells) - self.inferred.get(w, 0) for w, m in self.ways.items()}

    def counts(self) -> str:
        """One line: cells asked by a real request or review vs inferred, per way."""
        parts = []
        for way, asked in self.asked().items():
            inferred = self.inferred.get(way, 0)
            rules = f", {inferred} inferred from {self.rules_reviews} SelfSubjectRulesReviews" if inferred else ""
            parts.append(f"{way} {asked} asked{rules}")
        return "cells: " + "; ".join(parts)

    def report(self) -> str:
        lines = [f"{way} unavailable: {why}" for way, why in self.unavailable.items()]
        partial = len({len(m.cells) for m in self.ways.values()}) > 1  # the reviews asked a subset of the cells
        agree = "the ways agree on every cell each was asked" if partial else "the three ways agree on every cell"
        lines += [f"disagreement: {d}" for d in self.disagreements] or [agree]
        return "\n".join([*lines, self.counts()])


def spread(items: Iterable[U], user: Callable[[U], str]) -> list[U]:
    """`items` reordered so that neighbours belong to different identities, round robin over the
    identities in order of first appearance (each identity's items keep their order). A pool runs its
    next `workers` tasks at once, and each identity's client opens as many connections as it has requests
    in flight (a TLS handshake each): at 100 tenants, 24 neighbouring requests of one identity opened 24
    connections for each identity's ~60 requests."""
    grouped: dict[str, list[U]] = {}
    for item in items:
        grouped.setdefault(user(item), []).append(item)
    return list(more_itertools.roundrobin(*grouped.values()))


# Concurrent requests of one observer. Measured on the lab's pks profile (2 cores shared by the client and the
# API server), 6,000 probes x 3 ways at once: 10, 24 and 48 workers made 1,403, 1,431 and 1,339 requests/s;
# the client's CPU (one Python process) bounds the rate, not the worker count.
WORKERS = 24


class AccessObserver:
    """Clients for every identity of one cluster (and its admin), reused across probes; each keeps
    `workers` connections open, so every request of the observer finds one."""

    def __init__(
        self,
        tenancy: ProvisionedTenancy,
        cluster: ProvisionedCluster,
        workers: int = WORKERS,
        extra: Mapping[str, tuple[Callable[[], Any], tuple[str, ...]]] | None = None,
        infer_self: bool = True,
    ) -> None:
        """`extra`: identities the tenancy does not know (e.g. tenants' service accounts), user ->
        (maker of a client with its credentials, its groups); `infer_self`: self reviews a
        SelfSubjectRulesReview answers are inferred from it (rules.py), False asks every cell."""
        self.infer_self = infer_self
        self.tenancy = tenancy
        self.cluster = cluster
        self.workers = workers
        self.extra = dict(extra or {})
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, user: str) -> Any:
        with self._lock:
            if user not in self._clients:
                if user == "":
                    made = self.tenancy.admin_client(self.cluster)
                elif user == ANONYMOUS:  # no credentials at all
                    target = kube.Cluster(self.cluster.handle.server, self.cluster.handle.ca_pem)
                    made = kube.api_client(target)
                elif user in self.extra:
                    made = self.extra[user][0]()
                else:
                    made = self.tenancy.client_for(user)
                self._clients[user] = kube.keep_connections(made, self.workers)
            return self._clients[user]

    def groups(self, user: str) -> tuple[str, ...]:
        if user == ANONYMOUS:
            return ()
        return self.extra[user][1] if user in self.extra else self.tenancy.identity(user).groups

    def close(self) -> None:
        for api in self._clients.values():
            api.close()
        self._clients.clear()

    def run(self, tasks: Iterable[Callable[[], T]]) -> list[T]:
        """Every task's answer, in order, `workers` at a time (concurrent.futures: a task that raises
        raises here; the probes' tasks never raise, they answer ERROR)."""
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda task: task(), tasks))

    def _inferred_self_reviews(self, probes: Sequence[Probe]) -> tuple[dict[int, tuple[Cell, str]], int]:
        """index -> self-review cell of the probes one SelfSubjectRulesReview per (user, namespace) answers
        (rules.py), and the rules reviews sent. Each group's first cell is asked as a SelfSubjectAccessReview
        too: a group whose rules review failed, or whose asked cell differs from the inferred one (a refusal
        included), is left out (its cells are asked one by one)."""
        grouped = rules.groups(probes)
        keys = spread(grouped, lambda key: key[0])
        reviews = self.run(
            guarded(functools.partial(rules.rules_review, self.client(u), u, ns), rules_failed) for u, ns in keys
        )
        answered = [(key, found) for key, found in zip(keys, reviews, strict=True) if isinstance(found, rules.Rules)]
        firsts = [probes[grouped[key][0]] for key, _ in answered]
        checked = self.run(guarded(functools.partial(self_review, self.client(p.user), p)) for p in firsts)
        cells: dict[int, tuple[Cell, str]] = {}
        for (key, found), asked in zip(answered, checked, strict=True):
            first, *others = grouped[key]
            if rules.infer(found, probes[first])[0] is not asked[0]:
                continue
            cells[first] = asked
            cells.update((index, rules.infer(found, probes[index])) for index in others)
        return cells, len(keys)

    def observe(
        self, probes: Sequence[Probe], ways: Sequence[str] = WAYS, cross: Collection[int] | None = None
    ) -> Observation:
        """Ask every probe every one of `ways`, all at once: one pool of `workers` runs the ways of a probe
        side by side (the real request and the self review with the identity's client, the subject review
        with the admin's), probe after probe; each way's answers make its matrix. `cross`: the indices of
        the probes asked every way (the cross-checked ones, checks.rbac.design.cross_checked); the others
        are asked only the first of `ways` (the real request: the truth) and are absent from the other
        ways' matrices; None: every probe every way. With `infer_self`, self
        reviews a SelfSubjectRulesReview answers are inferred from it (`_inferred_self_reviews`) and asked
        again where the ways disagree, so a disagreement is always between answers the API server gave."""
        rows = list(dict.fromkeys(p.row for p in probes))
        columns = list(dict.fromkeys(p.column for p in probes))
        admin = self.client("")
        for probe in probes:
            self.client(probe.user)
        crossed = range(len(probes)) if cross is None else sorted(set(cross) & set(range(len(probes))))
        asks = {way: set(crossed) for way in ways[1:]} | {way: set(range(len(probes))) for way in ways[:1]}
        makers: dict[str, Callable[[Probe], Callable[[], tuple[Cell, str]]]] = {
            "request": lambda p: guarded(lambda: real_request(self.client(p.user), p)),
            SELF_WAY: lambda p: guarded(lambda: self_review(self.client(p.user), p)),
            "subjectaccessreview": lambda p: guarded(lambda: subject_review(admin, p, self.groups(p.user))),
        }
        inferred: dict[int, tuple[Cell, str]] = {}
        rules_reviews = 0
        if SELF_WAY in ways and self.infer_self:
            selected = sorted(asks[SELF_WAY])
            found, rules_reviews = self._inferred_self_reviews([probes[i] for i in selected])
            inferred = {selected[j]: answer for j, answer in found.items()}
        answers: dict[str, list[tuple[Cell, str]]] = {way: [(Cell.UNOBSERVED, "")] * len(probes) for way in ways}
        for index, answer in inferred.items():
            answers[SELF_WAY][index] = answer
        tasks = spread(
            (
                (way, i)
                for i, _ in enumerate(probes)
                for way in ways
                if i in asks[way] and not (way == SELF_WAY and i in inferred)
            ),
            lambda task: probes[task[1]].user,
        )
        for (way, i), answer in zip(tasks, self.run(makers[way](probes[i]) for way, i in tasks), strict=True):
            answers[way][i] = answer
        if inferred:  # an inferred cell in a disagreement is asked: the disagreement is then the server's own
            again = [i for i in sorted(inferred) if rules.is_inferred(answers[SELF_WAY][i][1]) and _split(answers, i)]
            for i, answer in zip(again, self.run(makers[SELF_WAY](probes[i]) for i in again), strict=True):
                answers[SELF_WAY][i] = answer
        return self._observation(probes, ways, answers, rows, columns, rules_reviews, asks)

    def _observation(
        self,
        probes: Sequence[Probe],
        ways: Sequence[str],
        answers: Mapping[str, Sequence[tuple[Cell, str]]],
        rows: Sequence[str],
        columns: Sequence[str],
        rules_reviews: int,
        asks: Mapping[str, Collection[int]] | None = None,
    ) -> Observation:
        """The ways' matrices of `answers`, each of the probes `asks` says it was asked (None: every probe)."""
        matrices: dict[str, Matrix] = {}
        unavailable: dict[str, str] = {}
        for way in ways:  # a way's matrix holds the cells it was asked only
            pairs = [
                (p, said)
                for i, (p, said) in enumerate(zip(probes, answers[way], strict=True))
                if asks is None or i in asks[way]
            ]
            results = [said for _, said in pairs]
            cells = {(p.row, p.column): said[0] for p, said in pairs}
            evidence = {(p.row, p.column): said[1] for p, said in pairs}
            layers = {(p.row, p.column): layer_of(said) for p, said in pairs}
            decided = {key: layer for key, layer in layers.items() if layer != NOBODY}
            matrices[way] = Matrix.build(rows, columns, cells, evidence, decided)
            refused = [said[1] for said in results if _refused(said)]
            if way != "request" and refused and len(refused) == len(results):
                unavailable[way] = refused[0]
        disagreements = []
        fenced = {
            (p.row, p.column) for p, said in zip(probes, answers.get("request", ()), strict=False) if _fenced(said)
        }
        for probe in probes:
            key = (probe.row, probe.column)
            if key in fenced:
                continue
            said = {w: m.cells[key] for w, m in matrices.items() if w not in unavailable and key in m.cells}
            if len({a for a in said.values() if a is not Cell.ERROR}) > 1:
                text = ", ".join(f"{w}={a.value}" for w, a in said.items())
                disagreements.append(f"{probe.row} -> {probe.column}: {text} - reproduce: {probe.reproduce()}")
        inferred = sum(1 for _, text in answers.get(SELF_WAY, ()) if rules.is_inferred(text))
        counted = {SELF_WAY: inferred} if inferred else {}
        return Observation(matrices, tuple(disagreements), unavailable, counted, rules_reviews)


def requests_of(
    probes: Sequence[Probe], ways: Sequence[str] = WAYS, cross: Collection[int] | None = None, infer_self: bool = True
) -> dict[str, int]:
    """way -> the API requests `AccessObserver.observe(probes, ways, cross)` sends when every rules review
    answers and no way disagrees (pure: the cost of an observation, the API server answering ~500-1,400
    a second on the lab). The first way is sent for every probe, the others for `cross` (None: every
    probe); the self reviews `infer_self` groups cost one SelfSubjectRulesReview and one
    SelfSubjectAccessReview per (user, namespace) group (rules.groups), the rest one each."""
    crossed = [p for i, p in enumerate(probes) if cross is None or i in cross]
    found = {way: len(crossed) for way in ways[1:]} | {way: len(probes) for way in ways[:1]}
    if SELF_WAY in found and infer_self:
        grouped = rules.groups(crossed)
        found[SELF_WAY] = len(crossed) - sum(len(g) for g in grouped.values()) + 2 * len(grouped)
    return found


def error_cell(exc: Exception) -> tuple[Cell, str]:
    """A probe whose asking raised: ERROR naming the exception (never DENIED)."""
    return Cell.ERROR, f"0: {exc.__class__.__name__}: {exc}"[:300]


def rules_failed(exc: Exception) -> str:
    """A rules review whose asking raised: why it cannot answer (its cells are asked one by one)."""
    return f"SelfSubjectRulesReview raised {exc.__class__.__name__}: {exc}"[:300]


def guarded(task: Callable[[], T], failed: Callable[[Exception], T] = error_cell) -> Callable[[], T]:  # type: ignore[assignment]
    """`task`, answering `failed(exception)` (by default an ERROR cell) where it would raise: one probe that
    errors is ERROR and never ends the observation of the others, whatever the pool's other tasks do."""

    def run() -> T:
        try:
            return task()
        except Exception as exc:  # anything a probe raises is its ERROR, never a denial
            return failed(exc)

    return run


def _split(answers: Mapping[str, Sequence[tuple[Cell, str]]], index: int) -> bool:
    """The ways' answers to probe `index` (ERROR and ways not asked aside) are not all the same."""
    return len({a[index][0] for a in answers.values() if a[index][0] not in (Cell.ERROR, Cell.UNOBSERVED)}) > 1
