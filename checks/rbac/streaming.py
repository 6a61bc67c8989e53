"""Streaming subresources (exec, attach, portforward) tried through the transports kubectl uses:
a WebSocket upgrade (kubectl 1.30+, a GET: RBAC's `get` verb) and an SPDY/3.1 upgrade (a POST: `create`),
into a real pod; `checks.rbac.access.handshake` makes the handshake and nothing more."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from checks.rbac.access import STREAMING, Probe

TRANSPORTS = ("websocket", "spdy")
_WEBSOCKET_PROTOCOL = {"portforward": "SPDY/3.1+portforward.k8s.io"}  # kubectl 1.30+ tunnels SPDY in it
_SPDY_PROTOCOL = {"portforward": "portforward.k8s.io"}
_QUERY = {
    "exec": (("command", "true"), ("stdout", "true")),
    "attach": (("stdout", "true"),),
    "portforward": (("ports", "8080"),),
}


def stream_probe(user: str, row: str, namespace: str, pod: str, sub: str, transport: str) -> Probe:
    """The handshake of `sub` (exec, attach or portforward) into `pod` over `transport`."""
    if sub not in STREAMING or transport not in TRANSPORTS:
        raise ValueError(f"no stream probe for {sub} over {transport}")
    verb = "get" if transport == "websocket" else "create"
    attributes = {
        "verb": verb,
        "group": "",
        "resource": "pods",
        "subresource": sub,
        "namespace": namespace,
        "name": pod,
    }
    if transport == "websocket":
        key = base64.b64encode(os.urandom(16)).decode()
        headers = {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Protocol": _WEBSOCKET_PROTOCOL.get(sub, "v5.channel.k8s.io"),
        }
    else:
        headers = {
            "Connection": "Upgrade",
            "Upgrade": "SPDY/3.1",
            "X-Stream-Protocol-Version": _SPDY_PROTOCOL.get(sub, "v4.channel.k8s.io"),
        }
    column = f"{namespace}: {sub} over {transport} ({verb})"
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/{sub}"
    method = "GET" if transport == "websocket" else "POST"
    return Probe(user, row, column, attributes, method, path, query=dict(_QUERY[sub]), headers=headers, upgrade=True)


def streams() -> list[tuple[str, str]]:
    """(subresource, transport) of every stream asked in a namespace, in column order."""
    return [(sub, t) for sub in STREAMING for t in TRANSPORTS]


def stream_subjects(namespaces: Sequence[str]) -> list[tuple[str, str, str]]:
    """(namespace, subresource, transport) of every stream asked, in column order."""
    return [(ns, sub, t) for ns in namespaces for sub, t in streams()]
