"""What the bare-cluster parity tests share: the suite's images pushed into the lab registry, as a user
pushes them into theirs (`caas images push`), and a plan's `authorization` stated to the kubeconfig backend."""

from __future__ import annotations

from pathlib import Path

from provisioning.backends.kubeconfig import KubeconfigBackend
from provisioning.backends.kubeconfig_spec import KubeconfigSpec
from provisioning.backends.protocol import ClusterHandle, ClusterRequest
from provisioning.lab import registry
from provisioning.model.tenancy import AuthorizationMode, ClusterPlacement, Placement, Plan, Tenant
from tests.support import run_caas


def push_images(served: registry.LabRegistry) -> None:
    """`caas images push` into the lab registry with its login and CA; asserts it exits 0."""
    pushed = run_caas(
        *("images", "push", "--registry", registry.LOCATION),
        *("--authfile", str(served.login_file), "--ca-file", str(served.ca_file)),
        timeout=300,
    )
    assert pushed.returncode == 0, pushed.stdout[-2000:] + pushed.stderr[-2000:]


def images_section(served: registry.LabRegistry) -> dict[str, object]:
    """A targets file's `images` section for the lab registry: its location, its login as the pull
    secret's file, its CA."""
    return {
        "registry": registry.LOCATION,
        "pull_secret": {"file": str(served.login_file)},
        "ca_file": str(served.ca_file),
    }


def provision_stating(kubeconfig: Path, context: str | None, mode: AuthorizationMode) -> ClusterHandle:
    """The kubeconfig backend's provision of the shared cluster of `context`, for a plan stating `mode`
    (provisioning/backends/kubeconfig_authorization.py holds the statement against the cluster). Raises
    ConfigError when the cluster refutes it."""
    backend = KubeconfigBackend(
        spec=KubeconfigSpec(path=str(kubeconfig), context=context),
        base_dir=kubeconfig.parent,
        source="targets.yaml",
        where="products[0].kubeconfig",
        plan_indices={"stated": 0},
    )
    placement = ClusterPlacement("bare", "shared", Placement.SHARED, (Tenant("blue", "stated"),))
    return backend.provision(ClusterRequest(placement, Plan("stated", authorization=mode), "stating"))
