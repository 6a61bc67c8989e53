"""The `kubeconfig` backend: clusters that already exist, reached through a kubeconfig file.

Nothing is created or destroyed here: a shared placement uses the file's context,
a dedicated tenant the context the targets file maps it to. Identities use the
credentials the targets file names (a context of the file, or a token from the
environment), else client certificates the cluster issues through its CSR API;
impersonation by the admin is only a fallback, labelled as such. A cluster authorizes as its plan's
`authorization` states, unless one SubjectAccessReview refutes it (provisioning/backends/kubeconfig_authorization.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError, InfrastructureError
from provisioning.backends import csr_identities, kubeconfig_authorization
from provisioning.backends.csr_identities import IdentityPolicy
from provisioning.backends.kubeconfig_spec import KubeconfigSpec
from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.kube import client as kube
from provisioning.model.tenancy import AuthorizationMode, Identity, Placement


@dataclass
class KubeconfigBackend:
    """ClusterBackend for existing clusters."""

    spec: KubeconfigSpec
    base_dir: Path
    source: str
    where: str  # field path of the product's kubeconfig section, for error lines
    environment: Mapping[str, str] = field(repr=False, default_factory=dict)
    timeout: float = kube.DEFAULT_TIMEOUT
    name: str = "kubeconfig"
    identities_via_csr: bool = True  # the product's identities_via_csr
    plan_indices: Mapping[str, int] = field(default_factory=dict)  # plan name -> its index in the product's plans

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            creates_clusters=False, mints_certificates=self.identities_via_csr, restarts_api_server=False
        )

    @property
    def path(self) -> Path:
        return (self.base_dir / Path(self.spec.path).expanduser()).resolve()

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        placement = request.placement
        context = self.spec.context
        if placement.placement is Placement.DEDICATED:
            context = self.spec.tenant_contexts[placement.tenants[0].name]
        try:
            target = kube.cluster_of_context(self.path, context)
        except Exception as exc:  # the loader raises ConfigException, KeyError, ...
            raise ConfigError(
                self.source, f"{self.where}.path", f"cannot use context {context or '(current)'} of {self.path}: {exc}"
            ) from None
        api = kube.from_kubeconfig(self.path, context, timeout=self.timeout)
        try:
            kube.request(api, "GET", "/version")
            refuted = kubeconfig_authorization.refutation(api, request.plan.authorization)
        except kube.ApiFailure as exc:
            raise InfrastructureError(
                f"cluster {target.server} (context {context or '(current)'}) is unreachable: {exc} "
                "(fix: check the kubeconfig's server address, the network or the proxy)"
            ) from None
        finally:
            api.close()
        if refuted is not None:
            raise self._refuted(request.plan.name, request.plan.authorization, refuted, context)
        return ClusterHandle(
            name=placement.name,
            product=placement.product,
            server=target.server,
            ca_pem=target.ca_pem,
            admin_kubeconfig=self.path,
            authorization=request.plan.authorization,
            backend=self.name,
            context=context,
        )

    def _refuted(self, plan: str, mode: AuthorizationMode, why: str, context: str | None) -> ConfigError:
        """The plan's `authorization` contradicted by the cluster of `context`: one line naming the field."""
        product = self.where.rpartition(".")[0]
        index = self.plan_indices.get(plan)
        where = f"{product}.plans[{index}].authorization" if index is not None else f"{product}.plans"
        return ConfigError(self.source, where, kubeconfig_authorization.refusal(plan, mode, why=why, context=context))

    def release(self, handle: ClusterHandle) -> None:
        """Existing clusters stay; the Provisioner removes what onboarding created on them."""

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        """The credentials `identities` names for each identity; the others get certificates the cluster
        issues through its CSR API (`identities_via_csr`), or, if the targets file allows it
        (`impersonate_missing_identities`), the admin impersonating them when CSRs are off or refused."""
        issued: dict[str, Credential] = {}
        missing: list[Identity] = []
        for identity in identities:
            named = self.spec.identities.get(identity.user)
            if named is not None and named.context:
                issued[identity.user] = Credential(kubeconfig=self.path, context=named.context)
            elif named is not None and named.token_env:
                token = self.environment.get(named.token_env)
                if not token:
                    raise ConfigError(
                        self.source,
                        f"{self.where}.identities.{identity.user}.token_env",
                        f"environment variable {named.token_env} is not set (export it)",
                    )
                issued[identity.user] = Credential(token=token)
            else:
                missing.append(identity)
        if missing and not self.identities_via_csr and not self.spec.impersonate_missing_identities:
            raise ConfigError(
                self.source,
                f"{self.where}.identities",
                f'no credentials for "{missing[0].user}" (add it, set identities_via_csr: true, or set '
                "impersonate_missing_identities: true to impersonate as a fallback)",
            )
        policy = IdentityPolicy(
            via_csr=self.identities_via_csr,
            impersonation_fallback=self.spec.impersonate_missing_identities,
            where=self.where.rpartition(".")[0],
            fix=f"name its credentials in {self.where}.identities, or set impersonate_missing_identities: true",
            timeout=self.timeout,
        )
        issued.update(csr_identities.issue(handle, tuple(missing), policy))
        return issued
