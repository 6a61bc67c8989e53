"""The `bosh` backend: CFCR (kubo) clusters deployed by a BOSH director, credentials from CredHub.

The director's `/info` (its only unauthenticated endpoint) says how to log in:
UAA (a client-credentials token from the URL it names) or basic auth. A cluster
is a deployment of the kubo manifest with the target's ops files applied (for
example allowing privileged containers) and its variables set; the director
answers a deploy with a task, followed until done within the deadline. The
admin kubeconfig is built as kubo-deployment's `set_kubeconfig` does: the
cluster CA from `<director>/<deployment>/tls-kubernetes` and the admin token
from `<director>/<deployment>/kubo-admin-password` in CredHub.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from harness.errors import ConfigError, InfrastructureError
from harness.wait import wait_until
from provisioning.backends import csr_identities, kubeconfig_files
from provisioning.backends.bosh_manifest import OpsError, apply_ops, interpolate
from provisioning.backends.bosh_spec import BoshSpec
from provisioning.backends.cleanup import undo as _undo
from provisioning.backends.csr_identities import IdentityPolicy
from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.backends.renewal import RenewingAuthorization
from provisioning.backends.uaa import Grant, fetch_token
from provisioning.http import HttpClient, HttpFailure, Proxy, TransientHttpFailure, basic_auth
from provisioning.lab.configs import kubeconfig as token_kubeconfig
from provisioning.model.tenancy import Identity

TASK_DONE = "done"
TASK_ENDED = ("done", "error", "cancelled", "timeout")


class TaskFailed(InfrastructureError):
    """A director task ended in error, cancelled or timeout."""


@dataclass
class BoshBackend:
    """ClusterBackend for CFCR on a BOSH director."""

    spec: BoshSpec
    client: str = field(repr=False)
    client_secret: str = field(repr=False)
    where: str  # field path of the product's bosh section
    source: str = "targets.yaml"
    credhub_client: str | None = field(default=None, repr=False)
    credhub_secret: str | None = field(default=None, repr=False)
    proxy: Proxy | None = None
    timeout: float = 30.0
    base_dir: Path = Path()
    name: str = "bosh"
    identities_via_csr: bool = True  # the product's identities_via_csr
    _info: dict[str, Any] | None = field(default=None, repr=False)
    _files: dict[str, Path] = field(default_factory=dict, repr=False)
    _authorization: RenewingAuthorization = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # a basic-auth password that the director refused stays refused; a UAA token may have expired
        self._authorization = RenewingAuthorization(self._fetch_authorization, lambda v: v.startswith("Bearer "))

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            creates_clusters=True, mints_certificates=self.identities_via_csr, restarts_api_server=False
        )

    # -- HTTP ------------------------------------------------------------------------------------
    def _client(self, base_url: str, service: str) -> HttpClient:
        return HttpClient(
            base_url,
            service=service,
            timeout=self.timeout,
            ca_file=str(self.base_dir / self.spec.ca_file) if self.spec.ca_file else None,
            proxy=self.proxy,
            secrets=(self.client_secret, self.credhub_secret, self._authorization.value),
        )

    def info(self) -> dict[str, Any]:
        """The director's `/info`: name, uuid, version and how to authenticate."""
        if self._info is None:
            director = self._client(self.spec.director_url, "BOSH director")
            try:
                info = director.request("GET", "/info").json()
            finally:
                director.close()
            if not isinstance(info, dict) or "user_authentication" not in info:
                raise InfrastructureError(f"{self.spec.director_url}/info is not a BOSH director's answer")
            self._info = info
        return self._info

    def _token(self, client: str, secret: str, where: str) -> str:
        options = self.info()["user_authentication"].get("options") or {}
        uaa_url = options.get("url") or self.spec.uaa_url or f"https://{urlsplit(self.spec.director_url).hostname}:8443"
        uaa = self._client(str(uaa_url), "BOSH UAA")
        try:
            return fetch_token(uaa, Grant("client_credentials", client_id=client, client_secret=secret, where=where))
        finally:
            uaa.close()

    def _fetch_authorization(self) -> str:
        kind = self.info()["user_authentication"].get("type")
        where = f"{self.where}.client_env and {self.where}.client_secret_env"
        if kind == "uaa":
            return "Bearer " + self._token(self.client, self.client_secret, where)
        if kind == "basic":
            return basic_auth(self.client, self.client_secret)
        raise InfrastructureError(f'BOSH director: unknown authentication type "{kind}" in /info')

    def _director(self, method: str, path: str, **kwargs: Any) -> Any:
        """One director call, with a UAA token renewed once if it expired while a task ran."""
        hints = {
            401: f"the director rejected the credentials: check {self.where}.client_env and "
            f"{self.where}.client_secret_env (the client needs the scope bosh.admin)",
            403: "the client lacks the scope bosh.admin (or the deployment's team scope)",
            **kwargs.pop("hints", {}),
        }
        extra = kwargs.pop("headers", {})

        def send(authorization: str) -> Any:
            director = self._client(self.spec.director_url, "BOSH director")
            try:
                headers = {"Authorization": authorization, **extra}
                return director.request(method, path, headers=headers, hints=hints, **kwargs)
            finally:
                director.close()

        return self._authorization.call(send)

    # -- manifests and tasks ---------------------------------------------------------------------
    def manifest(self, deployment: str) -> str:
        """The kubo manifest for one deployment: ops files applied, the name and variables set."""
        manifest_path = self.base_dir / self.spec.manifest
        manifest = yaml.safe_load(manifest_path.read_text())
        if not isinstance(manifest, dict):
            raise ConfigError(self.source, f"{self.where}.manifest", f"{manifest_path} is not a BOSH manifest")
        for index, ops_file in enumerate(self.spec.ops_files):
            operations = yaml.safe_load((self.base_dir / ops_file).read_text()) or []
            try:
                manifest = apply_ops(manifest, operations, source=ops_file)
            except OpsError as exc:
                raise ConfigError(self.source, f"{self.where}.ops_files[{index}]", str(exc)) from None
        variables = {k: v.replace("{cluster}", deployment) for k, v in self.spec.vars.items()}
        variables.setdefault("deployment_name", deployment)
        variables.setdefault("kubernetes_master_host", self._master_host(deployment))
        manifest = interpolate(manifest, variables)
        manifest["name"] = deployment
        return yaml.safe_dump(manifest, sort_keys=False)

    def _master_host(self, deployment: str) -> str:
        return self.spec.master_host.replace("{cluster}", deployment)

    def _task_of(self, response: Any) -> int:
        location = response.headers.get("location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        if response.status != 302 or not tail.isdigit():
            raise InfrastructureError(f"BOSH director answered {response.status} without a task to follow")
        return int(tail)

    def follow_task(self, task_id: int, what: str) -> dict[str, Any]:
        """Poll `/tasks/ID` until it ends; an error names the task's result and last failing event."""
        task: dict[str, Any] = wait_until(
            lambda: self._director("GET", f"/tasks/{task_id}").json(),
            lambda t: isinstance(t, dict) and t.get("state") in TASK_ENDED,
            timeout=self.spec.task_timeout,
            what=f"BOSH task {task_id} ({what})",
            interval=min(self.spec.poll_seconds, 1.0),
            max_interval=self.spec.poll_seconds,
            retry_on=(TransientHttpFailure,),
        )
        if task.get("state") != TASK_DONE:
            raise TaskFailed(
                f"BOSH task {task_id} ({what}) ended {task.get('state')}: "
                f"{task.get('result') or self._last_error_event(task_id) or 'no result'} "
                f"(fix: see `bosh task {task_id} --debug`)"
            )
        return task

    def _last_error_event(self, task_id: int) -> str:
        try:
            text = self._director("GET", f"/tasks/{task_id}/output", query={"type": "event"}).body.decode()
        except HttpFailure:
            return ""
        for line in reversed(text.splitlines()):
            event = yaml.safe_load(line) if line.strip() else None
            if isinstance(event, dict) and (event.get("error") or event.get("state") == "failed"):
                error = event.get("error")
                return str(error.get("message") if isinstance(error, dict) else error or event.get("task"))
        return ""

    # -- CredHub ---------------------------------------------------------------------------------
    def _credhub_value(self, credhub: HttpClient, token: str, name: str) -> Any:
        response = credhub.request(
            "GET",
            "/api/v1/data",
            query={"name": name, "current": "true"},
            headers={"Authorization": f"Bearer {token}"},
            hints={
                401: "CredHub rejected the token: check the CredHub client (credhub_client_env)",
                403: f"the CredHub client may not read {name} (fix: grant it read permission)",
                404: f"CredHub has no credential {name} (did the deployment generate it?)",
            },
        )
        data = response.json().get("data") or []
        if not data:
            raise InfrastructureError(f"CredHub has no credential {name}")
        return data[0].get("value")

    def admin_kubeconfig(self, deployment: str) -> str:
        """The deployment's admin kubeconfig, built from CredHub's CA and admin password."""
        director_name = self.info().get("name", "")
        credhub_url = self.spec.credhub_url or f"https://{urlsplit(self.spec.director_url).hostname}:8844"
        client = self.credhub_client or self.client
        secret = self.credhub_secret or self.client_secret
        token = self._token(
            client, secret, f"{self.where}.credhub_client_env and {self.where}.credhub_client_secret_env"
        )
        credhub = self._client(credhub_url, "CredHub")
        credhub.add_secret(token)
        try:
            prefix = f"/{director_name}/{deployment}"
            tls = self._credhub_value(credhub, token, f"{prefix}/tls-kubernetes")
            password = self._credhub_value(credhub, token, f"{prefix}/kubo-admin-password")
        finally:
            credhub.close()
        ca = tls.get("ca") if isinstance(tls, dict) else None
        if not ca or not isinstance(password, str):
            raise InfrastructureError(f"CredHub credentials of {deployment} are incomplete (need a CA and a password)")
        server = f"https://{self._master_host(deployment)}:8443"
        return token_kubeconfig(server, ca.encode(), "admin", token=password)

    # -- ClusterBackend --------------------------------------------------------------------------
    def provision(self, request: ClusterRequest) -> ClusterHandle:
        deployment = request.placement.name
        manifest = self.manifest(deployment)
        response = self._director(
            "POST",
            "/deployments",
            body=manifest.encode(),
            content_type="text/yaml",
            headers={"X-Bosh-Context-Id": request.run_id},
            expect=(302,),
        )
        try:
            self.follow_task(self._task_of(response), f"deploy {deployment}")
            text = self.admin_kubeconfig(deployment)
        except BaseException as exc:
            _undo(lambda: self._delete(deployment), exc, f"deleting BOSH deployment {deployment}")
            raise
        directory = kubeconfig_files.private_directory("caas-bosh-")
        self._files[deployment] = directory
        config = kubeconfig_files.parse(text, "CredHub")
        return kubeconfig_files.admin_handle(request, self.name, config, "CredHub", directory, text=text)

    def _delete(self, deployment: str) -> None:
        try:
            response = self._director("DELETE", f"/deployments/{quote(deployment)}", expect=(302,))
        except HttpFailure as exc:
            if exc.status == 404:
                return
            raise
        self.follow_task(self._task_of(response), f"delete {deployment}")

    def release(self, handle: ClusterHandle) -> None:
        try:
            self._delete(handle.name)
        finally:
            directory = self._files.pop(handle.name, None)
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        """CFCR hands out admin credentials only: tenant identities get client certificates the cluster
        issues through its CSR API (`identities_via_csr`), or are the admin impersonating them, the
        fallback, when that is off or the cluster refuses (the credential says so)."""
        policy = IdentityPolicy(
            via_csr=self.identities_via_csr, impersonation_fallback=True, where=self.where.rpartition(".")[0]
        )
        return csr_identities.issue(handle, identities, policy)
