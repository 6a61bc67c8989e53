"""Provisioning faults on real lab clusters: a failure part-way rolls back everything done so far."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import CaasError, InfrastructureError
from harness.settings import Timeouts
from provisioning.backends.lab import LabBackend
from provisioning.backends.protocol import ClusterHandle, ClusterRequest, Credential
from provisioning.lab import cluster, host
from provisioning.lab.cluster import LabPaths
from provisioning.model.onboarding import PROTECTION
from provisioning.model.tenancy import Identity, Placement, Plan, Product, TenancyModel, Tenant
from provisioning.tenancy import Provisioner
from tests.lab.inventory import ANY_INDEX, cluster_prefix, leaked_since, suite_run_id

pytestmark = pytest.mark.lab

MODEL = TenancyModel(
    products=(Product("pks", "lab", (Plan("small"),)),),
    tenants={"pks": (Tenant("blue", "small"), Tenant("green", "small"), Tenant("red", "small", Placement.DEDICATED))},
)


class CredentialsFail(LabBackend):
    """The real lab backend, except that minting credentials fails on the second cluster."""

    calls = 0

    def credentials(self, handle: ClusterHandle, identities: tuple[Identity, ...]) -> dict[str, Credential]:
        type(self).calls += 1
        if type(self).calls == 2:
            raise InfrastructureError("injected: credential service unavailable")
        return super().credentials(handle, identities)


class WithoutRights(LabBackend):
    """The real lab backend, but hands onboarding a kubeconfig that may not create namespaces."""

    def provision(self, request: ClusterRequest) -> ClusterHandle:
        handle = super().provision(request)
        weak = Path(str(handle.admin_kubeconfig).replace("admin.kubeconfig", "kube-proxy.kubeconfig"))
        return dataclasses.replace(handle, admin_kubeconfig=weak)


def _backend(kind: type[LabBackend], paths: LabPaths) -> LabBackend:
    return kind(paths=paths, profile="pks", shared_workers=1, timeouts=Timeouts())


def test_a_failure_after_the_first_cluster_removes_every_cluster(lab_paths: LabPaths) -> None:
    before = host.inventory(lab_paths.home)
    provisioner = Provisioner(
        _backend(CredentialsFail, lab_paths), suite_run_id("fault-a"), cluster_prefix=cluster_prefix()
    )
    with pytest.raises(InfrastructureError, match="injected"):
        provisioner.provision(MODEL, "pks")
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == suite_run_id("fault-a")]
    leaked = leaked_since(lab_paths, before, ANY_INDEX)
    assert leaked.empty, leaked


def test_onboarding_without_rights_is_one_clear_error_and_rolls_back(lab_paths: LabPaths) -> None:
    before = host.inventory(lab_paths.home)
    provisioner = Provisioner(
        _backend(WithoutRights, lab_paths), suite_run_id("fault-b"), cluster_prefix=cluster_prefix()
    )
    with pytest.raises(CaasError) as failure:
        provisioner.provision(MODEL, "pks")
    message = str(failure.value)
    assert len(message.splitlines()) == 1
    # the first thing onboarding creates on an RBAC cluster is the admission policy guarding its objects
    first = f"ValidatingAdmissionPolicy /{PROTECTION}-{suite_run_id('fault-b')}"
    assert f"onboarding needs more rights: creating {first} was refused (403" in message
    assert "fix: use admin credentials" in message
    assert not [s for s in cluster.list_clusters(lab_paths) if s.run_id == suite_run_id("fault-b")]
    assert leaked_since(lab_paths, before, ANY_INDEX).empty
