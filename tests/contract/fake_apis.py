"""Local HTTP servers that answer as the products' documented APIs do (for contract tests).

`PksApi`: UAA `/oauth/token` and the PKS API v1 (plans, clusters, binds) as the
TKGI docs and public clients describe them. `BoshApi`: the director's `/info`,
UAA, `/deployments` answered by 302 to a task, `/tasks/ID` and CredHub's
`/api/v1/data`. Behaviour knobs: how many polls an action stays in progress,
and whether it ends in failure.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "eyJhbGciOi.fake-token.signature"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """Routes requests to `handle(method, path, query, headers, body)`; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.token_lifetime: int | None = None  # API requests a token is good for (None: forever)
        self.tokens_issued = 0
        self._uses: dict[str, int] = {}

    def issue_token(self) -> str:
        self.tokens_issued += 1
        token = f"{TOKEN}.{self.tokens_issued}"
        self._uses[token] = 0
        return token

    def token_valid(self, headers: dict[str, str]) -> bool:
        """A bearer token this server issued and that has not expired (as UAA's access tokens do)."""
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._uses:
            return False
        self._uses[token] += 1
        return self.token_lifetime is None or self._uses[token] <= self.token_lifetime

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    @contextmanager
    def serve(self, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
        """Serve on a free port of 127.0.0.1; with `tls` (certificate and key files) over HTTPS."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with api.lock:
                    api.requests.append((self.command, parts.path))
                    answer = api.handle(self.command, parts.path, query, headers, body)
                data = b""
                if answer.body is not None:
                    data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.headers.pop("Content-Type", "application/json"))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()


def _basic(headers: dict[str, str]) -> tuple[str, str]:
    value = headers.get("authorization", "")
    if not value.startswith("Basic "):
        return "", ""
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def _uaa(api: FakeApi, form: dict[str, str], headers: dict[str, str], accepted: dict[str, str], grant: str) -> Answer:
    client, secret = _basic(headers)
    if form.get("grant_type") != grant:
        return Answer(400, {"error": "unsupported_grant_type"})
    if grant == "password":
        ok = client == "pks_cli" and secret == "" and accepted.get(form.get("username", "")) == form.get("password")
    else:
        ok = accepted.get(client) == secret
    if not ok:
        return Answer(401, {"error": "unauthorized", "error_description": "Bad credentials"})
    return Answer(200, {"access_token": api.issue_token(), "token_type": "bearer", "expires_in": 599, "jti": "x"})


class PksApi(FakeApi):
    """PKS/TKGI API v1 and its UAA on one address."""

    def __init__(self, *, polls: int = 2, fail_create: bool = False, grant: str = "password") -> None:
        super().__init__()
        self.users = {"alana": "pks-secret-pw"}
        self.grant = grant
        self.polls = polls
        self.fail_create = fail_create
        self.clusters: dict[str, dict[str, Any]] = {}
        self._remaining: dict[str, int] = {}
        self.plans = [
            {"id": "8A0E21A8-8072-4D80-B365-D1F502085560", "name": "small", "worker_instances": 1},
            {"id": "58375a45-17f7-4291-acf1-455bfdc8e371", "name": "medium", "worker_instances": 2},
        ]

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        if path == "/oauth/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return _uaa(self, form, headers, self.users, self.grant)
        if not self.token_valid(headers):
            return Answer(401, {"error": "invalid_token", "error_description": "Invalid token"})
        if path == "/v1/plans" and method == "GET":
            return Answer(200, self.plans)
        if path == "/v1/clusters" and method == "POST":
            request = json.loads(body)
            name = request["name"]
            if name in self.clusters:
                return Answer(409, {"error": "conflict", "description": f"cluster {name} already exists"})
            self.clusters[name] = {
                "name": name,
                "plan_name": request["plan_name"],
                "uuid": "0d7ab1a4-1b5b-4f0b-9a9e-5e1d9d1c7a10",
                "last_action": "CREATE",
                "last_action_state": "in progress",
                "last_action_description": "Instance provisioning in progress",
                "kubernetes_master_ips": ["In Progress"],
                "parameters": request.get("parameters", {}),
            }
            self._remaining[name] = self.polls
            return Answer(202, self.clusters[name])
        parts = path.split("/")
        if len(parts) >= 4 and parts[1:3] == ["v1", "clusters"]:
            name = parts[3]
            record = self.clusters.get(name)
            if record is None:
                return Answer(404, {"error": "not-found", "description": f"cluster {name} not found"})
            if len(parts) == 5 and parts[4] == "binds" and method == "POST":
                return Answer(201, self._kubeconfig(record))
            if method == "GET":
                return self._progress(name, record)
            if method == "DELETE":
                record.update(last_action="DELETE", last_action_state="in progress")
                self._remaining[name] = self.polls
                return Answer(202)
        return Answer(404, {"error": "not-found"})

    def _progress(self, name: str, record: dict[str, Any]) -> Answer:
        if record["last_action_state"] == "in progress":
            self._remaining[name] -= 1
            if self._remaining[name] < 0:
                if record["last_action"] == "DELETE":
                    del self.clusters[name]
                    return Answer(404, {"error": "not-found"})
                failed = self.fail_create and record["last_action"] == "CREATE"
                record["last_action_state"] = "failed" if failed else "succeeded"
                record["last_action_description"] = (
                    "Instance provisioning failed: There was a problem completing your request. "
                    "bosh task id: 42: 'master/0' is not running after update"
                    if failed
                    else "Instance provisioning completed"
                )
                record["kubernetes_master_ips"] = ["10.0.11.10"]
        return Answer(200, record)

    def _kubeconfig(self, record: dict[str, Any]) -> dict[str, Any]:
        host = record["parameters"].get("kubernetes_master_host", "api")
        name = record["name"]
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": f"https://{host}:8443",
                        "certificate-authority-data": base64.b64encode(CA_PEM.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": f"{name}-admin", "user": {"token": "cluster-admin-token"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}],
            "current-context": name,
        }


class BoshApi(FakeApi):
    """A BOSH director with UAA and CredHub on one address."""

    def __init__(self, *, polls: int = 2, fail_deploy: bool = False, auth: str = "uaa") -> None:
        super().__init__()
        self.clients = {"ci-director": "bosh-secret-pw"}
        self.auth = auth
        self.polls = polls
        self.fail_deploy = fail_deploy
        self.base = ""
        self.deployments: dict[str, str] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self._remaining: dict[int, int] = {}
        self.admin_password = "kubo-admin-pw-1234"

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        if path == "/info":
            options = {"url": self.base} if self.auth == "uaa" else {}
            return Answer(
                200,
                {
                    "name": "bosh-lab",
                    "uuid": "5e8d5c7e-3f3e-4c9a-9a5e-0c2f1e4b9d11",
                    "version": "280.0.14 (00000000)",
                    "user": None,
                    "cpi": "vsphere_cpi",
                    "user_authentication": {"type": self.auth, "options": options},
                    "features": {"config_server": {"status": True, "extras": {"urls": [self.base]}}},
                },
            )
        if path == "/oauth/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return _uaa(self, form, headers, self.clients, "client_credentials")
        authorized = self.token_valid(headers)
        if self.auth == "basic" and not path.startswith("/api/v1/"):  # CredHub always takes UAA tokens
            user, password = _basic(headers)
            authorized = self.clients.get(user) == password
        if not authorized:
            return Answer(401, {"code": 600000, "description": "Require one of the scopes: bosh.admin"})
        if path == "/api/v1/data" and method == "GET":
            return self._credhub(query.get("name", ""))
        if path == "/deployments" and method == "POST":
            manifest = yaml.safe_load(body)
            self.deployments[manifest["name"]] = body.decode()
            return self._task(f"create deployment {manifest['name']}", fail=self.fail_deploy)
        if path.startswith("/deployments/") and method == "DELETE":
            name = path.rsplit("/", 1)[1]
            if name not in self.deployments:
                return Answer(404, {"code": 70000, "description": f"Deployment '{name}' doesn't exist"})
            del self.deployments[name]
            return self._task(f"delete deployment {name}", fail=False)
        if path.startswith("/tasks/"):
            task_id = int(path.split("/")[2])
            if path.endswith("/output"):
                return Answer(200, self.tasks[task_id]["events"].encode(), {"Content-Type": "text/plain"})
            return Answer(200, self._progress(task_id))
        return Answer(404, {"code": 70000, "description": "not found"})

    def _task(self, description: str, fail: bool) -> Answer:
        task_id = len(self.tasks) + 1
        events = ""
        if fail:
            events = json.dumps(
                {
                    "time": 1,
                    "stage": "Updating instance",
                    "task": "master/0",
                    "state": "failed",
                    "error": {"code": 450001, "message": "'master/0' is not running after update"},
                }
            )
        self.tasks[task_id] = {
            "id": task_id,
            "state": "queued",
            "description": description,
            "result": None,
            "fail": fail,
            "events": events + "\n",
        }
        self._remaining[task_id] = self.polls
        return Answer(302, headers={"Location": f"{self.base}/tasks/{task_id}"})

    def _progress(self, task_id: int) -> dict[str, Any]:
        task = self.tasks[task_id]
        self._remaining[task_id] -= 1
        if task["state"] in ("queued", "processing"):
            task["state"] = "processing"
            if self._remaining[task_id] < 0:
                task["state"] = "error" if task["fail"] else "done"
                task["result"] = "'master/0' is not running after update" if task["fail"] else "/deployments/x"
        return {k: v for k, v in task.items() if k in ("id", "state", "description", "result")}

    def _credhub(self, name: str) -> Answer:
        director, _, rest = name.lstrip("/").partition("/")
        deployment, _, credential = rest.partition("/")
        if director != "bosh-lab" or deployment not in self.deployments:
            return Answer(404, {"error": "The request could not be completed because the credential does not exist"})
        if credential == "tls-kubernetes":
            value: Any = {"ca": CA_PEM, "certificate": "cert", "private_key": "key"}
        elif credential == "kubo-admin-password":
            value = self.admin_password
        else:
            return Answer(404, {"error": "does not exist"})
        return Answer(200, {"data": [{"type": "certificate", "name": name, "value": value, "id": "1"}]})
