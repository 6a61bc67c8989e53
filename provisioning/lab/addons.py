"""The add-on objects of a lab cluster and its readiness pod (pure, but `create`).

CoreDNS and the hostpath provisioner run as daemons on the control plane (flags.py), not as pods:
the API objects here make them reachable the way a cluster's add-ons are: the kube-dns Service at
DNS_SERVICE_IP with an EndpointSlice to the control plane's CoreDNS, and the default StorageClass
`lab-hostpath` of the provisioner. Every object carries the label LAB_LABEL.
"""

from __future__ import annotations

from typing import Any

from provisioning.kube import client as kube
from provisioning.lab import configs, images
from provisioning.lab.layout import CLUSTER_DOMAIN, DNS_SERVICE_IP

LAB_LABEL = "caas-conformance.io/lab"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
STORAGE_CLASS = "lab-hostpath"
READINESS_NAMESPACE = "kube-system"


def addon_objects(dns_ip: str) -> list[tuple[str, dict[str, Any]]]:
    """(collection path to POST to, object) of each add-on object; `dns_ip` is CoreDNS's address."""
    labels = {LAB_LABEL: "addon"}
    service = {
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
    }
    endpoints = {
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
    }
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "labels": labels, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": configs.PROVISIONER_NAME,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    return [
        ("/api/v1/namespaces/kube-system/services", service),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", endpoints),
        ("/apis/storage.k8s.io/v1/storageclasses", storage_class),
    ]


def create(api: Any, dns_ip: str) -> None:
    """Create the add-on objects with the admin client `api`. Raises kube.ApiFailure."""
    for path, body in addon_objects(dns_ip):
        kube.request(api, "POST", path, body=body)


def readiness_pod(name: str) -> dict[str, Any]:
    """A pod that ends Succeeded once it resolved the API service's name through cluster DNS."""
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
