"""The `pks` backend: clusters of a PKS / TKGI installation, created and deleted through its API.

A UAA token (password grant with the CLI's client `pks_cli`, or client
credentials) authorizes every call to the API (`:9021`). Provisioning checks
that the plan exists, creates the cluster, polls `last_action_state` until it
settles (within the target's deadline) and fetches the admin kubeconfig with
`POST /v1/clusters/NAME/binds`, as `tkgi get-credentials` does. Release deletes
the cluster and waits until the API no longer knows it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from harness.errors import InfrastructureError
from harness.wait import wait_until
from provisioning.backends import csr_identities, kubeconfig_files
from provisioning.backends.cleanup import undo as _undo
from provisioning.backends.csr_identities import IdentityPolicy
from provisioning.backends.pks_spec import PksSpec
from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.backends.renewal import RenewingAuthorization
from provisioning.backends.uaa import Grant, fetch_token
from provisioning.http import HttpClient, HttpFailure, Proxy, TransientHttpFailure
from provisioning.model.tenancy import Identity

IN_PROGRESS = "in progress"
SUCCEEDED = "succeeded"
FAILED = "failed"


class ClusterActionFailed(InfrastructureError):
    """PKS reported `last_action_state: failed` for the action we started."""


@dataclass
class PksBackend:
    """ClusterBackend for PKS / TKGI."""

    spec: PksSpec
    username: str = field(repr=False)
    password: str = field(repr=False)
    where: str  # field path of the product's pks section, for error lines
    proxy: Proxy | None = None
    timeout: float = 30.0
    base_dir: Path = Path()
    name: str = "pks"
    identities_via_csr: bool = True  # the product's identities_via_csr
    _files: dict[str, Path] = field(default_factory=dict, repr=False)
    _authorization: RenewingAuthorization = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._authorization = RenewingAuthorization(self._fetch_token)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            creates_clusters=True, mints_certificates=self.identities_via_csr, restarts_api_server=False
        )

    # -- HTTP ------------------------------------------------------------------------------------
    def _client(self, base_url: str, service: str) -> HttpClient:
        ca_file = str(self.base_dir / self.spec.ca_file) if self.spec.ca_file else None
        return HttpClient(
            base_url,
            service=service,
            timeout=self.timeout,
            ca_file=ca_file,
            proxy=self.proxy,
            secrets=(self.password, self._authorization.value),
        )

    def _uaa_url(self) -> str:
        if self.spec.uaa_url:
            return self.spec.uaa_url
        return f"https://{urlsplit(self.spec.api_url).hostname}:8443"

    def _grant(self) -> Grant:
        where = f"{self.where}.username_env and {self.where}.password_env"
        if self.spec.grant == "client_credentials":
            return Grant("client_credentials", client_id=self.username, client_secret=self.password, where=where)
        return Grant("password", client_id="pks_cli", username=self.username, password=self.password, where=where)

    def _fetch_token(self) -> str:
        uaa = self._client(self._uaa_url(), "PKS UAA")
        try:
            return "Bearer " + fetch_token(uaa, self._grant())
        finally:
            uaa.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, with a token renewed once if it expired (see `RenewingAuthorization`)."""
        hints = {
            401: f"the PKS API rejected the token: check {self.where}.username_env and {self.where}.password_env",
            403: "the user lacks the scope pks.clusters.admin or pks.clusters.manage (fix: grant it in UAA)",
            **kwargs.pop("hints", {}),
        }

        def send(authorization: str) -> Any:
            api = self._client(self.spec.api_url, "PKS API")
            try:
                return api.request(method, path, headers={"Authorization": authorization}, hints=hints, **kwargs)
            finally:
                api.close()

        return self._authorization.call(send)

    # -- API -------------------------------------------------------------------------------------
    def plans(self) -> list[dict[str, Any]]:
        """The plans the installation offers (`GET /v1/plans`)."""
        plans = self._call("GET", "/v1/plans").json()
        return plans if isinstance(plans, list) else []

    def cluster(self, name: str) -> dict[str, Any] | None:
        """The cluster's record, or None once the API no longer knows it."""
        try:
            record = self._call("GET", f"/v1/clusters/{quote(name)}").json()
        except HttpFailure as exc:
            if exc.status == 404:
                return None
            raise
        return record if isinstance(record, dict) else None

    def _settled(self, name: str, action: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            record = self.cluster(name)
            if record is None:
                raise ClusterActionFailed(f"PKS cluster {name} disappeared during {action}")
            return record

        record = wait_until(
            fetch,
            lambda r: r.get("last_action_state") != IN_PROGRESS,
            timeout=self.spec.cluster_timeout,
            what=f"PKS cluster {name} to finish {action} (last_action_state)",
            interval=min(self.spec.poll_seconds, 1.0),
            max_interval=self.spec.poll_seconds,
            retry_on=(TransientHttpFailure,),
        )
        state = record.get("last_action_state")
        if record.get("last_action") not in (None, action) or state != SUCCEEDED:
            description = record.get("last_action_description") or "no description"
            raise ClusterActionFailed(
                f"PKS cluster {name}: {record.get('last_action')} {state}: {description} "
                f"(fix: see `tkgi cluster {name}` and the BOSH task of service-instance_{record.get('uuid', '?')})"
            )
        return record

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        name = request.placement.name
        offered = [str(p.get("name")) for p in self.plans()]
        if request.plan.name not in offered:
            raise InfrastructureError(
                f'PKS offers no plan "{request.plan.name}" (offered: {", ".join(offered) or "none"}); '
                f"fix: rename the plan in the targets file or create it in PKS"
            )
        body = {
            "name": name,
            "plan_name": request.plan.name,
            "parameters": {
                "kubernetes_master_host": self.spec.master_host.replace("{cluster}", name),
                "kubernetes_master_port": 8443,
                "kubernetes_worker_instances": request.plan.workers,
            },
        }
        self._call(
            "POST",
            "/v1/clusters",
            json_body=body,
            expect=(200, 201, 202),
            hints={
                409: f"a cluster named {name} exists already (fix: `tkgi delete-cluster {name}` if no run uses it, "
                "or give this run another CAAS_CLUSTER_PREFIX)"
            },
        )
        try:
            self._settled(name, "CREATE")
            kubeconfig = self._bind(name)
        except BaseException as exc:
            _undo(lambda: self._delete(name), exc, f"deleting PKS cluster {name}")
            raise
        directory = kubeconfig_files.private_directory("caas-pks-")
        self._files[name] = directory
        config = kubeconfig_files.parse(kubeconfig, "PKS binds")
        return kubeconfig_files.admin_handle(request, self.name, config, "PKS binds", directory)

    def _bind(self, name: str) -> dict[str, Any]:
        response = self._call("POST", f"/v1/clusters/{quote(name)}/binds", json_body={}, expect=(200, 201))
        kubeconfig = response.json()
        if not isinstance(kubeconfig, dict):
            raise InfrastructureError(f"PKS binds for {name} did not return a kubeconfig")
        return kubeconfig

    def _delete(self, name: str) -> None:
        try:
            self._call("DELETE", f"/v1/clusters/{quote(name)}", expect=(200, 202, 204))
        except HttpFailure as exc:
            if exc.status != 404:
                raise
        wait_until(
            lambda: self._state_while_deleting(name),
            lambda state: state is None,
            timeout=self.spec.cluster_timeout,
            what=f"PKS cluster {name} to be deleted",
            interval=min(self.spec.poll_seconds, 1.0),
            max_interval=self.spec.poll_seconds,
            retry_on=(TransientHttpFailure,),
        )

    def _state_while_deleting(self, name: str) -> Mapping[str, Any] | None:
        record = self.cluster(name)
        if record is not None and record.get("last_action") == "DELETE" and record.get("last_action_state") == FAILED:
            raise ClusterActionFailed(
                f"PKS cluster {name}: DELETE failed: {record.get('last_action_description') or 'no description'}"
            )
        return None if record is None else {"last_action_state": record.get("last_action_state")}

    def release(self, handle: ClusterHandle) -> None:
        try:
            self._delete(handle.name)
        finally:
            directory = self._files.pop(handle.name, None)
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        """PKS hands out admin credentials only: tenant identities get client certificates the cluster
        issues through its CSR API (`identities_via_csr`), or are the admin impersonating them, the
        fallback, when that is off or the cluster refuses (the credential says so)."""
        policy = IdentityPolicy(
            via_csr=self.identities_via_csr, impersonation_fallback=True, where=self.where.rpartition(".")[0]
        )
        return csr_identities.issue(handle, identities, policy)
