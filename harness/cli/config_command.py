"""`caas check-config FILE`: validate a targets file without touching any cluster."""

from __future__ import annotations

import argparse
from typing import Any

from harness.cli.main import environment
from harness.errors import ConfigErrors, ExitCode
from harness.settings import lab_home
from harness.targets import load_targets
from provisioning.images.check import image_problems


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "check-config",
        help="validate a targets file (nothing is provisioned)",
        description="Validate a targets file. Each problem prints as one line naming the field and the fix.",
    )
    parser.add_argument("file", help="the targets file, e.g. targets.example.yaml")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    targets = load_targets(args.file)
    if problems := image_problems(targets.images, environment(), lab_home(environment()) / "images"):
        raise ConfigErrors(problems)
    model = targets.model
    clusters = list(model.all_clusters())
    print(
        f"{args.file}: ok: {len(model.products)} products, "
        f"{sum(len(t) for t in model.tenants.values())} tenants, {len(clusters)} clusters to provision"
    )
    for cluster in clusters:
        tenants = ", ".join(f"{t.name} ({t.plan})" for t in cluster.tenants)
        print(f"  {cluster.name}: {cluster.placement.value}: {tenants}")
    return int(ExitCode.OK)
