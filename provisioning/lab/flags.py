"""The command lines of a lab cluster's daemons (pure): each builder returns the argv of one daemon.

`bin_dir` is the directory of the lab's binaries (`kube` is the upstream all-in-one binary whose
first argument names the component). The flags are upstream's (kubernetes.io/docs/reference/
command-line-tools-reference); the choices a product makes come from its LabProfile. The OIDC
issuer's command line is oidc.issuer_argv.
"""

from __future__ import annotations

from pathlib import Path

from provisioning.lab import configs
from provisioning.lab.layout import CLUSTER_DOMAIN, SERVICE_CIDR, ClusterLayout, NodeLayout
from provisioning.lab.profiles import LabProfile
from provisioning.model.tenancy import AuthorizationMode

ETCD_CLIENT_URL = "http://127.0.0.1:2379"  # etcd listens on the control plane's loopback only
API_SERVER_PORT = 6443
NODE_PORT_RANGE = "30000-32767"  # upstream's default, written out


def _kube(bin_dir: Path, component: str, *flags: str) -> list[str]:
    return [str(bin_dir / "kube"), component, *flags]


def etcd(bin_dir: Path, node: NodeLayout) -> list[str]:
    """etcd for one control plane: a single member on loopback, its data under the node's `etcd/`. No fsync
    and a 2 GiB quota: the lab's clusters are disposable."""
    return [
        str(bin_dir / "etcd"),
        "--name",
        "etcd",
        "--data-dir",
        str(node.path("etcd")),
        "--listen-client-urls",
        ETCD_CLIENT_URL,
        "--advertise-client-urls",
        ETCD_CLIENT_URL,
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
    ]


def authorization(layout: ClusterLayout, profile: LabProfile) -> list[str]:
    """The API server's authorization flags: ABAC with the cluster's policy file, else Node,RBAC."""
    if profile.authorization is AuthorizationMode.ABAC:
        return ["--authorization-mode=ABAC", f"--authorization-policy-file={layout.directory / 'abac-policy.jsonl'}"]
    return ["--authorization-mode=Node,RBAC"]


def authentication(layout: ClusterLayout, profile: LabProfile) -> list[str]:
    """The API server's authentication flags beyond client certificates: the static token file
    (`token_authentication`) and the structured authentication file naming the cluster's OIDC issuer
    (`oidc`; the API server reloads it when it changes)."""
    flags = [f"--token-auth-file={layout.directory / 'tokens.csv'}"] if profile.token_authentication else []
    if profile.oidc:
        flags.append(f"--authentication-config={layout.directory / 'authentication.yaml'}")
    return flags


def kube_apiserver(bin_dir: Path, layout: ClusterLayout, profile: LabProfile) -> list[str]:
    """kube-apiserver on the control plane's address, port 6443, with the cluster's PKI, the profile's
    admission plugins, privileged-container switch, authorization and authentication."""
    cp, pki_dir = layout.control_plane, layout.pki
    return _kube(
        bin_dir,
        "kube-apiserver",
        f"--etcd-servers={ETCD_CLIENT_URL}",
        "--bind-address=0.0.0.0",
        f"--secure-port={API_SERVER_PORT}",
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
        f"--service-node-port-range={NODE_PORT_RANGE}",
        "--v=1",
        *authorization(layout, profile),
        *authentication(layout, profile),
    )


def kube_controller_manager(bin_dir: Path, layout: ClusterLayout) -> list[str]:
    """kube-controller-manager without node IPAM (the lab gives each node its pod network) and with the
    cluster CA as the signer of certificate signing requests."""
    kubeconfig, pki_dir = layout.kubeconfig("kube-controller-manager"), layout.pki
    return _kube(
        bin_dir,
        "kube-controller-manager",
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
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
    )


def kube_scheduler(bin_dir: Path, layout: ClusterLayout) -> list[str]:
    """The kube-scheduler's argv: its own kubeconfig for authentication and authorization too, bound to
    127.0.0.1, no leader election (one scheduler per lab cluster)."""
    kubeconfig = layout.kubeconfig("kube-scheduler")
    return _kube(
        bin_dir,
        "kube-scheduler",
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--v=1",
    )


def containerd(node: NodeLayout) -> list[str]:
    """The host's containerd (from PATH) with the node's own configuration file (configs.containerd)."""
    return ["containerd", "--config", str(node.path("containerd.toml"))]


def kubelet(bin_dir: Path, layout: ClusterLayout, node: NodeLayout) -> list[str]:
    """The kubelet of worker `node`, labelled with the cluster's name (caas-conformance.io/lab=NAME)."""
    return _kube(
        bin_dir,
        "kubelet",
        f"--config={node.path('kubelet.json')}",
        f"--kubeconfig={layout.kubeconfig('kubelet-' + node.name)}",
        f"--root-dir={node.path('kubelet')}",
        f"--hostname-override={node.name}",
        f"--node-ip={node.ip}",
        f"--node-labels=caas-conformance.io/lab={layout.name}",
        "--v=1",
    )


def kube_proxy(bin_dir: Path, node: NodeLayout) -> list[str]:
    """kube-proxy's argv on `node`: its KubeProxyConfiguration file (kube-proxy.json) and verbosity 1."""
    return _kube(bin_dir, "kube-proxy", f"--config={node.path('kube-proxy.json')}", "--v=1")


def kube_router(bin_dir: Path, layout: ClusterLayout, node: NodeLayout) -> list[str]:
    """kube-router as a NetworkPolicy firewall only: no routing, no service proxy, no health or metrics port."""
    return [
        str(bin_dir / "kube-router"),
        f"--kubeconfig={layout.kubeconfig('kube-router')}",
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
    ]


def coredns(bin_dir: Path, node: NodeLayout) -> list[str]:
    """CoreDNS on the control plane with the cluster's Corefile (configs.corefile)."""
    return [str(bin_dir / "coredns"), "-conf", str(node.path("Corefile"))]


def hostpath_provisioner(bin_dir: Path, layout: ClusterLayout) -> list[str]:
    """The lab's volume provisioner: volumes of provisioner configs.PROVISIONER_NAME under the cluster's `volumes/`."""
    return [
        str(bin_dir / "hostpath-provisioner"),
        f"--kubeconfig={layout.kubeconfig('provisioner')}",
        f"--root={layout.volumes}",
        f"--name={configs.PROVISIONER_NAME}",
    ]
