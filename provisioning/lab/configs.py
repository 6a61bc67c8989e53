"""Configuration files of a lab cluster's components, rendered from its layout (pure)."""

from __future__ import annotations

import base64
import json

from provisioning.lab import images, sizing
from provisioning.lab.layout import CLUSTER_DOMAIN, DNS_SERVICE_IP, ClusterLayout, NodeLayout
from provisioning.lab.pki import KeyPair

PROVISIONER_NAME = "caas.local/hostpath"


def kubeconfig(
    server: str, ca_pem: bytes, user: str, *, credential: KeyPair | None = None, token: str | None = None
) -> str:
    """A kubeconfig with one cluster, one user (client certificate or token) and one context."""
    user_entry: dict[str, str] = {}
    if credential is not None:
        user_entry["client-certificate-data"] = base64.b64encode(credential.cert_pem).decode()
        user_entry["client-key-data"] = base64.b64encode(credential.key_pem).decode()
    if token is not None:
        user_entry["token"] = token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "lab",
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "users": [{"name": user, "user": user_entry}],
        "contexts": [{"name": user, "context": {"cluster": "lab", "user": user}}],
        "current-context": user,
    }
    return json.dumps(config, indent=1)


def containerd(node: NodeLayout) -> str:
    d = node.directory
    return f"""version = 2
root = "{d / "containerd" / "root"}"
state = "{d / "containerd" / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{node.containerd_socket}"
[ttrpc]
  address = "{node.containerd_socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d / "containerd" / "opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.PAUSE.reference}"
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This host withholds CAP_SYS_RESOURCE, so no process may lower its OOM score: clamp the kubelet's
  # requests (e.g. -998 for the pod sandbox) to containerd's own score instead of failing the pod.
  restrict_oom_score_adj = true
  # Block volumes' devices owned by the pod's runAsUser/runAsGroup, so a restricted (non-root) pod can read
  # and write its own Block claim (Kubernetes blog 2021-11-09 "Non-root containers and devices").
  device_ownership_from_security_context = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d / "containerd" / "runc"}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d / "cni" / "net.d"}"
  # registries' hosts.toml (the lab registry's, with its CA): containerd docs/hosts.md
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d / "certs.d"}"
"""


def cni(node: NodeLayout) -> str:
    """Bridge networking without masquerade: pod addresses stay visible to NetworkPolicy."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": f"caas-{node.name}",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": node.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(node.path("cni", "ipam")),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=1,
    )


def kubelet(cluster: ClusterLayout, node: NodeLayout) -> str:
    return json.dumps(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "authentication": {
                "x509": {"clientCAFile": str(cluster.pki / "ca.crt")},
                "webhook": {"enabled": True},
                "anonymous": {"enabled": False},
            },
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": node.cgroup_root,
            "cgroupsPerQOS": True,
            "enforceNodeAllocatable": ["pods"],
            "clusterDNS": [DNS_SERVICE_IP],
            "clusterDomain": CLUSTER_DOMAIN,
            "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
            "imageServiceEndpoint": f"unix://{node.containerd_socket}",
            "failSwapOn": False,
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {"nodefs.available": "1%", "imagefs.available": "1%", "memory.available": "100Mi"},
            "podLogsDir": str(node.path("pod-logs")),
            "resolvConf": str(node.path("resolv.conf")),
            "tlsCertFile": str(cluster.pki / f"kubelet-{node.name}.crt"),
            "tlsPrivateKeyFile": str(cluster.pki / f"kubelet-{node.name}.key"),
            "serializeImagePulls": False,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "readOnlyPort": 0,
            "port": 10250,
            "address": node.ip,
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
            "nodeStatusReportFrequency": "10s",
            "nodeStatusUpdateFrequency": "5s",
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "shutdownGracePeriod": "0s",
            "localStorageCapacityIsolation": True,
            "maxPods": sizing.MAX_PODS_PER_NODE,
            "podPidsLimit": 1024,
            "protectKernelDefaults": False,
            "makeIPTablesUtilChains": True,
        },
        indent=1,
    )


def kube_proxy(cluster: ClusterLayout, node: NodeLayout) -> str:
    return json.dumps(
        {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(cluster.kubeconfig("kube-proxy"))},
            "mode": "iptables",
            "clusterCIDR": cluster.cluster_cidr,
            "hostnameOverride": node.name,
            "bindAddress": node.ip,
            "healthzBindAddress": "127.0.0.1:10256",
            "metricsBindAddress": "127.0.0.1:10249",
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
            "iptables": {"syncPeriod": "10s", "minSyncPeriod": "0s"},
        },
        indent=1,
    )


def corefile(cluster: ClusterLayout) -> str:
    kubeconfig_path = cluster.kubeconfig("coredns")
    return f""".:53 {{
    bind {cluster.control_plane.ip}
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig_path}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
    loadbalance
}}
"""


def abac_policy(lines: list[dict[str, object]]) -> str:
    """An ABAC policy file: one JSON policy object per line."""
    return "".join(
        json.dumps(
            {"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": spec}, sort_keys=True
        )
        + "\n"
        for spec in lines
    )


def system_abac_policy() -> list[dict[str, object]]:
    """What the control plane's own identities may do under ABAC: everything, as CFCR granted them."""
    everything = {"namespace": "*", "resource": "*", "apiGroup": "*"}
    return [
        {"group": "system:masters", **everything, "nonResourcePath": "*"},
        {"group": "system:nodes", **everything, "nonResourcePath": "*"},
        {"group": "system:serviceaccounts:kube-system", **everything, "nonResourcePath": "*"},
        {"user": "system:kube-controller-manager", **everything, "nonResourcePath": "*"},
        {"user": "system:kube-scheduler", **everything, "nonResourcePath": "*"},
        {"user": "system:kube-proxy", **everything, "nonResourcePath": "*"},
        {"group": "system:authenticated", "nonResourcePath": "*", "readonly": True},
        {"group": "system:unauthenticated", "nonResourcePath": "/version", "readonly": True},
    ]


def authentication_config(jwt_issuers: list[dict[str, object]]) -> str:
    """A structured AuthenticationConfiguration (apiserver.config.k8s.io/v1) with these JWT issuers."""
    return json.dumps(
        {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration", "jwt": jwt_issuers},
        indent=1,
    )
