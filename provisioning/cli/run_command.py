"""`caas run`: the main job. Build the lab if needed, provision every product's tenancy, run every
feature against every product, write the reports and print their paths."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from provisioning import redaction
from provisioning.cli.main import environment
from provisioning.cli.progress import Progress
from provisioning.errors import ExitCode, SecretLeakError
from provisioning.lab import build
from provisioning.settings import DEFAULT_TARGETS, Settings, build_settings
from reports import allure_report
from reports.comparison import to_html, to_json, to_markdown
from reports.records import RunRecords, Status, aggregate, read_allure_results

ROOT = Path(__file__).resolve().parents[2]


def register(commands: Any) -> None:
    p = commands.add_parser(
        "run",
        help="the main job: provision, run every check, write the reports",
        description="Provision every product's tenancy, run every feature against every "
        "product and write the Allure results and the product comparison.",
    )
    p.add_argument("--targets", default=str(DEFAULT_TARGETS), help="targets file (default: the lab example)")
    p.add_argument("--product", action="append", default=[], help="only this product (repeatable)")
    p.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k expression")
    p.add_argument("--keep", action="store_true", help="keep everything provisioned, for debugging")
    p.add_argument("--output", help="where runs are written (default: ./out)")
    p.add_argument("--run-id", help="run id (default: random)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    redaction.install_logging_redaction()
    env = environment()
    settings = build_settings(
        targets_path=args.targets,
        environment=env,
        run_id=args.run_id,
        output_dir=args.output,
        keep=args.keep,
        products=tuple(args.product),
    )
    progress = Progress()
    backends = {settings.targets.product_spec(p).backend for p in settings.selected_products}
    if "lab" in backends:
        with progress.live("building the embedded lab"):
            result = build.build_all(settings.lab_home, env, progress)
        progress(f"lab build: {len(result.built)} built, {len(result.up_to_date)} up to date")
    run_dir = settings.output_dir / settings.run_id
    allure_dir = run_dir / "allure-results"
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "steps",
        "-p",
        "no:cacheprovider",
        "-rA",
        "-v",
        f"--targets={settings.targets.source.resolve()}",
        f"--run-id={settings.run_id}",
        f"--alluredir={allure_dir}",
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--secret-digests={run_dir / redaction.DIGESTS_FILE}",
    ]
    command += [f"--product={p}" for p in args.product]
    command += ["-k", args.keyword] if args.keyword else []
    command += ["--keep"] if args.keep else []
    progress(f"run {settings.run_id}: running the checks on {', '.join(settings.selected_products)}")
    with (run_dir / "pytest.log").open("w") as log:
        outcome = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    records = read_records(settings, allure_dir)
    allure_ok = True
    try:
        with progress.live("generating the Allure report"):
            records = write_allure_report(records, settings, run_dir)
    except (allure_report.AllureUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        print(f"caas: error: Allure report: {exc}", file=sys.stderr)
        allure_ok = False
    paths = write_reports(records, run_dir)
    print_summary(records, outcome.returncode, run_dir, paths)
    scan_artifacts(run_dir, settings.output_dir / HISTORY_FILE)
    if outcome.returncode in (2, 3, 4) or not records.checks or not allure_ok:
        return int(ExitCode.INFRASTRUCTURE)
    statuses = [records.record(c, p) for c in records.checks for p in records.products]
    if any(r.status in (Status.ERROR, Status.UNKNOWN) for r in statuses):
        return int(ExitCode.INFRASTRUCTURE)
    return int(ExitCode.OK if all(r.meets_expectation for r in statuses) else ExitCode.CONFORMANCE_FAILURE)


HISTORY_FILE = "history.jsonl"  # beside the runs, so the Allure report's history spans runs


def read_records(settings: Settings, allure_dir: Path) -> RunRecords:
    from reports.catalog import load_checks

    expectations = {(e.check, e.product): (Status(e.status), e.reason) for e in settings.targets.spec.expectations}
    results = read_allure_results(allure_dir) if allure_dir.exists() else []
    checks = {r.check for r in results}
    areas = {k: v.area for k, v in load_checks().items()}
    return aggregate(results, settings.selected_products, checks, expectations, areas)


def write_allure_report(records: RunRecords, settings: Settings, run_dir: Path) -> RunRecords:
    """Generate the Allure 3 report of the run; the records come back with each scenario's report test id."""
    history = settings.output_dir / HISTORY_FILE
    config = run_dir / "allurerc.mjs"
    gaps = [(e.check, e.product) for e in settings.targets.spec.expectations if e.status == "fail"]
    config.write_text(allure_report.allure_config(records.products, gaps, history.resolve()))
    allure_report.generate(run_dir / "allure-results", run_dir / "allure-report", config)
    return records.with_report_links(allure_report.report_test_ids(history, run_dir / "allure-results"))


def scan_artifacts(run_dir: Path, history: Path) -> None:
    """The final scan: any secret in any artifact of the run fails it (SecretLeakError, exit code 4).

    The digests of the secrets the checks handled are removed once read: a digest of a weak password
    could be guessed, so it does not stay beside the reports.
    """
    digests_file = run_dir / redaction.DIGESTS_FILE
    digests = redaction.read_digests(digests_file)
    digests_file.unlink(missing_ok=True)
    leaks = redaction.scan(run_dir, digests)
    if history.exists():
        leaks += redaction.scan_file(history, digests)
    if leaks:
        for leak in leaks[:50]:
            print(f"caas: secret found: {leak}", file=sys.stderr)
        raise SecretLeakError(
            f"{len(leaks)} secret(s) reached the artifacts of {run_dir}: remove them before sharing the output"
        )


def write_reports(records: RunRecords, run_dir: Path) -> dict[str, Path]:
    from reports.catalog import load_checks
    from reports.plan_tables import read_plan_tables
    from reports.plan_tables import to_markdown as plans_markdown

    titles = {k: v.title for k, v in load_checks().items()}
    paths = {
        "comparison (HTML)": run_dir / "comparison.html",
        "comparison (Markdown)": run_dir / "comparison.md",
        "comparison (JSON)": run_dir / "comparison.json",
    }
    paths["comparison (HTML)"].write_text(to_html(records, titles, allure_link="allure-report/index.html"))
    paths["comparison (Markdown)"].write_text(to_markdown(records, titles))
    paths["comparison (JSON)"].write_text(to_json(records, titles))
    if (run_dir / "allure-report" / "index.html").exists():
        paths["Allure report (HTML)"] = run_dir / "allure-report" / "index.html"
    plans = read_plan_tables(run_dir / "allure-results") if (run_dir / "allure-results").is_dir() else []
    if plans:
        paths["privileges per plan (Markdown)"] = run_dir / "privileges.md"
        paths["privileges per plan (JSON)"] = run_dir / "privileges.json"
        paths["privileges per plan (Markdown)"].write_text(plans_markdown(plans))
        paths["privileges per plan (JSON)"].write_text(json.dumps(plans, indent=1))
    paths["Allure results"] = run_dir / "allure-results"
    paths["pytest log"] = run_dir / "pytest.log"
    return paths


def print_summary(records: RunRecords, pytest_code: int, run_dir: Path, paths: dict[str, Path]) -> None:
    print(f"\ncaas run {run_dir.name}: pytest exit code {pytest_code}")
    for product in records.products:
        counts: dict[str, int] = {}
        for check in records.checks:
            status = records.record(check, product).status.value
            counts[status] = counts.get(status, 0) + 1
        print(f"  {product:<12} " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    differences = records.differences()
    print(f"  differences between products: {len(differences)}")
    for check in differences:
        print(f"    {check}: " + ", ".join(f"{p} {records.record(check, p).status.value}" for p in records.products))
    for name, path in paths.items():
        print(f"  {name}: {path}")
    print(f"report: {paths['comparison (HTML)']}")
    if "Allure report (HTML)" in paths:
        print(f"allure: {paths['Allure report (HTML)']}")
