"""The files a lab cluster starts from: its PKI, kubeconfigs and the daemons' configuration files.

Everything is written once, before any daemon starts, into the cluster's directory (layout.py):
`pki/` (mode 0700; keys 0600) holds the cluster CA, the API server's serving and kubelet-client
certificates, the service-account key pair and, per worker, the kubelet's serving certificate;
`kubeconfigs/` (0700) one kubeconfig per component and the admin (CN caas-lab-admin, O system:masters).
The certificates and configuration texts come from pki.py and configs.py; this module only places them.
"""

from __future__ import annotations

from provisioning.lab import configs, oidc, pki, registry
from provisioning.lab.home import LabPaths
from provisioning.lab.layout import CLUSTER_DOMAIN, DNS_SERVICE_IP, KUBERNETES_SERVICE_IP, ClusterLayout
from provisioning.lab.profiles import LabProfile
from provisioning.model.tenancy import AuthorizationMode

ADMIN = "admin"  # the kubeconfig of the cluster's administrator: layout.kubeconfig(ADMIN)

API_SERVER_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    "localhost",
)


def client_identities(layout: ClusterLayout) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Kubeconfig file name -> (user, groups) of the cluster's client certificates (pure)."""
    users: dict[str, tuple[str, tuple[str, ...]]] = {
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
    return users


def write(paths: LabPaths, layout: ClusterLayout, profile: LabProfile) -> None:
    """Create the PKI, kubeconfigs and configuration files of a new cluster. Raises OSError (e.g. FileExistsError
    when `pki/` exists: a cluster directory is written once)."""
    cp = layout.control_plane
    layout.pki.mkdir(parents=True)
    layout.pki.chmod(0o700)
    layout.kubeconfigs.mkdir()
    layout.kubeconfigs.chmod(0o700)
    ca = pki.new_ca(f"caas-lab-{layout.name}")
    _save(layout, "ca", ca)
    _save(
        layout,
        "apiserver",
        pki.issue(
            ca,
            "kube-apiserver",
            dns_names=API_SERVER_NAMES,
            ip_addresses=(cp.ip, KUBERNETES_SERVICE_IP, "127.0.0.1"),
            server=True,
            client=False,
        ),
    )
    _save(
        layout, "apiserver-kubelet-client", pki.issue(ca, "kube-apiserver-kubelet-client", groups=("system:masters",))
    )
    sa = pki.service_account_keys()
    (layout.pki / "sa.pub").write_bytes(sa.cert_pem)
    (layout.pki / "sa.key").write_bytes(sa.key_pem)
    for node in layout.worker_nodes:
        _save(
            layout,
            f"kubelet-{node.name}",
            pki.issue(ca, node.name, dns_names=(node.name,), ip_addresses=(node.ip,), server=True, client=False),
        )
    for file_name, (user, groups) in client_identities(layout).items():
        pair = pki.issue(ca, user, groups=groups)
        layout.kubeconfig(file_name).write_text(
            configs.kubeconfig(layout.api_server_url, ca.cert_pem, user, credential=pair)
        )
    if profile.authorization is AuthorizationMode.ABAC:
        (layout.directory / "abac-policy.jsonl").write_text(configs.abac_policy(configs.system_abac_policy()))
    if profile.oidc:
        # The cluster's own OIDC issuer, trusted by the API server from the start (its users come at onboarding).
        _save(layout, "oidc", pki.issue(ca, oidc.PROGRAM, ip_addresses=(cp.ip,), server=True, client=False))
        oidc.create_files(oidc.IssuerFiles.of(layout))
        issuer = oidc.jwt_authenticator(oidc.issuer_url(layout), ca.cert_pem)
        (layout.directory / "authentication.yaml").write_text(configs.authentication_config([issuer]))
    if profile.token_authentication:
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
        (hosts / "hosts.toml").write_text(registry.containerd_hosts(registry.LabRegistry(paths.home).ca_file))
        node.path("cni", "net.d", "10-caas.conflist").write_text(configs.cni(node))
        node.path("kubelet.json").write_text(configs.kubelet(layout, node))
        node.path("kube-proxy.json").write_text(configs.kube_proxy(layout, node))
        node.path("resolv.conf").write_text(f"nameserver {DNS_SERVICE_IP}\n")


def _save(layout: ClusterLayout, name: str, pair: pki.KeyPair) -> None:
    (layout.pki / f"{name}.crt").write_bytes(pair.cert_pem)
    if pair.key_pem:
        key = layout.pki / f"{name}.key"
        key.write_bytes(pair.key_pem)
        key.chmod(0o600)
