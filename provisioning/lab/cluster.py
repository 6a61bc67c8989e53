"""Bring lab clusters up and down: real upstream Kubernetes in node-host network namespaces.

State is kept on disk (`state.json` per cluster, state.py) from the first step on, so `down` works
after a crash. `up` returns only when the nodes are Ready, a pod runs, has an address and resolves a
name through cluster DNS, and the default StorageClass exists; if anything fails, everything started
so far is removed. The jobs of a bring-up are modules of their own: the lab home and its clusters
(home.py), the cluster's files (cluster_files.py), host routes (routes.py), daemon command lines
(flags.py), add-on objects (addons.py), the waits (readiness.py) and teardown (teardown.py); this module
runs them in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, InfrastructureError
from harness.wait import wait_until
from provisioning.http import HttpClient
from provisioning.kube import client as kube
from provisioning.lab import addons, cluster_files, flags, host, images, oidc, readiness, routes
from provisioning.lab.addons import LAB_LABEL
from provisioning.lab.cluster_files import ADMIN
from provisioning.lab.home import (
    LabPaths,
    allocation_lock,
    checked_name,
    cluster_names,
    free_index,
    layout_of,
    list_clusters,
)
from provisioning.lab.layout import MAX_WORKERS, ClusterLayout, NodeLayout
from provisioning.lab.profiles import PROFILES, LabProfile
from provisioning.lab.readiness import ReadinessRound
from provisioning.lab.state import ClusterState, ClusterStatus, DaemonRecord, read_state, write_state
from provisioning.lab.teardown import Removal, down, remove_bridge_if_no_cluster
from provisioning.model.tenancy import AuthorizationMode

# Names other modules import from here (the lab's public face); they live in the modules named above.
__all__ = [
    "ADMIN",
    "LAB_LABEL",
    "ClusterLayout",
    "ClusterState",
    "ComponentDied",
    "LabCluster",
    "LabPaths",
    "ReadinessRound",
    "Removal",
    "attach",
    "checked_name",
    "cluster_names",
    "down",
    "layout_of",
    "list_clusters",
    "log_tail",
    "read_state",
    "remove_bridge_if_no_cluster",
    "up",
    "validate_request",
]

Report = Callable[[str], None]


class ComponentDied(InfrastructureError):
    """A lab daemon exited while the cluster was starting; carries its log tail."""


def validate_request(name: str, profile: str, workers: int) -> LabProfile:
    checked_name(name, "--name")
    if profile not in PROFILES:
        raise ConfigError("--profile", "", f'unknown profile "{profile}" (one of: {", ".join(PROFILES)})')
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError("--nodes", "", f"{workers} is out of range (1 to {MAX_WORKERS} worker nodes)")
    return PROFILES[profile]


class LabCluster:
    """One running (or starting) lab cluster and the daemons that make it. `state` is what is on disk:
    every change to it is written at once."""

    def __init__(
        self,
        paths: LabPaths,
        layout: ClusterLayout,
        profile: LabProfile,
        report: Report,
        state: ClusterState | None = None,
    ) -> None:
        self.paths = paths
        self.layout = layout
        self.profile = profile
        self.report = report
        self.state = state or ClusterState(
            name=layout.name,
            index=layout.index,
            workers=layout.workers,
            profile=profile.name,
            authorization=profile.authorization,
            server=layout.api_server_url,
            created=time.time(),
        )

    def _save_state(self, state: ClusterState) -> None:
        self.state = state
        write_state(self.layout.state_file, state)

    # -- daemons ---------------------------------------------------------------------------------
    def _start(self, node: NodeLayout, component: str, argv: list[str]) -> None:
        daemon = host.start_daemon(node, component, argv, self.layout.log(component))
        self._save_state(self.state.with_daemon(DaemonRecord(component, daemon.pid, node.index, tuple(argv))))

    def check_daemons(self) -> None:
        """Raise ComponentDied with the log tail of the first daemon that exited."""
        for daemon in self.state.daemons:
            if not host.is_running(daemon.pid):
                tail = log_tail(self.layout.log(daemon.component), 12)
                raise ComponentDied(f"{daemon.component} of cluster {self.layout.name} exited:\n{tail}")

    def restart(self, component: str, timeout: float) -> None:
        """Restart one daemon with its recorded arguments (e.g. the API server after an ABAC change)."""
        entry = self.state.daemon(component)
        if entry is None:
            raise InfrastructureError(f"cluster {self.layout.name} has no {component}")
        host.kill_all([entry.pid])
        self.state = self.state.without_daemon(entry)
        self._start(self.layout.nodes[entry.node], component, list(entry.argv))
        if component == "kube-apiserver":
            self.wait_api_ready(timeout)

    def switch_api_server(self, profile: LabProfile, timeout: float) -> None:
        """Restart the API server with `profile`'s flags and record the cluster as of that profile: how a
        ready cluster gets AlwaysPullImages (pks-always-pull), whose readiness pod names a preloaded image
        no registry serves."""
        entry = self.state.daemon("kube-apiserver")
        if entry is None:
            raise InfrastructureError(f"cluster {self.layout.name} has no kube-apiserver")
        host.kill_all([entry.pid])
        self.profile = profile.with_authorization(self.state.authorization)
        self.state = replace(self.state.without_daemon(entry), profile=profile.name)
        self._start(
            self.layout.control_plane, "kube-apiserver", flags.kube_apiserver(self.paths.bin, self.layout, self.profile)
        )
        self.wait_api_ready(timeout)

    # -- bring-up --------------------------------------------------------------------------------
    def up(self, timeout: float) -> None:
        started = time.monotonic()
        bin_dir = self.paths.bin
        programs: tuple[str, ...] = ("kube", "etcd", "coredns", "hostpath-provisioner", "kube-router")
        programs += (oidc.PROGRAM,) if self.profile.oidc else ()
        missing = [p for p in programs if not (bin_dir / p).exists()]
        if missing:
            raise InfrastructureError(f"lab binaries missing: {', '.join(missing)} (fix: caas lab build)")
        self.report(f"{self.layout.name}: certificates and node hosts")
        cluster_files.write(self.paths, self.layout, self.profile)
        for node in self.layout.nodes:
            host.create_node_host(node)
        routes.install(self.layout, self.profile)
        self.report(f"{self.layout.name}: starting control plane and nodes")
        self._start_api_server()
        for node in self.layout.worker_nodes:
            self._start(node, "containerd-" + node.name, flags.containerd(node))
        for node in self.layout.worker_nodes:
            self._import_images(node, timeout)
        self.wait_api_ready(timeout)
        if self.profile.oidc:
            self.wait_issuer_ready(timeout)
        self._start_controllers()
        for node in self.layout.worker_nodes:
            self._start_node_daemons(node)
        self._start_addons()
        self.report(f"{self.layout.name}: waiting for nodes, DNS, a pod and storage")
        self._wait_ready(timeout)
        ready_seconds = round(time.monotonic() - started, 2)
        self._save_state(replace(self.state, status=ClusterStatus.READY, ready_seconds=ready_seconds))

    def _start_api_server(self) -> None:
        bin_dir, layout, cp = self.paths.bin, self.layout, self.layout.control_plane
        self._start(cp, "etcd", flags.etcd(bin_dir, cp))
        if self.profile.oidc:
            # The structured authentication file names the cluster's OIDC issuer (a JWT authenticator); the
            # API server reloads it when it changes. The issuer starts first, so the API server finds it.
            self._start(cp, "oidc-issuer", oidc.issuer_argv(bin_dir / oidc.PROGRAM, layout))
        self._start(cp, "kube-apiserver", flags.kube_apiserver(bin_dir, layout, self.profile))

    def _start_controllers(self) -> None:
        bin_dir, layout, cp = self.paths.bin, self.layout, self.layout.control_plane
        self._start(cp, "kube-controller-manager", flags.kube_controller_manager(bin_dir, layout))
        self._start(cp, "kube-scheduler", flags.kube_scheduler(bin_dir, layout))

    def _import_images(self, node: NodeLayout, timeout: float) -> None:
        def listening() -> bool:
            self.check_daemons()
            return node.containerd_socket.exists()

        wait_until(
            listening,
            bool,
            timeout=timeout,
            what=f"containerd of {node.name} to listen",
            retry_on=(OSError,),
        )
        for image in images.SYSTEM_IMAGES if self.state.bare else images.LAB_IMAGES:
            if not (self.paths.images / image.archive_name).exists():  # an image added since `caas lab build`
                images.build_image(image, self.paths.bin, self.paths.images)
            importer = ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io", "images", "import"]
            host.run([*importer, "--no-unpack=false", str(self.paths.images / image.archive_name)], timeout=120)

    def _start_node_daemons(self, node: NodeLayout) -> None:
        host.create_cgroup(node.cgroup_root.lstrip("/"))
        self._start(node, "kubelet-" + node.name, flags.kubelet(self.paths.bin, self.layout, node))
        self._start(node, "kube-proxy-" + node.name, flags.kube_proxy(self.paths.bin, node))

    def _start_network_policy_controller(self, node: NodeLayout, timeout: float) -> None:
        """kube-router as a NetworkPolicy firewall only (no routing, no service proxy); it needs
        its Node object, so it starts once the node has registered."""
        self._start(node, "kube-router-" + node.name, flags.kube_router(self.paths.bin, self.layout, node))

        def chains() -> str:
            self.check_daemons()
            return host.run(["ip", "netns", "exec", node.netns, "iptables-save", "-t", "filter"])

        wait_until(
            chains,
            lambda rules: "KUBE-ROUTER-FORWARD" in rules,
            timeout=timeout,
            what=f"kube-router's firewall chains on {node.name}",
        )

    def _start_addons(self) -> None:
        bin_dir, layout, cp = self.paths.bin, self.layout, self.layout.control_plane
        self._start(cp, "coredns", flags.coredns(bin_dir, cp))
        self._start(cp, "hostpath-provisioner", flags.hostpath_provisioner(bin_dir, layout))
        api = self.admin_api()
        try:
            addons.create(api, cp.ip)
        finally:
            api.close()

    def admin_api(self, timeout: float = 15.0) -> Any:
        return kube.from_kubeconfig(self.layout.kubeconfig(ADMIN), timeout=timeout)

    def wait_api_ready(self, timeout: float) -> None:
        api = self.admin_api(timeout=5)
        try:
            readiness.wait_api_ready(api, self.check_daemons, timeout, self.layout.name)
        finally:
            api.close()

    def issuer_client(self, timeout: float = 5.0) -> HttpClient:
        """An HTTPS client for the cluster's OIDC issuer, verifying it against the cluster CA."""
        return HttpClient(
            oidc.issuer_url(self.layout),
            service=f"the OIDC issuer of {self.layout.name}",
            timeout=timeout,
            ca_file=str(self.layout.pki / "ca.crt"),
        )

    def wait_issuer_ready(self, timeout: float) -> None:
        issuer = self.issuer_client()
        try:
            readiness.wait_issuer_ready(issuer, self.check_daemons, timeout, self.layout.name)
        finally:
            issuer.close()

    def _wait_ready(self, timeout: float) -> None:
        api = self.admin_api(timeout=10)
        try:
            expected = {n.name for n in self.layout.worker_nodes}
            readiness.wait_nodes_ready(api, self.check_daemons, expected, timeout)
            if self.profile.enforce_network_policy:
                for node in self.layout.worker_nodes:
                    self._start_network_policy_controller(node, timeout)
            readiness.wait_default_service_account(api, timeout)
            readiness.wait_readiness_pod(api, self.check_daemons, timeout)
            readiness.check_default_storage_class(api, self.layout.name)
        finally:
            api.close()


def log_tail(path: Path, lines: int) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join("    " + line[:300] for line in content[-lines:])


def up(
    paths: LabPaths,
    name: str,
    profile_name: str,
    workers: int,
    timeout: float,
    report: Report = lambda _m: None,
    authorization: AuthorizationMode | None = None,
    keep_on_failure: bool = False,
    run_id: str = "",
    bare: bool = False,
) -> LabCluster:
    """Start a cluster; on any failure tear down what was started (unless kept for debugging) and re-raise.
    A `bare` cluster's nodes have only the system images (images.SYSTEM_IMAGES): a cluster the suite did
    not build, whose nodes pull the suite's images from a registry."""
    profile = validate_request(name, profile_name, workers)
    if authorization is not None:
        profile = profile.with_authorization(authorization)
    host.check_kernel()
    paths.clusters.mkdir(parents=True, exist_ok=True)
    with allocation_lock(paths):  # clusters started side by side must not pick the same index
        if paths.cluster_dir(name).exists():
            raise ConfigError("--name", "", f'a lab cluster "{name}" already exists (fix: caas lab down {name})')
        left = [n.netns for n in ClusterLayout(name, 0, MAX_WORKERS, paths.cluster_dir(name)).nodes]
        if left := [netns for netns in left if Path("/run/netns", netns).exists()]:
            raise ConfigError(
                "--name",
                "",
                f'network namespaces {", ".join(left)} of an earlier cluster "{name}" are left '
                f"(fix: caas lab down {name})",
            )
        layout = ClusterLayout(name, free_index(paths), workers, paths.cluster_dir(name))
        cluster = LabCluster(paths, layout, profile, report)
        cluster.state = replace(cluster.state, run_id=run_id, bare=bare)
        layout.directory.mkdir()
        write_state(layout.state_file, cluster.state)
        host.ensure_bridge()
    try:
        cluster.up(timeout)
    except BaseException:
        if not keep_on_failure:
            down(paths, name)
        raise
    return cluster


def attach(paths: LabPaths, name: str, report: Report = lambda _m: None) -> LabCluster:
    """The LabCluster object of a running cluster, from its state on disk. Raises ConfigError for a
    name the lab could not have given, or one of no cluster."""
    state = read_state(paths.cluster_dir(name))
    if state is None or state.name != name:
        raise ConfigError("NAME", "", f'no lab cluster "{name}" (see caas lab status)')
    profile = PROFILES[state.profile].with_authorization(state.authorization)
    return LabCluster(paths, layout_of(paths, state), profile, report, state)
