"""check_privileged_006's engine without a cluster: which tenants make a pair, where the owner's private
repository is, and how the observed starts end the check (fail, ERROR, pass)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from checks.matrix import Cell
from checks.privileged.private_images import (
    OTHER_POLICIES,
    PrivateImageObservation,
    comparison,
    heading,
    private_registry,
    shared_pairs,
)
from checks.verdicts import Inconclusive, require
from provisioning.backends.protocol import ClusterHandle
from provisioning.backends.services import PrivateRegistry
from provisioning.model import image_pulls
from provisioning.model.image_pulls import Observation, Start
from provisioning.model.tenancy import AuthorizationMode, Placement, Plan, Product, Tenant
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy

BLUE, GREEN, YELLOW = Tenant("blue", "small"), Tenant("green", "small"), Tenant("yellow", "small")
RED = Tenant("red", "large", Placement.DEDICATED)
WHERE = PrivateRegistry("10.0.0.1:5043/caas", {"auths": {}}, None, "the lab registry 10.0.0.1:5043")


def _handle(name: str) -> ClusterHandle:
    return ClusterHandle(name, "pks", "https://10.0.0.1:6443", b"", Path("/none"), AuthorizationMode.RBAC, "lab")


def _tenancy(*clusters: tuple[Tenant, ...]) -> ProvisionedTenancy:
    product = Product("pks", "lab", (Plan("small"), Plan("large")))
    provisioned = [ProvisionedCluster(_handle(f"c{i}"), tenants) for i, tenants in enumerate(clusters)]
    return ProvisionedTenancy(product, "run", provisioned)


def test_the_first_two_shared_tenants_of_each_cluster_make_a_pair() -> None:
    tenancy = _tenancy((BLUE, GREEN, YELLOW), (RED,))
    assert shared_pairs(tenancy) == [(BLUE, GREEN)]


def test_a_dedicated_cluster_or_a_lone_shared_tenant_makes_no_pair() -> None:
    assert shared_pairs(_tenancy((RED,), (BLUE,))) == []
    assert shared_pairs(_tenancy((RED,)), Placement.DEDICATED) == []


def test_each_run_gives_the_owner_its_own_repository() -> None:
    assert WHERE.repository("H1-Run", "blue") == "10.0.0.1:5043/caas/h1-run/blue-private"


def _observed(owner: Start, *others: Start) -> PrivateImageObservation:
    starts = dict(zip(OTHER_POLICIES, others, strict=True))
    return PrivateImageObservation(
        WHERE,
        "blue",
        "green",
        "10.0.0.1:5043/caas/run/blue-private@sha256:ab",
        Observation(owner, f"blue's pod: {owner.value}"),
        {p: Observation(s, f"green's pod ({p}): {s.value}") for p, s in starts.items()},
    )


def test_the_other_tenant_running_the_cached_image_fails_the_check() -> None:
    observed = _observed(Start.RAN, Start.RAN, Start.RAN)
    cells = observed.cells()
    assert cells[image_pulls.OWNER_RUNS][0] is Cell.ALLOWED
    assert cells[image_pulls.other_refused("Never")][0] is Cell.DENIED
    with pytest.raises(AssertionError, match="green's pod"):
        require(comparison([observed]))


def test_refused_pulls_or_admission_refusals_pass_the_check() -> None:
    require(comparison([_observed(Start.RAN, Start.PULL_REFUSED, Start.ADMISSION_REFUSED)]))


@pytest.mark.parametrize("owner", [Start.PULL_REFUSED, Start.FAILED])
def test_an_owner_whose_pod_did_not_run_is_error_never_a_verdict(owner: Start) -> None:
    with pytest.raises(Inconclusive):
        require(comparison([_observed(owner, Start.RAN, Start.RAN)]))


def test_another_tenant_pod_that_failed_otherwise_is_error() -> None:
    with pytest.raises(Inconclusive):
        require(comparison([_observed(Start.RAN, Start.PULL_REFUSED, Start.FAILED)]))


def test_the_heading_says_where_the_expectation_comes_from() -> None:
    assert "AlwaysPullImages is not among" in heading(WHERE, False)
    assert "not observable through the API" in heading(WHERE, None)
    assert "MTB-PL1-CC-DI-1" in heading(WHERE, True)


def test_no_private_registry_where_the_model_says_the_product_has_none() -> None:
    """private_registry asks provisioning.model.needs.serves_private_registry (the plugin's
    @needs_private_registry): a registry without a pull secret, or no images section off the lab, is none."""
    tenancy = _tenancy((BLUE, GREEN))
    for images, backend in (
        (SimpleNamespace(registry="r.example/caas", pull_secret=None), "lab"),
        (None, "kubeconfig"),
    ):
        spec = SimpleNamespace(name="pks", backend=backend, images=images)
        targets = SimpleNamespace(product_spec=lambda _name, spec=spec: spec, source=Path("/none/targets.yaml"))
        settings = SimpleNamespace(targets=targets, lab_home=Path("/none"))
        assert private_registry(tenancy, settings) is None  # type: ignore[arg-type]
