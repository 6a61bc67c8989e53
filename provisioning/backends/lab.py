"""The `lab` backend: clusters of the embedded lab with a product profile.

A shared placement is one lab cluster; a dedicated placement is one lab cluster
per tenant with as many workers as its plan. Identities get client certificates
signed by the cluster's CA (CN = user, O = groups); on profiles with token
authentication (cfcr) they get static tokens, applied the way the product did:
by rewriting the token file and restarting the API server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from provisioning.backends.protocol import Capabilities, ClusterHandle, ClusterRequest, Credential
from provisioning.errors import ConfigError
from provisioning.lab import cluster, configs, pki
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import PROFILES
from provisioning.model.tenancy import Identity, Placement
from provisioning.settings import Timeouts


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
        )

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        placement = request.placement
        if self.paths.cluster_dir(placement.name).exists():
            raise ConfigError(
                "lab", placement.name, f'a lab cluster "{placement.name}" is left from another run (fix: caas clean)'
            )
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

    def apply_abac_policy(self, handle: ClusterHandle, lines: list[dict[str, object]]) -> None:
        """Append policy lines and restart the API server, as an ABAC operator had to."""
        lab = cluster.attach(self.paths, handle.name)
        policy = lab.layout.directory / "abac-policy.jsonl"
        policy.write_text(policy.read_text() + configs.abac_policy(lines))
        lab.restart("kube-apiserver", self.timeouts.lab_ready)
