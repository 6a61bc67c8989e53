"""What the bundled broker does to clusters, behind a small protocol; `LabClusters` uses the embedded lab."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provisioning.lab import cluster, configs, pki
from provisioning.lab.cluster import LabPaths
from provisioning.model.tenancy import Plan


class ClusterMaker(Protocol):
    """Creates, deletes and hands out kubeconfigs of the broker's clusters."""

    def create(self, name: str, plan: Plan, run_id: str) -> None:
        """Create the cluster and return when it is Ready (raises on failure, leaving nothing)."""
        ...

    def delete(self, name: str) -> None:
        """Remove the cluster completely."""
        ...

    def kubeconfig(self, name: str, user: str | None, groups: tuple[str, ...]) -> str:
        """A kubeconfig for `user` (a client certificate with `groups`), or the admin's for None."""
        ...


@dataclass
class LabClusters:
    """ClusterMaker of the embedded lab with one product profile (e.g. `pks`)."""

    paths: LabPaths
    profile: str
    ready_timeout: float

    def create(self, name: str, plan: Plan, run_id: str) -> None:
        cluster.up(
            self.paths,
            name,
            self.profile,
            plan.workers,
            self.ready_timeout,
            authorization=plan.authorization,
            run_id=run_id,
        )

    def delete(self, name: str) -> None:
        cluster.down(self.paths, name)

    def kubeconfig(self, name: str, user: str | None, groups: tuple[str, ...]) -> str:
        lab = cluster.attach(self.paths, name)
        if user is None:
            return lab.layout.kubeconfig(cluster.ADMIN).read_text()
        ca_pem = (lab.layout.pki / "ca.crt").read_bytes()
        pair = pki.issue(pki.KeyPair(ca_pem, (lab.layout.pki / "ca.key").read_bytes()), user, groups=groups)
        return configs.kubeconfig(lab.layout.api_server_url, ca_pem, user, credential=pair)
