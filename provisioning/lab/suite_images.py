"""The suite's images for the `lab` backend's clusters, served the way a product's nodes get them (issue 17:
nothing the checks use is imported into the lab's nodes): the lab registry (provisioning/lab/registry.py:
TLS from its own CA, basic auth) holds them, and the nodes pull them by digest with the lab's login as a
pull secret in each tenant namespace, as on the kubeconfig backend. The lab backend's clusters are bare:
their nodes hold only what the lab itself needs (the pod sandbox and the readiness image,
provisioning/lab/images.py: SYSTEM_IMAGES).

`serve` starts the registry unless it serves and pushes the suite's images (skopeo, digests preserved)
once per process and lab home, under the lab home's registry lock (`registry.lock`, which
checks/privileged/private_images.py takes to start the same registry): the processes of one run and
concurrent runs of one lab home start it once and push one after the other.
"""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock

from provisioning.images import refs, skopeo
from provisioning.lab import registry
from provisioning.lab.registry import LabRegistry

SERVE_TIMEOUT = 60.0  # seconds for the registry to serve once started
_LOCK = threading.Lock()
_PUSHED: set[Path] = set()  # the lab homes whose registry this process filled


def serve(home: Path, timeout: float = SERVE_TIMEOUT) -> LabRegistry:
    """The lab registry of lab home `home` serving, every suite image (the OCI archives `caas lab build`
    wrote into <home>/images) pushed into it at registry.LOCATION under its tag; pushed once per process,
    a later call only starts the registry again if it stopped. InfrastructureError: the registry does
    not serve within `timeout` seconds, an image archive is missing, or a push fails (skopeo's reason);
    filelock.Timeout when another process holds the registry lock longer than a start and a push take."""
    with _LOCK, FileLock(str(home / "registry.lock"), timeout=timeout + skopeo.TIMEOUT):
        served = registry.up(home, timeout)
        if home not in _PUSHED:
            access = skopeo.Access(served.login(), served.ca_file)
            for name, archive in refs.archives(home / "images").items():
                tag = refs.SUITE_IMAGES[name].reference.rsplit(":", 1)[-1]
                destination = f"docker://{refs.repository(registry.LOCATION, name)}:{tag}"
                skopeo.copy(f"oci-archive:{archive}", destination, dest=access)
            _PUSHED.add(home)
    return served
