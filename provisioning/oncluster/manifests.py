"""The Namespace, Secret and Job that run the suite on one product in a management cluster (pure).

Every object carries the run id label (provisioning.model.onboarding.RUN_ID) and the component label
`on-cluster`, so `caas clean --run-id` and a delete by label find them. The Job runs once
(backoffLimit 0: a second try would provision the product's tenancy again), within a deadline
(activeDeadlineSeconds), as a non-root user that keeps the `restricted` Pod Security profile, with no
service account token (it talks to the product's clusters only, through the Secret's kubeconfig).
Its container runs ENTRY_MODULE (harness/oncluster/entry.py) with the launching suite's version in its
environment (version.ENV), which the entry compares with the image's own before it runs anything.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from provisioning.model.onboarding import COMPONENT, MANAGED_BY, RUN_ID, Manifest
from provisioning.model.pods import NONROOT_UID
from provisioning.oncluster.bundle import MOUNT
from provisioning.oncluster.version import ENV

COMPONENT_VALUE = "on-cluster"
PRODUCT_LABEL = "caas-conformance.io/product"
JOB_NAME = "caas-run"
CONTAINER = "caas"
RUN_DIR = "/tmp/run"  # noqa: S108 - inside the pod: an emptyDir, the run folder the Job prints
ENTRY_MODULE = "harness.oncluster.entry"  # what the container runs: `python3 -m ENTRY_MODULE ARGUMENT ...`
PULL_SECRET = "caas-runner-pull"  # noqa: S105 - a Secret's name: the copy of the runner image's pull Secret in a Job's namespace
SOURCE_ROOT = "/opt/caas"  # the suite's source in the runner image (runner_image.SOURCE_ROOT)
_DNS = re.compile(r"[^a-z0-9-]")


def namespace_name(run_id: str, product: str) -> str:
    """`caas-<run id>-<product>` as a DNS label (at most 63 characters; a longer or non-DNS product name
    is shortened and made unique with 8 hex digits of its SHA-256)."""
    name = f"caas-{run_id}-{product}"
    if len(name) <= 63 and not _DNS.search(name) and not name.endswith("-"):
        return name
    digest = hashlib.sha256(product.encode()).hexdigest()[:8]
    cleaned = _DNS.sub("-", product.lower())[: 63 - len(run_id) - 15].strip("-")
    return f"caas-{run_id}-{cleaned}-{digest}".replace("--", "-")


def labels(run_id: str, product: str) -> dict[str, str]:
    """The labels of every object of a product's Job (the product's name only when it is a label value)."""
    found = {RUN_ID: run_id, COMPONENT: COMPONENT_VALUE, MANAGED_BY: "caas-conformance"}
    if re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]", product):
        found[PRODUCT_LABEL] = product
    return found


def job_objects(
    run_id: str,
    product: str,
    *,
    image: str,
    bundle: dict[str, bytes],
    arguments: list[str],
    deadline: int,
    version: str,
    pull_policy: str = "IfNotPresent",
    pull_secret: bytes | None = None,
) -> list[Manifest]:
    """[Namespace, Secret (the bundle), (pull Secret,) Job] for `product`, in the order to create them.

    `arguments` follow `python3 -m ENTRY_MODULE` (harness/oncluster/entry.py: the run folder, `--`, the
    pytest options); `deadline` is the Job's activeDeadlineSeconds (seconds from the Job's start, its
    image's pull included); `version` the launching suite's (version.suite_version), the container's
    version.ENV; `pull_secret` the .dockerconfigjson of the Secret the runner image is pulled with (a
    copy named PULL_SECRET, in the pod's imagePullSecrets: a pod names Secrets of its own namespace only)."""
    namespace = namespace_name(run_id, product)
    meta = {"namespace": namespace, "labels": labels(run_id, product)}
    objects: list[Manifest] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {**labels(run_id, product), **_restricted()}},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "caas-targets", **meta},
            "type": "Opaque",
            "data": {k: base64.b64encode(v).decode() for k, v in sorted(bundle.items())},
        },
    ]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NONROOT_UID,
            "runAsGroup": NONROOT_UID,
            "fsGroup": NONROOT_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "imagePullPolicy": pull_policy,
                "command": ["/usr/bin/python3", "-m", ENTRY_MODULE],
                "args": arguments,
                "workingDir": SOURCE_ROOT,
                "env": [
                    {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
                    {"name": ENV, "value": version},
                ],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "targets", "mountPath": MOUNT, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
                ],
            }
        ],
        "volumes": [
            {"name": "targets", "secret": {"secretName": "caas-targets", "defaultMode": 0o400}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if pull_secret is not None:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": PULL_SECRET, **meta},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": base64.b64encode(pull_secret).decode()},
            }
        )
        pod_spec["imagePullSecrets"] = [{"name": PULL_SECRET}]
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": JOB_NAME, **meta},
            "spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": deadline,
                "template": {"metadata": {"labels": labels(run_id, product)}, "spec": pod_spec},
            },
        }
    )
    return objects


def _restricted() -> dict[str, str]:
    return {"pod-security.kubernetes.io/enforce": "restricted"}
