"""`caas run`: the main job. Build the lab if needed, provision every product's tenancy, run every
feature against every product, write the reports and print their paths.

SIGINT (Ctrl-C) or SIGTERM stops the checks and releases what the run provisioned (see
harness/cli/interrupts.py); options after `--` go to pytest as they are."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import redaction
from harness.cli import on_cluster
from harness.cli.interrupts import (
    Interrupted,
    SignalGuard,
    StopAtOnce,
    exit_code,
    kill_checks,
    say,
    signal_name,
    start_checks,
    stop_checks,
)
from harness.cli.main import environment
from harness.cli.progress import Progress
from harness.errors import CaasError, ConfigError, ConfigErrors, ExitCode, InfrastructureError, SecretLeakError
from harness.run_targets import save_run_targets
from harness.settings import DEFAULT_TARGETS, Settings, build_settings
from provisioning.backends import kubeconfig_authorization
from provisioning.lab import build, cluster
from provisioning.lab.cluster import LabPaths
from provisioning.tenancy_existing import missing_namespaces_problems
from reports import allure_report
from reports.catalog import renamed_keyword_problem
from reports.comparison import to_html, to_json, to_markdown
from reports.findings import impersonation_notes, unmet_line
from reports.records import ResultFileError, RunRecords, Status, aggregate, read_allure_results
from reports.run_folder import read_environment

ROOT = Path(__file__).resolve().parents[2]
PYTEST_NO_TESTS = 5  # pytest's exit code when the selection matches no test
PYTEST_USAGE = 4  # pytest's exit code for options it does not accept
# options `caas run` gives pytest itself: after `--` they would split the run from its own sweep and reports
OWN_OPTIONS = ("--targets", "--run-id", "--product", "--keep", "--alluredir", "--junitxml", "--junit-xml", "-k")
PASSTHROUGH_EXAMPLE = "caas run -- -x --maxfail=1 -m rbac"


def register(commands: Any) -> None:
    p = commands.add_parser(
        "run",
        help="the main job: provision, run every check, write the reports",
        usage="caas run [options] [-- PYTEST_OPTION ...]",
        description="Provision every product's tenancy, run every feature against every "
        "product and write the Allure results and the product comparison.",
        epilog=f"Options after -- go to pytest as they are, e.g. `{PASSTHROUGH_EXAMPLE}` (stop at the "
        "first failure, only the rbac area); caas run sets --targets, --run-id, --product, --keep, -k, "
        "--alluredir and --junitxml itself. Ctrl-C (SIGINT) or SIGTERM stops the checks, releases what the "
        "run provisioned (not with --keep), prints what it removed and exits 130 (SIGINT) or 143 (SIGTERM); "
        "a second signal stops at once and prints the `caas clean --run-id ID` that finishes the job.",
    )
    p.add_argument("--targets", default=str(DEFAULT_TARGETS), help="targets file (default: the lab example)")
    p.add_argument("--product", action="append", default=[], help="only this product (repeatable)")
    p.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k expression")
    p.add_argument("--keep", action="store_true", help="keep everything provisioned, for debugging")
    p.add_argument("--output", help="the folder runs are written to, one folder per run id (default: ./out)")
    p.add_argument("--run-id", help="run id, new for every run (default: random)")
    on_cluster.register_options(p)
    p.set_defaults(handler=run, takes_pytest_options=True)


@dataclass
class _Run:
    """What an interruption needs to know of the run so far."""

    targets: str
    settings: Settings | None = None
    run_dir: Path | None = None
    checks: subprocess.Popen[bytes] | None = None

    def targets_option(self) -> list[str]:
        """`--targets FILE` unless it is the default one."""
        return [] if Path(self.targets).resolve() == DEFAULT_TARGETS.resolve() else ["--targets", self.targets]

    def clean_command(self) -> str:
        assert self.settings is not None
        return " ".join(["caas clean --run-id", self.settings.run_id, *self.targets_option()])


def run(args: argparse.Namespace) -> int:
    on_cluster.check_only_with_on_cluster(args)  # before anything is read or built
    state = _Run(args.targets)
    with SignalGuard() as guard:
        try:
            try:
                return _run(args, guard, state)
            except Interrupted as interrupt:
                return _release(interrupt, state)
        except StopAtOnce as again:
            return _stop_at_once(again, state)


def _run(args: argparse.Namespace, guard: SignalGuard, state: _Run) -> int:
    redaction.install_logging_redaction()
    env = environment()
    pytest_options = list(getattr(args, "pytest_options", []))
    check_pytest_options(pytest_options, args.keyword)  # before the lab build
    settings = build_settings(
        targets_path=args.targets,
        environment=env,
        run_id=args.run_id,
        output_dir=args.output,
        keep=args.keep,
        products=tuple(args.product),
    )
    run_dir = settings.output_dir / settings.run_id
    check_new_run(settings, run_dir)
    targets = settings.targets  # pre-flight on existing clusters, before anything is provisioned:
    preflight = (targets.spec, str(targets.source), targets.source.parent, settings.selected_products)
    # every plan's stated authorization not refuted by its cluster, and (onboarding: existing) the namespaces there
    # --on-cluster's input first: the pre-flight would run a kubeconfig's exec plugin that a Job's pod cannot run
    plan = on_cluster.prepare(args, settings) if args.on_cluster else None  # its input checked before anything starts
    if problems := kubeconfig_authorization.refuted_plans(*preflight) + missing_namespaces_problems(*preflight):
        raise ConfigErrors(problems)
    progress = Progress()
    backends = {settings.targets.product_spec(p).backend for p in settings.selected_products}
    if "lab" in backends and plan is None:
        with progress.live("building the embedded lab"):
            result = build.build_all(settings.lab_home, env, progress)
        progress(f"lab build: {len(result.built)} built, {len(result.up_to_date)} up to date")
    make_run_dir(settings, run_dir)
    save_run_targets(run_dir, settings.targets, settings.selected_products)  # `caas report RUN_DIR` reads it
    state.settings, state.run_dir = settings, run_dir
    allure_dir = run_dir / "allure-results"
    command = pytest_command(settings, run_dir, args.keyword, pytest_options)
    progress(f"run {settings.run_id}: running the checks on {', '.join(settings.selected_products)}")
    if plan is not None:
        pod_command = pytest_command(settings, on_cluster.POD_RUN_DIR, args.keyword, pytest_options)
        returncode = on_cluster.run_jobs(plan, settings, run_dir, pod_command, progress)
    else:
        with (run_dir / "pytest.log").open("wb") as log:
            state.checks = start_checks(guard, command, ROOT, log)
            returncode = state.checks.wait()
    if returncode in (PYTEST_NO_TESTS, PYTEST_USAGE):
        raise _selection_error(returncode, run_dir, state.targets_option() + _keyword(args.keyword), pytest_options)
    records = read_records(settings, allure_dir)
    allure_ok = True
    try:
        with progress.live("generating the Allure report"):
            records = write_allure_report(records, settings, run_dir)
    except (allure_report.AllureUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        print(f"caas: error: Allure report: {exc}", file=sys.stderr)
        allure_ok = False
    paths = write_reports(records, run_dir, allure=allure_ok)
    print_summary(records, f"caas run {run_dir.name}: {checks_outcome(returncode)}", paths)
    for note in impersonation_notes(read_environment(run_dir), records.products):  # why, when impersonated
        print(f"  {note}")
    if settings.keep:
        say(
            f"kept (--keep): lab clusters {', '.join(_lab_clusters(settings)) or '(none)'}; "
            "`caas lab kubeconfig NAME` prints a lab cluster's admin kubeconfig (its private key included); "
            f"to remove everything of the run: {state.clean_command()}"
        )
    scan_artifacts(run_dir, settings.output_dir / HISTORY_FILE)
    if returncode in (2, 3, 4) or not records.checks or not allure_ok:
        return int(ExitCode.INFRASTRUCTURE)
    statuses = [records.record(c, p) for c in records.checks for p in records.products]
    if any(r.status in (Status.ERROR, Status.UNKNOWN) for r in statuses):
        return int(ExitCode.INFRASTRUCTURE)
    return int(ExitCode.OK if all(r.meets_expectation for r in statuses) else ExitCode.CONFORMANCE_FAILURE)


def check_pytest_options(options: list[str], keyword: str | None = None) -> None:
    """Options after `--` must not be ones `caas run` sets itself (ConfigError naming the option), and
    the `-k` expression names no old check id (`reports.catalog.RENAMED_PREFIXES`: it would select
    nothing; ConfigError naming the old and new ids), both checked before anything is built or created."""
    if renamed := renamed_keyword_problem(keyword or ""):
        raise ConfigError(renamed[0], "", renamed[1])
    for option in options:
        name = option.split("=", 1)[0]
        if option.startswith("-k"):  # also -kEXPR
            name = "-k"
        if name in OWN_OPTIONS:
            raise ConfigError(
                "-- " + name,
                "",
                f"caas run gives pytest {name} itself (fix: give it before --, as a caas run option, or leave it out)",
            )


def check_new_run(settings: Settings, run_dir: Path) -> None:
    """A run never overwrites another run's folder or sweeps another run's clusters: refuse a run id
    that has either (ConfigError naming --run-id and the fix), and an --output that is not a folder."""
    output = settings.output_dir
    if output.exists() and not output.is_dir():
        raise ConfigError(
            "--output", "", f"{output} is a file, not a folder (fix: give a folder; runs go in FOLDER/RUN_ID)"
        )
    fix = "fix: give a new --run-id, or leave it out for a random one"
    if run_dir.exists():
        raise ConfigError("--run-id", "", f'run "{settings.run_id}" already has its folder {run_dir} ({fix})')
    clusters = [s.name for s in cluster.list_clusters(LabPaths(settings.lab_home)) if s.run_id == settings.run_id]
    if clusters:
        raise ConfigError(
            "--run-id",
            "",
            f'run "{settings.run_id}" still has lab clusters {", ".join(clusters)} '
            f"({fix}; `caas clean --run-id {settings.run_id}` removes them)",
        )


def make_run_dir(settings: Settings, run_dir: Path) -> None:
    """Create the run's folder, and refuse (ConfigError) if another run created it meanwhile."""
    try:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir()
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            check_new_run(settings, run_dir)  # another run took the folder meanwhile, or --output is a file
        raise ConfigError(
            "--output", "", f"cannot create {run_dir}: {exc.strerror} (fix: give a folder you can write)"
        ) from None


def pytest_command(settings: Settings, run_dir: Path, keyword: str | None, pytest_options: list[str]) -> list[str]:
    """The pytest command line of the run: the scenarios under steps/, the run's own options, then
    the user's options after `--` as they are."""
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
        f"--alluredir={run_dir / 'allure-results'}",
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--secret-digests={run_dir / redaction.DIGESTS_FILE}",
    ]
    command += [f"--product={p}" for p in settings.products]
    command += ["-k", keyword] if keyword else []
    command += ["--keep"] if settings.keep else []
    return command + pytest_options


def _keyword(keyword: str | None) -> list[str]:
    return ["-k", f'"{keyword}"'] if keyword else []


def _selection_error(returncode: int, run_dir: Path, selection: list[str], options: list[str]) -> ConfigError:
    """The run's selection (its pytest options, quoted for a shell) matched nothing, or pytest refused
    an option after `--`: one line, and no run folder."""
    log = run_dir / "pytest.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    shutil.rmtree(run_dir, ignore_errors=True)
    if returncode == PYTEST_NO_TESTS:
        keyword = selection[selection.index("-k") :] if "-k" in selection else []
        asked = " ".join([*keyword, *(["--", shlex.join(options)] if options else [])]) or "the selected products"
        listing = " ".join(["pytest steps --collect-only -q", *selection, shlex.join(options)]).rstrip()
        return ConfigError(
            "-k" if keyword and not options else "caas run",
            "",
            f"no scenario matches {asked} (fix: see what matches with `{listing}`)",
        )
    refused = next((ln.strip() for ln in reversed(lines) if "error:" in ln.lower()), f"exit code {returncode}")
    refused = refused.removeprefix("ERROR:").strip()
    if "caas: error: " in refused:  # the suite's own refusal (fixtures/plugin.py): its line as it is
        where, _, message = refused.split("caas: error: ", 1)[1].partition(": ")
        return ConfigError(where, "", message) if message else ConfigError("pytest", "", where)
    fix = "" if "(fix:" in refused else " (fix: see pytest --help)"
    return ConfigError("-- PYTEST_OPTION" if options else "pytest", "", f"pytest refused: {refused}{fix}")


def _lab_clusters(settings: Settings) -> list[str]:
    return [s.name for s in cluster.list_clusters(LabPaths(settings.lab_home)) if s.run_id == settings.run_id]


def _release(interrupt: Interrupted, state: _Run) -> int:
    """The first signal: stop the checks, release (unless --keep), say what went and what is left."""
    name = signal_name(interrupt.signum)
    settings = state.settings
    if settings is None:
        say(f"{name}: stopped before anything was provisioned")
        return exit_code(interrupt.signum)
    what = "keeping what it provisioned (--keep)" if settings.keep else "releasing what it provisioned"
    say(f"{name}: stopping the checks of run {settings.run_id} and {what} (Ctrl-C or SIGTERM again stops at once)")
    before = _lab_clusters(settings)
    if state.checks is not None:
        say(stop_checks(state.checks))
    after_teardown = _lab_clusters(settings)
    for gone in (n for n in before if n not in after_teardown):
        print(f"removed lab cluster {gone} (by the checks' teardown)")
    if settings.keep:
        say(f"kept lab clusters {', '.join(after_teardown) or '(none)'}; to remove them: {state.clean_command()}")
        return exit_code(interrupt.signum)
    swept = _sweep(state)
    left = _lab_clusters(settings)
    removed = [n for n in dict.fromkeys([*before, *after_teardown]) if n not in left]
    if left or swept != 0:
        say(
            f"interrupted; run {settings.run_id} left {', '.join(left) or 'objects'}; "
            f"to finish: {state.clean_command()}"
        )
    else:
        say(
            f"interrupted by {name}: removed {len(removed)} lab cluster(s) of run {settings.run_id}"
            f"{': ' + ', '.join(removed) if removed else ''}; none is left"
        )
    if state.run_dir is not None:
        scan_artifacts(state.run_dir, settings.output_dir / HISTORY_FILE)  # also removes the secrets' digests
    return exit_code(interrupt.signum)


def _sweep(state: _Run) -> int:
    """Remove what is left of the run exactly as `caas clean --run-id` does; its exit code."""
    from harness.cli.main import build_parser

    assert state.settings is not None
    args = build_parser().parse_args(["clean", "--run-id", state.settings.run_id, "--targets", state.targets])
    try:
        return int(args.handler(args))
    except (CaasError, OSError) as exc:
        say(f"the sweep failed: {exc}")
        return int(ExitCode.INFRASTRUCTURE)


def _stop_at_once(again: StopAtOnce, state: _Run) -> int:
    """A second signal: kill the checks, print the command that finishes the job, end."""
    if state.checks is not None and state.checks.returncode is None:
        kill_checks(state.checks)
    stopped = f"second signal ({signal_name(again.signum)}): stopped at once"
    if state.settings is None:
        say(f"{stopped}; nothing was provisioned")
    else:
        say(f"{stopped}; to remove what is left: {state.clean_command()}")
    return exit_code(again.signum)


HISTORY_FILE = "history.jsonl"  # beside the runs, so the Allure report's history spans runs


def read_records(settings: Settings, allure_dir: Path) -> RunRecords:
    from reports.catalog import load_checks

    expectations = {(e.check, e.product): (Status(e.status), e.reason) for e in settings.targets.spec.expectations}
    try:
        results = read_allure_results(allure_dir) if allure_dir.exists() else []
    except ResultFileError as exc:  # never skipped: it may hold its check's one failure
        raise InfrastructureError(
            f"{exc.path}: {exc.problem} (the run's results are damaged; see {allure_dir.parent / 'pytest.log'})"
        ) from None
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


def write_reports(records: RunRecords, run_dir: Path, allure: bool = True) -> dict[str, Path]:
    """Write the comparison (HTML, Markdown, JSON), the decision page and the privileges tables into
    `run_dir`; returns {name: path} of what a reader opens. `allure` False: the Allure report was not
    generated this time, so no page names or links an allure-report/index.html an earlier run left."""
    from reports.catalog import load_checks
    from reports.plan_tables import comparison_section, control_rows, read_cells, read_plan_tables
    from reports.plan_tables import to_markdown as plans_markdown
    from reports.run_folder import write_decision

    titles = {k: v.title for k, v in load_checks().items()}
    paths = {
        "comparison (HTML)": run_dir / "comparison.html",
        "comparison (Markdown)": run_dir / "comparison.md",
        "comparison (JSON)": run_dir / "comparison.json",
    }
    allure_results = run_dir / "allure-results"
    plans = read_plan_tables(allure_results) if allure_results.is_dir() else []
    cells = read_cells(allure_results) if allure_results.is_dir() else []
    comparison_json = json.loads(to_json(records, titles))
    comparison_json["pod_security_controls"] = control_rows(cells)  # the plan x control table, a row per control
    fresh = allure and (run_dir / "allure-report" / "index.html").exists()
    allure_link = "allure-report/index.html" if fresh else ""
    paths["comparison (HTML)"].write_text(to_html(records, titles, allure_link=allure_link))
    paths["comparison (Markdown)"].write_text(to_markdown(records, titles) + comparison_section(plans))
    paths["comparison (JSON)"].write_text(json.dumps(comparison_json, indent=1, sort_keys=True))
    if fresh:
        paths["Allure report (HTML)"] = run_dir / "allure-report" / "index.html"
    paths.update(write_decision(records, run_dir, allure_link))  # decision page, checks.junit.xml, trends
    if plans:
        paths["privileges per plan (Markdown)"] = run_dir / "privileges.md"
        paths["privileges per plan (JSON)"] = run_dir / "privileges.json"
        paths["privileges per plan (Markdown)"].write_text(plans_markdown(plans))
        paths["privileges per plan (JSON)"].write_text(json.dumps(plans, indent=1))
    paths["Allure results"] = run_dir / "allure-results"
    paths["pytest log"] = run_dir / "pytest.log"
    return paths


# What the checks' pytest exit code says, with the targets file's expectations as xfail marks
# (https://docs.pytest.org/en/stable/reference/exit-codes.html)
_PYTEST_OUTCOMES = {
    0: "every scenario as the targets file expects",
    1: "some scenarios not as the targets file expects",
    2: "the checks were interrupted",
    3: "pytest's internal error (see the pytest log)",
    4: "pytest refused its options",
    5: "no scenario selected",
}
# the last lines of the summary, in this order: the pages a reader opens
_MAIN_PAGES = (
    ("report", "comparison (HTML)"),
    ("decision", "decision page (HTML)"),
    ("allure", "Allure report (HTML)"),
)


def checks_outcome(returncode: int) -> str:
    """One phrase for the checks' pytest exit code, e.g. `every scenario as the targets file expects
    (pytest exit code 0)`; the verdicts and `caas run`'s own exit code are decided from the records."""
    return f"{_PYTEST_OUTCOMES.get(returncode, 'the checks ended')} (pytest exit code {returncode})"


def print_summary(records: RunRecords, heading: str, paths: dict[str, Path]) -> None:
    """Print the verdict counts of each product's checks (a check's verdict is that of its scenarios,
    which pytest counts: "pks  45 checks (48 scenarios): 2 fail (2 expected), 34 pass, 9 skipped"),
    the differences between products and the files written under `heading` (e.g. `caas run ID: every
    scenario as the targets file expects (pytest exit code 0)`), each path once; the last lines name
    the comparison, decision and Allure pages."""
    print(f"\n{heading}")
    for product in records.products:
        scenarios = sum(len(records.record(check, product).scenarios) for check in records.checks)
        counts: dict[str, int] = {}
        for check in records.checks:
            status = records.record(check, product).status.value
            counts[status] = counts.get(status, 0) + 1
        expected = sum(
            1
            for check in records.checks
            if (r := records.record(check, product)).status is Status.FAIL and r.expected is Status.FAIL
        )
        words = [
            f"{n} {s}" + (f" ({expected} expected)" if s == Status.FAIL.value and expected else "")
            for s, n in sorted(counts.items())
        ]
        counted = f"{len(records.checks)} checks ({scenarios} scenarios)"
        print(f"  {product:<12} {counted}: " + ", ".join(words))
    differences = records.differences()
    print(f"  differences between products: {len(differences)}")
    for check in differences:
        print(f"    {check}: " + ", ".join(f"{p} {records.record(check, p).status.value}" for p in records.products))
    unmet = [records.record(c, p) for c in records.checks for p in records.products]
    unmet = [r for r in unmet if not r.meets_expectation]
    print(f"  unmet expectations: {len(unmet)}")
    for record in unmet:
        print(f"    {record.check} on {record.product}: {unmet_line(record)}")
    main = {key for _, key in _MAIN_PAGES}
    for name, path in paths.items():
        if name not in main:
            print(f"  {name}: {path}")
    for short, key in _MAIN_PAGES:
        if key in paths:
            print(f"{short}: {paths[key]}")
