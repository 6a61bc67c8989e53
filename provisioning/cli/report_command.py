"""`caas report RUN_DIR`: rebuild a run's comparison from its Allure results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from provisioning.cli.main import environment
from provisioning.errors import ConfigError, ExitCode
from provisioning.settings import DEFAULT_TARGETS, build_settings


def register(commands: Any) -> None:
    p = commands.add_parser("report", help="rebuild the reports of a run from its results")
    p.add_argument("run_dir", help="the run's directory, e.g. out/run-1a2b3c4d")
    p.add_argument("--targets", help="targets file of the run (default: the lab example)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from provisioning.cli import run_command

    run_dir = Path(args.run_dir)
    results = run_dir / "allure-results"
    if not results.is_dir():
        raise ConfigError("RUN_DIR", "", f"{results} does not exist (pass a directory written by caas run)")
    settings = build_settings(
        targets_path=args.targets or DEFAULT_TARGETS, environment=environment(), run_id=run_dir.name
    )
    records = run_command.read_records(settings, results)
    records = run_command.write_allure_report(records, settings, run_dir)
    paths = run_command.write_reports(records, run_dir)
    run_command.print_summary(records, 0, run_dir, paths)
    run_command.scan_artifacts(run_dir, settings.output_dir / run_command.HISTORY_FILE)
    return int(ExitCode.OK)
