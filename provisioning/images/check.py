"""Whether a product's nodes can pull the suite's images: each image's manifest, by digest, read from
the product's registry with its login (skopeo inspect), as `caas check-config` does before any run.

What is checked is what a pull needs: the registry answers (address, TLS), the login is accepted, and
the image is there by its digest (`caas images push` put it there). What only the nodes can know (their
trust of the registry's CA, their route to it) shows at the first pull (provisioning.kube.pods).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.errors import ConfigError
from provisioning.images import refs, skopeo
from provisioning.images.pull_secret import login
from provisioning.images.spec import ImagesSections

# skopeo's reasons -> the field to blame and the fix
_AUTH_WORDS = ("unauthorized", "authentication required", "denied", "401", "403")
_MISSING_WORDS = ("manifest unknown", "not found", "404", "name unknown")


def image_problems(sections: ImagesSections, environment: Mapping[str, str], image_dir: Path) -> list[ConfigError]:
    """One ConfigError per product whose images cannot be pulled as its `images` section says (the first
    image that fails names the reason); [] if every product's images can be read or none has a section."""
    problems: list[ConfigError] = []
    label = sections.label
    for i, (_, spec) in enumerate(sections.products):
        if spec is None:
            continue
        where = sections.where(i)
        try:
            config = login(spec, environment, sections.base_dir, label, where)
        except ConfigError as exc:
            problems.append(exc)
            continue
        ca = (sections.base_dir / Path(spec.ca_file).expanduser()) if spec.ca_file else None
        access = skopeo.Access(config, ca)
        digests = refs.digests(image_dir)
        for name in refs.SUITE_IMAGES:
            reference = refs.resolve(spec, name, digests).image
            reason = skopeo.inspect_failure(f"docker://{reference}", access)
            if not reason:
                continue
            lowered = reason.lower()
            if any(word in lowered for word in _AUTH_WORDS):
                field, fix = f"{where}.pull_secret", "check the registry login the pull secret names"
            elif any(word in lowered for word in _MISSING_WORDS):
                field, fix = f"{where}.registry", f"caas images push --registry {spec.registry}"
            else:
                field, fix = f"{where}.registry", "check the registry's address, its CA (ca_file) and the network"
            problems.append(ConfigError(label, field, f"cannot read {reference}: {reason} (fix: {fix})"))
            break
    return problems
