"""`caas images push|save`: ship the suite's images the way users ship images.

`push --registry HOST[:PORT][/PATH]` copies every suite image (skopeo, digests preserved) to
HOST/PATH/<name>, tagged with its lab tag; pods then name HOST/PATH/<name>@<digest> (targets file:
products[].images.registry). `save DIR` writes one OCI image layout holding them all (names: probe,
busybox) for an air-gapped site, to be copied on with `skopeo copy --preserve-digests oci:DIR:probe
docker://...`. The images come from the lab home, as `caas lab build` writes them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.cli.main import environment
from harness.errors import ConfigError, ExitCode
from harness.settings import lab_home
from provisioning.images import refs, skopeo
from provisioning.images.pull_secret import docker_config
from provisioning.images.spec import registry_location


def register(commands: Any) -> None:
    images = commands.add_parser(
        "images",
        help="copy the suite's images into your registry, or save them for an air-gapped site",
        description="Ship the suite's images (OCI, by digest): push them into a registry or save an OCI layout.",
    )
    sub = images.add_subparsers(dest="images_command", metavar="IMAGES_COMMAND")
    sub.required = True
    p = sub.add_parser("push", help="copy the suite's images into a registry (digests preserved)")
    p.add_argument("--registry", required=True, help="HOST[:PORT][/PATH], e.g. registry.example.com/caas")
    p.add_argument("--username-env", help="environment variable holding the registry user")
    p.add_argument("--password-env", help="environment variable holding the registry password")
    p.add_argument("--authfile", help="a Docker config.json with a login for the registry (instead of the two above)")
    p.add_argument("--ca-file", help="the registry's CA certificate (default: the system's trust)")
    p.set_defaults(handler=cmd_push)
    p = sub.add_parser("save", help="write the suite's images into an OCI image layout directory")
    p.add_argument("directory", help="the layout's directory (created if missing)")
    p.set_defaults(handler=cmd_save)
    p = sub.add_parser("list", help="print every suite image's name and digest")
    p.set_defaults(handler=cmd_list)
    p = sub.add_parser(
        "build-runner",
        help="write the runner image `caas run --on-cluster` runs (Debian packages, the suite, its dependencies)",
    )
    p.add_argument("--output", help="the OCI archive to write (default: the lab home's images/runner.tar)")
    p.set_defaults(handler=cmd_build_runner)


def _access(args: argparse.Namespace) -> skopeo.Access:
    env = environment()
    if (args.username_env is None) != (args.password_env is None):
        raise ConfigError("--username-env", "", "give both --username-env and --password-env, or neither")
    login = None
    if args.username_env is not None:
        if args.authfile is not None:
            raise ConfigError("--authfile", "", "give either --authfile or --username-env/--password-env")
        values = []
        for option, name in (("--username-env", args.username_env), ("--password-env", args.password_env)):
            if not env.get(name):
                raise ConfigError(option, "", f"environment variable {name} is not set (export it)")
            values.append(env[name])
        login = docker_config(args.registry, values[0], values[1])
    elif args.authfile is not None:
        try:
            login = json.loads(Path(args.authfile).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError("--authfile", "", f"cannot read {args.authfile}: {exc} (fix: skopeo login)") from None
    ca = Path(args.ca_file) if args.ca_file else None
    if ca is not None and not ca.is_file():
        raise ConfigError("--ca-file", "", f"{ca} is not a file (fix: name the registry's CA certificate)")
    return skopeo.Access(login, ca)


def cmd_push(args: argparse.Namespace) -> int:
    try:
        registry = registry_location(args.registry)
    except ValueError as exc:
        raise ConfigError("--registry", "", str(exc)) from None
    access = _access(args)
    image_dir = lab_home(environment()) / "images"
    digests = refs.digests(image_dir)
    started = time.monotonic()
    for name, archive in refs.archives(image_dir).items():
        tag = refs.SUITE_IMAGES[name].reference.rsplit(":", 1)[-1]
        one = time.monotonic()
        skopeo.copy(f"oci-archive:{archive}", f"docker://{refs.repository(registry, name)}:{tag}", dest=access)
        print(f"pushed {refs.repository(registry, name)}@{digests[name]} ({time.monotonic() - one:.1f}s)")
    print(f"images push: {len(digests)} images into {registry} in {time.monotonic() - started:.1f}s")
    return int(ExitCode.OK)


def cmd_save(args: argparse.Namespace) -> int:
    directory = Path(args.directory).resolve()
    image_dir = lab_home(environment()) / "images"
    digests = refs.digests(image_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for name, archive in refs.archives(image_dir).items():
        skopeo.copy(f"oci-archive:{archive}", f"oci:{directory}:{name}")
        print(f"saved {name}@{digests[name]}")
    print(f"images save: {len(digests)} images in the OCI layout {directory}")
    return int(ExitCode.OK)


def cmd_list(_args: argparse.Namespace) -> int:
    for name, digest in refs.digests(lab_home(environment()) / "images").items():
        print(f"{name}@{digest}")
    return int(ExitCode.OK)


def cmd_build_runner(args: argparse.Namespace) -> int:
    """`caas images build-runner`: provisioning/oncluster/runner_image.py from this checkout."""
    from harness.cli.on_cluster import default_archive
    from provisioning.oncluster import runner_image, version

    source = Path(__file__).resolve().parents[2]
    missing = [n for n in version.SOURCE_FOLDERS if not (source / n).is_dir()]
    if missing:
        raise ConfigError(
            "caas images build-runner",
            "",
            f"{source} has no {', '.join(missing)} (fix: run it from a checkout of the suite, not an installed wheel)",
        )
    home = lab_home(environment())
    archive = Path(args.output).expanduser() if args.output else default_archive(home)
    started = time.monotonic()
    built = runner_image.build(source, home, archive, print)
    print(
        f"wrote {built.archive}: {built.reference} (layer {built.layer_bytes / 2**20:.0f} MiB, "
        f"{time.monotonic() - started:.0f}s)\n"
        f"load it into a cluster's nodes (`ctr -n k8s.io images import {built.archive}`) or push it: "
        f"skopeo copy oci-archive:{built.archive} docker://REGISTRY/caas/runner:{built.reference.rsplit(':', 1)[1]}"
    )
    return int(ExitCode.OK)
