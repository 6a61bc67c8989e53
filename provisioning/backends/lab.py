"""The `lab` backend: clusters of the embedded lab with a product profile.

A shared placement is one lab cluster; a dedicated placement is one lab cluster
per tenant with as many workers as its plan. Identities get client certificates
signed by the cluster's CA (CN = user, O = groups); on profiles with token
authentication (cfcr) they get static tokens, applied the way the product did:
by rewriting the token file and restarting the API server. On profiles with
`oidc` (pks) the OIDC identities get a random password in the cluster issuer's
users file (as a salted hash) and an ID token by a real password grant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from harness.errors import ConfigError, InfrastructureError
from harness.wait import Timeouts, wait_until
from provisioning.backends.oidc import password_grant
from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.kube import client as kube
from provisioning.lab import cluster, configs, host, oidc, pki
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.lab.profiles import PROFILES
from provisioning.model.tenancy import CERTIFICATE_ONLY, Authenticator, Identity, Placement


@dataclass
class LabBackend:
    """ClusterBackend for the embedded lab."""

    paths: LabPaths
    profile: str
    shared_workers: int
    timeouts: Timeouts
    name: str = "lab"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            creates_clusters=True,
            mints_certificates=True,
            restarts_api_server=True,
            enforces_network_policy=PROFILES[self.profile].enforce_network_policy,
            authenticators=(*CERTIFICATE_ONLY, Authenticator.OIDC) if PROFILES[self.profile].oidc else CERTIFICATE_ONLY,
        )

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        placement = request.placement
        if self.paths.cluster_dir(placement.name).exists():
            raise ConfigError("lab", placement.name, _taken(self.paths, placement.name))
        workers = request.plan.workers if placement.placement is Placement.DEDICATED else self.shared_workers
        lab = cluster.up(
            self.paths,
            placement.name,
            self.profile,
            workers,
            self.timeouts.lab_ready,
            authorization=request.plan.authorization,
            run_id=request.run_id,
        )
        return ClusterHandle(
            name=placement.name,
            product=placement.product,
            server=lab.layout.api_server_url,
            ca_pem=(lab.layout.pki / "ca.crt").read_bytes(),
            admin_kubeconfig=lab.layout.kubeconfig(cluster.ADMIN),
            authorization=lab.profile.authorization,
            backend=self.name,
        )

    def release(self, handle: ClusterHandle) -> None:
        cluster.down(self.paths, handle.name)

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        lab = cluster.attach(self.paths, handle.name)
        by_oidc = [i for i in identities if i.authenticator is Authenticator.OIDC]
        issued = self._oidc_credentials(lab, handle, tuple(by_oidc)) if by_oidc else {}
        issued.update(self._certificate_credentials(lab, tuple(i for i in identities if i not in by_oidc)))
        return issued

    def _certificate_credentials(self, lab: LabCluster, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        if not identities:
            return {}
        if lab.profile.token_authentication:
            tokens = {i.user: secrets.token_urlsafe(24) for i in identities}
            tokens_file = lab.layout.directory / "tokens.csv"
            lines = [tokens_file.read_text()] if tokens_file.exists() else []
            lines += [f'{tokens[i.user]},{i.user},{i.user},"{",".join(i.groups)}"\n' for i in identities]
            tokens_file.write_text("".join(lines))
            lab.restart("kube-apiserver", self.timeouts.lab_ready)
            return {user: Credential(token=token) for user, token in tokens.items()}
        ca = pki.KeyPair((lab.layout.pki / "ca.crt").read_bytes(), (lab.layout.pki / "ca.key").read_bytes())
        issued = {}
        for identity in identities:
            pair = pki.issue(ca, identity.user, groups=identity.groups)
            issued[identity.user] = Credential(cert_pem=pair.cert_pem, key_pem=pair.key_pem)
        return issued

    def _oidc_credentials(
        self, lab: LabCluster, handle: ClusterHandle, identities: tuple[Identity, ...]
    ) -> dict[str, Credential]:
        """Each identity a random password in the issuer's users file, then its ID token by the password grant."""
        if not lab.profile.oidc:
            raise InfrastructureError(f"lab cluster {handle.name} ({lab.profile.name}) has no OIDC issuer")
        files = oidc.IssuerFiles.of(lab.layout)
        passwords = {i.login: oidc.new_secret() for i in identities}  # each registered for redaction
        oidc.add_users(files, (oidc.user_entry(i.login, passwords[i.login], i.claimed_groups) for i in identities))
        issuer = lab.issuer_client(timeout=self.timeouts.api_call)
        try:
            secret = oidc.client_secret(files)
            tokens = {
                i.user: password_grant(issuer, oidc.CLIENT_ID, secret, i.login, passwords[i.login]) for i in identities
            }
        finally:
            issuer.close()
        self._wait_token_accepted(handle, identities[0], tokens[identities[0].user])
        return {user: Credential(token=token) for user, token in tokens.items()}

    def _wait_token_accepted(self, handle: ClusterHandle, identity: Identity, token: str) -> None:
        """The API server initialises its JWT authenticator on its own time: wait until it takes a real token."""
        api = kube.api_client(kube.Cluster(handle.server, handle.ca_pem), token=token, timeout=self.timeouts.api_call)
        try:
            seen = wait_until(
                lambda: kube.who_am_i(api),
                lambda _answer: True,
                timeout=self.timeouts.lab_ready,
                what=f"the API server of {handle.name} to accept ID tokens of its OIDC issuer",
                retry_on=(kube.ApiFailure,),
            )
        finally:
            api.close()
        if seen.get("username") != identity.user or not set(identity.groups) <= set(seen.get("groups", [])):
            raise InfrastructureError(
                f"the API server of {handle.name} took {identity.user}'s ID token as "
                f"{seen.get('username')!r} in {seen.get('groups')!r} (check the JWT authenticator's claim mappings)"
            )

    def apply_abac_policy(self, handle: ClusterHandle, lines: list[dict[str, object]]) -> None:
        """Append policy lines and restart the API server, as an ABAC operator had to."""
        lab = cluster.attach(self.paths, handle.name)
        policy = lab.layout.directory / "abac-policy.jsonl"
        policy.write_text(policy.read_text() + configs.abac_policy(lines))
        lab.restart("kube-apiserver", self.timeouts.lab_ready)


def _taken(paths: LabPaths, name: str) -> str:
    """Why a run cannot create lab cluster `name`, and the fix that removes only what is meant."""
    state = cluster.read_state(paths.cluster_dir(name))
    owner = state.run_id if state is not None else ""
    running = sum(host.is_running(d.pid) for d in state.daemons) if state is not None else 0
    if not owner:
        return f'a lab cluster "{name}" started by `caas lab up` exists (fix: caas lab down {name})'
    if running:
        return (
            f'lab cluster "{name}" belongs to run {owner}, whose {running} daemons are running: another run '
            f"with the same CAAS_CLUSTER_PREFIX (fix: wait for run {owner}, or give this run another "
            f"CAAS_CLUSTER_PREFIX; `caas clean --run-id {owner}` removes that run's clusters)"
        )
    return f'lab cluster "{name}" is left from run {owner}, which is over (fix: caas clean --run-id {owner})'
