"""Bring lab clusters up and down: real upstream Kubernetes in node-host network namespaces.

State is kept on disk (`state.json` per cluster) from the first step on, so
`down` works after a crash. `up` returns only when the nodes are Ready, a pod
runs, has an address and resolves a name through cluster DNS, and the default
StorageClass exists; if anything fails, everything started so far is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioning.backends.http import HttpClient, HttpFailure
from provisioning.errors import ConfigError, InfrastructureError
from provisioning.kube import client as kube
from provisioning.lab import configs, host, images, oidc, pki, registry
from provisioning.lab.layout import (
    BRIDGE,
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    KUBERNETES_SERVICE_IP,
    LAB_NETWORK,
    MAX_CLUSTERS,
    MAX_WORKERS,
    SERVICE_CIDR,
    ClusterLayout,
    NodeLayout,
)
from provisioning.lab.profiles import PROFILES, LabProfile
from provisioning.model.tenancy import AuthorizationMode
from provisioning.names import InvalidName, check_cluster_name, owned_by
from provisioning.wait import wait_until

Report = Callable[[str], None]
ADMIN = "admin"
LAB_LABEL = "caas-conformance.io/lab"


class ComponentDied(InfrastructureError):
    """A lab daemon exited while the cluster was starting; carries its log tail."""


@dataclass(frozen=True)
class LabPaths:
    """Where the lab keeps binaries, images and clusters. There is one lab per machine: cluster names,
    addresses and the bridge are host-wide, so every LabPaths of a machine must share `home`."""

    home: Path
    bin_override: Path | None = None  # other binaries for the same lab (tests inject faults this way)

    @property
    def bin(self) -> Path:
        return self.bin_override or self.home / "bin"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def clusters(self) -> Path:
        return self.home / "clusters"

    def cluster_dir(self, name: str) -> Path:
        """The directory of cluster `name`: always a direct child of `clusters`, as `name` must be a
        lab cluster name (provisioning.names); raises ConfigError otherwise (e.g. "", "..", "a/b")."""
        return self.clusters / checked_name(name)


def checked_name(name: str, source: str = "lab cluster") -> str:
    """`name` if the lab could have created a cluster of that name; else ConfigError naming `source`.
    The last line of defence of every function here that derives a path, a network namespace or a
    cgroup from a name; the commands check earlier, with their own option's name."""
    try:
        return check_cluster_name(name)
    except InvalidName as exc:
        raise ConfigError(source, "", str(exc)) from None


def read_state(directory: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((directory / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return state


def _write_state(layout: ClusterLayout, state: dict[str, Any]) -> None:
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(layout.state_file)


def cluster_names(paths: LabPaths, prefix: str = "") -> list[str]:
    """The clusters of the lab, by directory (also one whose state file a crash never wrote), sorted:
    only directories whose name the lab could have given and that start with `prefix` ("" = all).
    Anything else under `clusters/` (a symlink, a file, `Foo`) is not the lab's and is never listed."""
    if not paths.clusters.is_dir():
        return []
    return sorted(
        entry.name
        for entry in paths.clusters.iterdir()
        if _is_cluster_name(entry.name) and owned_by(entry.name, prefix) and entry.is_dir() and not entry.is_symlink()
    )


def _is_cluster_name(name: str) -> bool:
    try:
        check_cluster_name(name)
    except InvalidName:
        return False
    return True


def list_clusters(paths: LabPaths, prefix: str = "") -> list[dict[str, Any]]:
    """The state of every cluster of `cluster_names(paths, prefix)` that has one naming that cluster."""
    return [s for name in cluster_names(paths, prefix) if (s := read_state(paths.clusters / name)).get("name") == name]


def layout_of(paths: LabPaths, state: dict[str, Any]) -> ClusterLayout:
    return ClusterLayout(state["name"], int(state["index"]), int(state["workers"]), paths.cluster_dir(state["name"]))


@contextlib.contextmanager
def _allocation_lock(paths: LabPaths) -> Iterator[None]:
    with (paths.clusters / ".allocation.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_index(paths: LabPaths) -> int:
    """The lowest cluster index that no cluster of this lab home holds and whose host links
    (`caas<index>n<node>`, machine-wide) no other lab home's cluster uses."""
    used = {int(s["index"]) for s in list_clusters(paths)}
    for index in range(1, MAX_CLUSTERS + 1):
        links = (node.host_veth for node in ClusterLayout("x", index, MAX_WORKERS, paths.clusters).nodes)
        if index not in used and not any(host.link_exists(link) for link in links):
            return index
    raise InfrastructureError(f"the lab already runs {MAX_CLUSTERS} clusters (fix: caas lab down NAME)")


def validate_request(name: str, profile: str, workers: int) -> LabProfile:
    checked_name(name, "--name")
    if profile not in PROFILES:
        raise ConfigError("--profile", "", f'unknown profile "{profile}" (one of: {", ".join(PROFILES)})')
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError("--nodes", "", f"{workers} is out of range (1 to {MAX_WORKERS} worker nodes)")
    return PROFILES[profile]


class LabCluster:
    """One running (or starting) lab cluster and the daemons that make it."""

    def __init__(self, paths: LabPaths, layout: ClusterLayout, profile: LabProfile, report: Report) -> None:
        self.paths = paths
        self.layout = layout
        self.profile = profile
        self.report = report
        self.state: dict[str, Any] = {
            "name": layout.name,
            "index": layout.index,
            "workers": layout.workers,
            "profile": profile.name,
            "authorization": profile.authorization.value,
            "status": "starting",
            "daemons": [],
            "created": time.time(),
            "server": layout.api_server_url,
        }

    # -- daemons ---------------------------------------------------------------------------------
    def _start(self, node: NodeLayout, component: str, argv: list[str]) -> None:
        log = self.layout.log(component)
        daemon = host.start_daemon(node, component, argv, log)
        self.state["daemons"].append({"component": component, "pid": daemon.pid, "node": node.index, "argv": argv})
        _write_state(self.layout, self.state)

    def check_daemons(self) -> None:
        """Raise ComponentDied with the log tail of the first daemon that exited."""
        for daemon in self.state["daemons"]:
            if not host.is_running(daemon["pid"]):
                tail = log_tail(self.layout.log(daemon["component"]), 12)
                raise ComponentDied(f"{daemon['component']} of cluster {self.layout.name} exited:\n{tail}")

    def restart(self, component: str, timeout: float) -> None:
        """Restart one daemon with its recorded arguments (e.g. the API server after an ABAC change)."""
        entries = [d for d in self.state["daemons"] if d["component"] == component]
        if not entries:
            raise InfrastructureError(f"cluster {self.layout.name} has no {component}")
        entry = entries[0]
        host.kill_all([entry["pid"]])
        self.state["daemons"].remove(entry)
        self._start(self.layout.nodes[entry["node"]], component, entry["argv"])
        if component == "kube-apiserver":
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
        self._write_pki_and_configs()
        for node in self.layout.nodes:
            host.create_node_host(node)
        self._routes()
        self.report(f"{self.layout.name}: starting control plane and nodes")
        self._start_api_server()
        for node in self.layout.worker_nodes:
            self._start(node, "containerd-" + node.name, ["containerd", "--config", str(node.path("containerd.toml"))])
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
        self.state["status"] = "ready"
        self.state["ready_seconds"] = round(time.monotonic() - started, 2)
        _write_state(self.layout, self.state)

    def _write_pki_and_configs(self) -> None:
        layout, cp = self.layout, self.layout.control_plane
        layout.pki.mkdir(parents=True)
        layout.pki.chmod(0o700)
        layout.kubeconfigs.mkdir()
        layout.kubeconfigs.chmod(0o700)
        ca = pki.new_ca(f"caas-lab-{layout.name}")
        self._save("ca", ca)
        sans = (
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
            "localhost",
        )
        self._save(
            "apiserver",
            pki.issue(
                ca,
                "kube-apiserver",
                dns_names=sans,
                ip_addresses=(cp.ip, KUBERNETES_SERVICE_IP, "127.0.0.1"),
                server=True,
                client=False,
            ),
        )
        self._save(
            "apiserver-kubelet-client", pki.issue(ca, "kube-apiserver-kubelet-client", groups=("system:masters",))
        )
        sa = pki.service_account_keys()
        (layout.pki / "sa.pub").write_bytes(sa.cert_pem)
        (layout.pki / "sa.key").write_bytes(sa.key_pem)
        users = {
            ADMIN: ("caas-lab-admin", ("system:masters",)),
            "kube-controller-manager": ("system:kube-controller-manager", ()),
            "kube-scheduler": ("system:kube-scheduler", ()),
            "kube-proxy": ("system:kube-proxy", ()),
            "kube-router": ("caas-lab:kube-router", ("system:masters",)),
            "coredns": ("caas-lab:coredns", ("system:masters",)),
            "provisioner": ("caas-lab:provisioner", ("system:masters",)),
        }
        for node in layout.worker_nodes:
            users[f"kubelet-{node.name}"] = (f"system:node:{node.name}", ("system:nodes",))
            self._save(
                f"kubelet-{node.name}",
                pki.issue(ca, node.name, dns_names=(node.name,), ip_addresses=(node.ip,), server=True, client=False),
            )
        for file_name, (user, groups) in users.items():
            pair = pki.issue(ca, user, groups=groups)
            layout.kubeconfig(file_name).write_text(
                configs.kubeconfig(layout.api_server_url, ca.cert_pem, user, credential=pair)
            )
        if self.profile.authorization is AuthorizationMode.ABAC:
            (layout.directory / "abac-policy.jsonl").write_text(configs.abac_policy(configs.system_abac_policy()))
        if self.profile.oidc:
            # The cluster's own OIDC issuer, trusted by the API server from the start (its users come at onboarding).
            self._save("oidc", pki.issue(ca, oidc.PROGRAM, ip_addresses=(cp.ip,), server=True, client=False))
            oidc.create_files(oidc.IssuerFiles.of(layout))
            issuer = oidc.jwt_authenticator(oidc.issuer_url(layout), ca.cert_pem)
            (layout.directory / "authentication.yaml").write_text(configs.authentication_config([issuer]))
        if self.profile.token_authentication:
            (layout.directory / "tokens.csv").write_text("")
            (layout.directory / "tokens.csv").chmod(0o600)
        cp.path("coredns").mkdir(parents=True)
        (cp.path("Corefile")).write_text(configs.corefile(layout))
        for node in layout.worker_nodes:
            for sub in ("run", "cni/net.d", "cni/ipam", "containerd", "kubelet", "pod-logs"):
                node.path(sub).mkdir(parents=True, exist_ok=True)
            node.path("containerd.toml").write_text(configs.containerd(node))
            hosts = node.path("certs.d", registry.HOST)
            hosts.mkdir(parents=True, exist_ok=True)
            (hosts / "hosts.toml").write_text(registry.containerd_hosts(registry.LabRegistry(self.paths.home).ca_file))
            node.path("cni", "net.d", "10-caas.conflist").write_text(configs.cni(node))
            node.path("kubelet.json").write_text(configs.kubelet(layout, node))
            node.path("kube-proxy.json").write_text(configs.kube_proxy(layout, node))
            node.path("resolv.conf").write_text(f"nameserver {DNS_SERVICE_IP}\n")

    def _save(self, name: str, pair: pki.KeyPair) -> None:
        (self.layout.pki / f"{name}.crt").write_bytes(pair.cert_pem)
        if pair.key_pem:
            key = self.layout.pki / f"{name}.key"
            key.write_bytes(pair.key_pem)
            key.chmod(0o600)

    def _routes(self) -> None:
        for node in self.layout.nodes:
            for other in self.layout.worker_nodes:
                if other != node:
                    host.add_route(node, other.pod_cidr, other.ip)
        for node in self.layout.worker_nodes:
            # Traffic that leaves the cluster's pod network is masqueraded to the node, as flannel does.
            host.iptables_in(
                node,
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-s",
                self.layout.cluster_cidr,
                "!",
                "-d",
                self.layout.cluster_cidr,
                "-m",
                "comment",
                "--comment",
                "caas-lab masquerade",
                "-j",
                "MASQUERADE",
            )
            if self.profile.isolate_cluster_networks:
                own = f"{self.layout.control_plane.ip.rsplit('.', 1)[0]}.0/24"
                # In mangle, ahead of the filter chains that kube-proxy and kube-router own and accept in.
                edge = ("-t", "mangle")
                host.iptables_in(node, *edge, "-N", "CAAS-EDGE")
                # Replies to connections from outside (e.g. to a node port) may leave; pods may not open any.
                conntrack = ("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED")
                host.iptables_in(node, *edge, "-A", "CAAS-EDGE", *conntrack, "-j", "RETURN")
                host.iptables_in(node, *edge, "-A", "CAAS-EDGE", "-d", own, "-j", "RETURN")
                host.iptables_in(node, *edge, "-A", "CAAS-EDGE", "-d", LAB_NETWORK, "-j", "DROP")
                host.iptables_in(node, *edge, "-A", "FORWARD", "-s", self.layout.cluster_cidr, "-j", "CAAS-EDGE")

    def _kube(self, component: str, *flags: str) -> list[str]:
        return [str(self.paths.bin / "kube"), component, *flags]

    def _start_api_server(self) -> None:
        layout, cp, pki_dir = self.layout, self.layout.control_plane, self.layout.pki
        self._start(
            cp,
            "etcd",
            [
                str(self.paths.bin / "etcd"),
                "--name",
                "etcd",
                "--data-dir",
                str(cp.path("etcd")),
                "--listen-client-urls",
                "http://127.0.0.1:2379",
                "--advertise-client-urls",
                "http://127.0.0.1:2379",
                "--listen-peer-urls",
                "http://127.0.0.1:2380",
                "--initial-advertise-peer-urls",
                "http://127.0.0.1:2380",
                "--initial-cluster",
                "etcd=http://127.0.0.1:2380",
                "--listen-metrics-urls",
                "http://127.0.0.1:2381",
                "--log-level",
                "warn",
                "--quota-backend-bytes",
                str(2 * 1024**3),
                "--snapshot-count",
                "10000",
                "--unsafe-no-fsync",
            ],
        )
        profile = self.profile
        if profile.authorization is AuthorizationMode.ABAC:
            authz = [
                "--authorization-mode=ABAC",
                f"--authorization-policy-file={layout.directory / 'abac-policy.jsonl'}",
            ]
        else:
            authz = ["--authorization-mode=Node,RBAC"]
        authn = [f"--token-auth-file={layout.directory / 'tokens.csv'}"] if profile.token_authentication else []
        if profile.oidc:
            # The structured authentication file names the cluster's OIDC issuer (a JWT authenticator); the
            # API server reloads it when it changes. The issuer starts first, so the API server finds it.
            self._start(cp, "oidc-issuer", oidc.issuer_argv(self.paths.bin / oidc.PROGRAM, layout))
            authn.append(f"--authentication-config={layout.directory / 'authentication.yaml'}")
        self._start(
            cp,
            "kube-apiserver",
            self._kube(
                "kube-apiserver",
                "--etcd-servers=http://127.0.0.1:2379",
                "--bind-address=0.0.0.0",
                "--secure-port=6443",
                f"--advertise-address={cp.ip}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--client-ca-file={pki_dir / 'ca.crt'}",
                f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
                f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
                f"--kubelet-client-certificate={pki_dir / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki_dir / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={pki_dir / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-account-key-file={pki_dir / 'sa.pub'}",
                f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
                f"--allow-privileged={'true' if profile.allow_privileged else 'false'}",
                f"--enable-admission-plugins={','.join(profile.admission_plugins)}",
                "--profiling=false",
                "--service-node-port-range=30000-32767",
                "--v=1",
                *authz,
                *authn,
            ),
        )

    def _start_controllers(self) -> None:
        layout, cp, pki_dir = self.layout, self.layout.control_plane, self.layout.pki
        self._start(
            cp,
            "kube-controller-manager",
            self._kube(
                "kube-controller-manager",
                f"--kubeconfig={layout.kubeconfig('kube-controller-manager')}",
                f"--authentication-kubeconfig={layout.kubeconfig('kube-controller-manager')}",
                f"--authorization-kubeconfig={layout.kubeconfig('kube-controller-manager')}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki_dir / 'sa.key'}",
                f"--root-ca-file={pki_dir / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki_dir / 'ca.crt'}",
                f"--cluster-signing-key-file={pki_dir / 'ca.key'}",
                f"--cluster-cidr={layout.cluster_cidr}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle",
                "--node-monitor-grace-period=20s",
                "--v=1",
            ),
        )
        self._start(
            cp,
            "kube-scheduler",
            self._kube(
                "kube-scheduler",
                f"--kubeconfig={layout.kubeconfig('kube-scheduler')}",
                f"--authentication-kubeconfig={layout.kubeconfig('kube-scheduler')}",
                f"--authorization-kubeconfig={layout.kubeconfig('kube-scheduler')}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--v=1",
            ),
        )

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
        for image in images.SYSTEM_IMAGES if self.state.get("bare") else images.LAB_IMAGES:
            if not (self.paths.images / image.archive_name).exists():  # an image added since `caas lab build`
                images.build_image(image, self.paths.bin, self.paths.images)
            host.run(
                [
                    "ctr",
                    "--address",
                    str(node.containerd_socket),
                    "-n",
                    "k8s.io",
                    "images",
                    "import",
                    "--no-unpack=false",
                    str(self.paths.images / image.archive_name),
                ],
                timeout=120,
            )

    def _start_node_daemons(self, node: NodeLayout) -> None:
        layout = self.layout
        host.create_cgroup(node.cgroup_root.lstrip("/"))
        self._start(
            node,
            "kubelet-" + node.name,
            self._kube(
                "kubelet",
                f"--config={node.path('kubelet.json')}",
                f"--kubeconfig={layout.kubeconfig('kubelet-' + node.name)}",
                f"--root-dir={node.path('kubelet')}",
                f"--hostname-override={node.name}",
                f"--node-ip={node.ip}",
                f"--node-labels=caas-conformance.io/lab={layout.name}",
                "--v=1",
            ),
        )
        self._start(
            node,
            "kube-proxy-" + node.name,
            self._kube("kube-proxy", f"--config={node.path('kube-proxy.json')}", "--v=1"),
        )

    def _start_network_policy_controller(self, node: NodeLayout, timeout: float) -> None:
        """kube-router as a NetworkPolicy firewall only (no routing, no service proxy); it needs
        its Node object, so it starts once the node has registered."""
        self._start(
            node,
            "kube-router-" + node.name,
            [
                str(self.paths.bin / "kube-router"),
                f"--kubeconfig={self.layout.kubeconfig('kube-router')}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--hostname-override={node.name}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--health-port=0",
                "--metrics-port=0",
                "--enable-ipv6=false",
                "--iptables-sync-period=1m",
                "--v=1",
            ],
        )

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
        layout, cp = self.layout, self.layout.control_plane
        self._start(cp, "coredns", [str(self.paths.bin / "coredns"), "-conf", str(cp.path("Corefile"))])
        self._start(
            cp,
            "hostpath-provisioner",
            [
                str(self.paths.bin / "hostpath-provisioner"),
                f"--kubeconfig={layout.kubeconfig('provisioner')}",
                f"--root={layout.volumes}",
                f"--name={configs.PROVISIONER_NAME}",
            ],
        )
        api = self.admin_api()
        try:
            for obj in _addon_objects(cp.ip):
                kube.request(api, "POST", obj.pop("_path"), body=obj)
        finally:
            api.close()

    def admin_api(self, timeout: float = 15.0) -> Any:
        return kube.from_kubeconfig(self.layout.kubeconfig(ADMIN), timeout=timeout)

    def wait_api_ready(self, timeout: float) -> None:
        api = self.admin_api(timeout=5)
        try:

            def ready() -> Any:
                self.check_daemons()
                return kube.request(api, "GET", "/readyz", raw=True)

            wait_until(
                ready,
                lambda answer: answer.strip() == "ok",
                timeout=timeout,
                what=f"the API server of {self.layout.name} to be ready",
                retry_on=(kube.ApiFailure,),
            )
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

            def healthy() -> bytes:
                self.check_daemons()
                return issuer.request("GET", "/healthz").body

            wait_until(
                healthy,
                lambda body: body == b"ok",
                timeout=timeout,
                what=f"the OIDC issuer of {self.layout.name} to serve",
                retry_on=(HttpFailure,),
            )
        finally:
            issuer.close()

    def _wait_ready(self, timeout: float) -> None:
        api = self.admin_api(timeout=10)
        try:

            def nodes_ready() -> list[str]:
                self.check_daemons()
                nodes = kube.call(api, "CoreV1Api", "list_node").items
                return [
                    n.metadata.name
                    for n in nodes
                    if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
                ]

            expected = {n.name for n in self.layout.worker_nodes}
            wait_until(
                nodes_ready,
                lambda ready: set(ready) >= expected,
                timeout=timeout,
                what=f"nodes {sorted(expected)} to be Ready",
                retry_on=(kube.ApiFailure,),
            )
            if self.profile.enforce_network_policy:
                for node in self.layout.worker_nodes:
                    self._start_network_policy_controller(node, timeout)
            wait_until(
                lambda: kube.call(api, "CoreV1Api", "read_namespaced_service_account", "default", "default"),
                lambda _v: True,
                timeout=timeout,
                what="the default service account",
                retry_on=(kube.ApiFailure,),
            )
            attempts, deadline = itertools.count(1), time.monotonic() + timeout
            wait_until(
                lambda: self._readiness_round(api, next(attempts), max(1.0, deadline - time.monotonic())),
                lambda outcome: outcome.ready,
                timeout=timeout,
                what="a readiness pod to run and resolve kubernetes.default (a new pod per attempt)",
                retry_on=(kube.ApiFailure,),
            )
            classes = kube.call(api, "StorageV1Api", "list_storage_class").items
            if not any(
                (c.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
                for c in classes
            ):
                raise InfrastructureError(f"cluster {self.layout.name} has no default StorageClass")
        finally:
            api.close()

    def _readiness_round(self, api: Any, attempt: int, timeout: float) -> ReadinessRound:
        """Run one readiness pod to its end and remove it. A fresh cluster's DNS path (coredns serving, the
        proxy's rules for its service) may lag behind Ready nodes: the pod then fails, and the caller
        starts another."""
        name = f"lab-ready-{attempt}"
        kube.call(api, "CoreV1Api", "create_namespaced_pod", "kube-system", _readiness_pod(name))
        try:

            def pod_phase() -> ReadinessRound:
                self.check_daemons()
                pod = kube.call(api, "CoreV1Api", "read_namespaced_pod", name, "kube-system")
                return ReadinessRound(pod.status.phase or "", pod.status.pod_ip or "", "")

            outcome = wait_until(
                pod_phase,
                lambda r: r.phase in ("Succeeded", "Failed"),
                timeout=timeout,
                what=f"the readiness pod {name} to end",
                retry_on=(kube.ApiFailure,),
            )
            if outcome.ready:
                return outcome
            log = kube.call(api, "CoreV1Api", "read_namespaced_pod_log", name, "kube-system")
            return replace(outcome, log=str(log))
        finally:
            kube.delete_if_present(api, f"/api/v1/namespaces/kube-system/pods/{name}")


@dataclass(frozen=True)
class ReadinessRound:
    """One readiness pod's outcome: it ran (an address) and resolved the API service's name (Succeeded),
    or its phase and log say why not."""

    phase: str
    address: str
    log: str

    @property
    def ready(self) -> bool:
        return self.phase == "Succeeded" and bool(self.address)

    def __str__(self) -> str:
        return f"{self.phase or 'Pending'}: {self.log.strip()}" if self.log else self.phase or "Pending"


def _addon_objects(dns_ip: str) -> list[dict[str, Any]]:
    labels = {LAB_LABEL: "addon"}
    return [
        {
            "_path": "/api/v1/namespaces/kube-system/services",
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "labels": {**labels, "k8s-app": "kube-dns"}},
            "spec": {
                "clusterIP": DNS_SERVICE_IP,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                ],
            },
        },
        {
            "_path": "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kube-dns-lab",
                "labels": {
                    **labels,
                    "kubernetes.io/service-name": "kube-dns",
                    "endpointslice.kubernetes.io/managed-by": "caas-lab",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [dns_ip], "conditions": {"ready": True}}],
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            ],
        },
        {
            "_path": "/apis/storage.k8s.io/v1/storageclasses",
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "lab-hostpath",
                "labels": labels,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": configs.PROVISIONER_NAME,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
    ]


def _readiness_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {LAB_LABEL: "readiness"}},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "check",
                    "image": images.READINESS.reference,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", f"nslookup kubernetes.default.svc.{CLUSTER_DOMAIN} {DNS_SERVICE_IP}"],
                }
            ],
        },
    }


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
    with _allocation_lock(paths):  # clusters started side by side must not pick the same index
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
        layout = ClusterLayout(name, _free_index(paths), workers, paths.cluster_dir(name))
        cluster = LabCluster(paths, layout, profile, report)
        cluster.state["run_id"] = run_id
        cluster.state["bare"] = bare
        layout.directory.mkdir()
        _write_state(layout, cluster.state)
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
    if state.get("name") != name:
        raise ConfigError("NAME", "", f'no lab cluster "{name}" (see caas lab status)')
    profile = PROFILES[state["profile"]].with_authorization(AuthorizationMode(state["authorization"]))
    cluster = LabCluster(paths, layout_of(paths, state), profile, report)
    cluster.state = state
    return cluster


TEARDOWN_GRACE = 1.0  # seconds between SIGTERM and SIGKILL when a whole cluster is removed
TEARDOWN_REAP = 10.0  # seconds for init to reap the killed processes


@dataclass(frozen=True)
class Removal:
    """What `down` removed of one cluster, each item seen there before and gone after."""

    name: str
    processes: int  # killed (daemons, shims, containers)
    netns: tuple[str, ...]
    links: tuple[str, ...]  # host ends of the node hosts' veths
    cgroups: int  # cgroup directories (every hierarchy, every level)
    directory: Path | None  # the cluster's directory under the lab's `clusters/`
    bridge: bool = False  # the lab bridge, as nothing was attached to it any more

    @property
    def anything(self) -> bool:
        return bool(self.processes or self.netns or self.links or self.cgroups or self.directory or self.bridge)

    def __str__(self) -> str:
        parts = [f"{self.processes} processes"] if self.processes else []
        parts += [f"network namespaces {', '.join(self.netns)}"] if self.netns else []
        parts += [f"host links {', '.join(self.links)}"] if self.links else []
        parts += [f"{self.cgroups} cgroups"] if self.cgroups else []
        parts += [f"directory {self.directory}"] if self.directory else []
        parts += [f"the lab bridge {BRIDGE} (nothing attached any more)"] if self.bridge else []
        return "; ".join(parts) or "nothing"


def down(paths: LabPaths, name: str) -> Removal:
    """Remove a cluster completely: processes, containers, mounts, namespaces, cgroups, files.
    Works from whatever is on disk, also after a crash halfway through `up`, and touches only what
    carries the cluster's name: its directory (a direct child of the lab's `clusters/`, never a
    symlink), processes that name that directory or run in its cgroups, its network namespaces and
    cgroups. The lab bridge goes only when the lab has no cluster left and nothing is attached to it
    (another lab home's clusters, an outside client). Returns what was removed (nothing: no such
    cluster). Raises ConfigError for a name the lab could not have given."""
    directory = paths.cluster_dir(name)
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ConfigError("lab cluster", name, f"{directory} is not a directory the lab made (fix: remove it by hand)")
    state = read_state(directory)
    index = int(state.get("index", 0)) if state.get("name") == name else 0
    nodes = ClusterLayout(name, index, MAX_WORKERS, directory).nodes
    roots = {node.cgroup_root.lstrip("/") for node in nodes}
    killed: set[int] = set()
    for _attempt in range(3):
        pids = host.processes_of(directory, roots.__contains__)
        if not pids:
            break
        killed.update(pids)
        # The cluster and its state go: no graceful shutdown to wait for. etcd and kube-apiserver
        # take their full grace on SIGTERM while clients are still connected (measured: 10 s).
        host.kill_all(pids, timeout=TEARDOWN_GRACE)
    # Killed containers stay zombies until init reaps them (their shims died with them): wait for that,
    # so that nothing of the cluster is listed once `down` returns. A zombie holds nothing else.
    with contextlib.suppress(InfrastructureError):
        wait_until(
            lambda: host.processes_of(directory, roots.__contains__),
            lambda left: not left,
            timeout=TEARDOWN_REAP,
            what=f"the killed processes of cluster {name} to be reaped",
        )
    host.unmount_all(directory)
    netns = [node.netns for node in nodes if Path(node.netns_path).exists()]
    # a link is this cluster's only when its alias names the node's namespace: an index read from a
    # stale or copied state must not take another lab home's link
    owned = [node.host_veth for node in nodes if index and host.link_owner(node.host_veth) == node.netns]
    links = list(owned)
    for node in nodes:
        host.delete_netns(node.netns)
    for link in owned:
        host.delete_link(link)
    cgroups = host.lab_cgroups(roots.__contains__)
    host.remove_cgroups(roots.__contains__)
    existed = directory.is_dir()
    shutil.rmtree(directory, ignore_errors=True)
    removal = Removal(
        name,
        processes=len(killed),
        netns=tuple(n for n in netns if not Path("/run/netns", n).exists()),
        links=tuple(link for link in links if not Path("/sys/class/net", link).exists()),
        cgroups=sum(not c.exists() for c in cgroups),
        directory=directory if existed and not directory.exists() else None,
    )
    if removal.anything:
        return replace(removal, bridge=remove_bridge_if_no_cluster(paths))
    return removal


def remove_bridge_if_no_cluster(paths: LabPaths) -> bool:
    """Remove the lab bridge if the lab has no cluster at all (of any prefix) and nothing is attached to
    it; whether it was removed. Under the allocation lock: a cluster being started keeps it."""
    if not paths.clusters.is_dir():
        return host.remove_bridge_if_unused()
    with _allocation_lock(paths):
        return not cluster_names(paths) and host.remove_bridge_if_unused()
