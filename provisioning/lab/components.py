"""The embedded lab's components, pinned in one place.

Go programs are built from the wrapper modules under `go/` (each pins its
upstream module in go.mod/go.sum); host packages come from Debian.
"""

from __future__ import annotations

from dataclasses import dataclass

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
KUBE_ROUTER_VERSION = "v2.1.0"
COREDNS_VERSION = "v1.14.7"
GOVMOMI_VERSION = "v0.52.0"

_VERSION_VARIABLES = {
    "gitVersion": KUBERNETES_VERSION,
    "gitMajor": "1",
    "gitMinor": "34",
    "gitTreeState": "clean",
    "gitCommit": "0000000000000000000000000000000000000000",
    "buildDate": "2026-01-01T00:00:00Z",
}


def _kubernetes_ldflags() -> tuple[str, ...]:
    flags: list[str] = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{name}={value}" for name, value in _VERSION_VARIABLES.items()]
    return tuple(flags)


@dataclass(frozen=True)
class GoProgram:
    """One static binary built from a wrapper module under provisioning/lab/go/."""

    name: str  # file name under <lab home>/bin
    module_dir: str  # directory under provisioning/lab/go
    package: str  # what `go build` builds, relative to the module
    version: str
    ldflags: tuple[str, ...] = ()


GO_PROGRAMS: tuple[GoProgram, ...] = (
    GoProgram("kube", "kube", ".", KUBERNETES_VERSION, _kubernetes_ldflags()),
    GoProgram("etcd", "etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION),
    GoProgram(
        "kube-router", "kube-router", "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router", KUBE_ROUTER_VERSION
    ),
    GoProgram("coredns", "coredns", ".", COREDNS_VERSION),
    GoProgram("hostpath-provisioner", "hostpath", ".", "v0.1.0"),
    GoProgram("pause", "images", "./cmd/pause", "v0.1.0"),
    GoProgram("caas-probe", "images", "./cmd/probe", "v0.1.0"),
    GoProgram("vcsim", "vcsim", ".", GOVMOMI_VERSION),  # vCenter simulator for the vSphere adapter's tests
    GoProgram("caas-oidc", "oidc", ".", "v0.1.0"),  # the OIDC issuer of clusters whose profile has `oidc`
)

# Debian packages the lab runs on: program to look for -> package that provides it.
HOST_PACKAGES: dict[str, str] = {
    "containerd": "containerd",
    "runc": "runc",
    "ctr": "containerd",
    "iptables": "iptables",
    "ipset": "ipset",
    "conntrack": "conntrack",
    "nsenter": "util-linux",
    "ip": "iproute2",
    "busybox": "busybox-static",
}
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
CNI_BIN_DIR = "/usr/lib/cni"
