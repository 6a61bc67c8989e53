"""`caas report RUN_DIR`: rebuild a run's reports from its Allure results, judged by the run's own targets.

The products and expectations come from the run's copy of its targets (`RUN_DIR/targets.yaml`, see
`harness.run_targets`). `--targets FILE` is for runs without a copy; with a copy, it must agree
with it. Either way a file that differs from what the run recorded (a product the run tested that the
file does not name, an expectation added, dropped or changed) is refused, one line per difference:
a report never shows the run under another file's expectations, nor "unknown" for products it did
not test.

Exit codes: 0 the reports were rebuilt; 2 RUN_DIR is no run folder (missing, not a folder, or holding
none of a run's files) or --targets does not match the run; 3 the run folder is damaged (allure-results
missing or without results, a result file truncated or not an Allure result, the run's targets copy
invalid) or the Allure report could not be generated (the comparison is still written). A damaged
result file is never skipped: it may hold the one failing scenario of its check, which would then
read as a pass.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.cli.main import environment
from harness.errors import ConfigError, ConfigErrors, ExitCode, InfrastructureError
from harness.run_targets import RUN_TARGETS, differences, expectations_of, load_run_targets
from harness.settings import Settings, lab_home
from harness.targets import Targets, load_targets
from reports.allure_report import AllureUnavailable
from reports.records import ResultFileError, ScenarioResult, Status, read_allure_results

RESULTS = "allure-results"
COMPARISON = "comparison.json"
RUN_FILES = (RESULTS, "pytest.log", RUN_TARGETS, COMPARISON, "junit.xml")  # what `caas run` writes first
_EXAMPLE = "out/run-1a2b3c4d"
_RERUN = "fix: run the checks again with caas run"


def register(commands: Any) -> None:
    p = commands.add_parser(
        "report",
        help="rebuild the reports of a run from its results",
        description="Rebuild a run's comparison and Allure report from its results, with the run's own targets.",
        epilog="Exit codes: 0 rebuilt, 2 not a run folder or --targets does not match the run, "
        "3 damaged run folder (missing or corrupt results) or no Allure report.",
    )
    p.add_argument("run_dir", help=f"the run's folder, e.g. {_EXAMPLE}")
    p.add_argument(
        "--targets",
        help="the targets file the run used, for runs without their own copy (RUN_DIR/targets.yaml); "
        "refused when its products or expectations differ from the run's",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.cli import run_command

    run_dir = run_folder(Path(args.run_dir))
    results_dir = run_dir / RESULTS
    settings = settings_of_run(run_dir, args.targets)
    records = run_command.read_records(settings, results_dir)
    allure_ok = True
    try:
        records = run_command.write_allure_report(records, settings, run_dir)
    except (AllureUnavailable, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        print(f"caas: error: Allure report: {exc}", file=sys.stderr)
        allure_ok = False
    try:
        paths = run_command.write_reports(records, run_dir, allure=allure_ok)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InfrastructureError(
            f"{run_dir}: cannot write the reports ({exc.__class__.__name__}: {exc}) "
            f"(fix: check the folder's permissions and the attachments in {results_dir})"
        ) from None
    run_command.print_summary(records, f"caas report {run_dir.name}", paths)
    run_command.scan_artifacts(run_dir, settings.output_dir / run_command.HISTORY_FILE)
    return int(ExitCode.OK if allure_ok else ExitCode.INFRASTRUCTURE)


def settings_of_run(run_dir: Path, targets_option: str | None) -> Settings:
    """The settings a run folder was made with: its own targets (RUN_DIR/targets.yaml, or `targets_option`
    checked against the run's results) and its products. Raises ConfigError (exit 2) or
    InfrastructureError (exit 3) as `read_results` and `targets_of_run` do."""
    scenarios = read_results(run_dir)
    targets, products = targets_of_run(run_dir, targets_option, scenarios)
    check_environment(run_dir, scenarios)
    env = environment()
    return Settings(
        targets=targets,
        run_id=run_dir.name,
        output_dir=run_dir.parent,
        lab_home=lab_home(env),
        products=products,
        environment=env,
    )


def check_environment(run_dir: Path, scenarios: list[ScenarioResult]) -> None:
    """RUN_DIR/environment.json holds every product whose tenancy was provisioned (any product with a passed
    or failed scenario); InfrastructureError (exit 3) when it is damaged or lacks one, for the decision
    page would show a product's facts as "not recorded" and its credentials as unknown."""
    from reports.run_folder import ENVIRONMENT_FILE

    path = run_dir / ENVIRONMENT_FILE
    judged = sorted({s.product for s in scenarios if s.status in (Status.PASS, Status.FAIL)})
    fix = f"fix: restore {ENVIRONMENT_FILE} from the run's original folder, or run the checks again with caas run"
    if not path.exists():
        if judged:
            raise InfrastructureError(f"{path}: is missing, though {', '.join(judged)} ran checks ({fix})")
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        recorded = data["products"]
        if not isinstance(recorded, dict):
            raise TypeError("products is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InfrastructureError(f"{path}: cannot be read as the run's environment ({exc}) ({fix})") from None
    missing = [p for p in judged if not isinstance(recorded.get(p), dict)]
    if missing:
        raise InfrastructureError(f"{path}: has no environment of {', '.join(missing)}, which ran checks ({fix})")


def run_folder(path: Path) -> Path:
    """`path` if it is a run folder; ConfigError (exit 2) naming what it is instead."""
    fix = f"fix: pass a run folder written by caas run, e.g. {_EXAMPLE}"
    if not path.exists():
        raise ConfigError(str(path), "", f"no such folder ({fix})")
    if not path.is_dir():
        raise ConfigError(str(path), "", f"is a file, not a run folder ({fix})")
    try:
        entries = {entry.name for entry in path.iterdir()}
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read ({exc.strerror or exc}) (fix: its permissions)") from None
    if entries.isdisjoint(RUN_FILES):
        runs = sorted((p for p in path.iterdir() if p.is_dir() and (p / RESULTS).is_dir()), key=_mtime)
        if runs:
            raise ConfigError(str(path), "", f"holds runs but is not one (fix: pass one of them, e.g. {runs[-1]})")
        raise ConfigError(
            str(path), "", f"is not a run folder: it has no {RESULTS}, pytest.log or {RUN_TARGETS} ({fix})"
        )
    return path


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def read_results(run_dir: Path) -> list[ScenarioResult]:
    """The run's scenario results; InfrastructureError (exit 3) when they are missing, empty or damaged."""
    results_dir = run_dir / RESULTS
    if not results_dir.is_dir():
        raise InfrastructureError(
            f"{run_dir}: {RESULTS} is missing: the run stopped before any check reported ({_RERUN})"
        )
    try:
        scenarios = read_allure_results(results_dir)
    except ResultFileError as exc:
        raise InfrastructureError(
            f"{exc.path}: {exc.problem}: a scenario result is lost, so the run's verdicts cannot be trusted "
            f"(it is not skipped: it may be its check's one failure; {_RERUN})"
        ) from None
    if not scenarios:
        raise InfrastructureError(
            f"{results_dir}: holds no check results: the run stopped before any check reported ({_RERUN})"
        )
    return scenarios


def targets_of_run(
    run_dir: Path, targets_path: str | None, scenarios: list[ScenarioResult]
) -> tuple[Targets, tuple[str, ...]]:
    """The targets to judge the run by and the products it tested, from its copy or a matching --targets."""
    tested = tuple(dict.fromkeys(s.product for s in scenarios))
    try:
        copy = load_run_targets(run_dir)
    except ConfigErrors as exc:
        raise InfrastructureError(
            f"{run_dir / RUN_TARGETS}: the run's copy of its targets does not validate, one line per problem "
            f"below (fix: pass --targets FILE, the targets file this run used):\n{exc}"
        ) from None
    if copy is not None:
        products = tuple(p.name for p in copy.spec.products)
        stray = [p for p in tested if p not in products]
        if stray:
            raise InfrastructureError(
                f"{run_dir / RESULTS}: results of {', '.join(stray)}, which the run's {RUN_TARGETS} does not name "
                f"(the folder mixes runs; {_RERUN})"
            )
        if targets_path is not None:
            _refuse_differences(
                targets_path,
                differences(products, expectations_of(copy, products), _given(targets_path)),
                f"omit --targets to use the run's own {run_dir / RUN_TARGETS}",
            )
        return copy, products
    if targets_path is None:
        raise ConfigError(
            str(run_dir),
            "",
            f"has no {RUN_TARGETS}, a run from before caas kept a copy "
            "(fix: pass --targets FILE, the targets file this run used)",
        )
    given = _given(targets_path)
    recorded = recorded_comparison(run_dir)
    if recorded is None:
        _refuse_differences(
            targets_path, differences(tested, {}, given, checks=()), "pass the targets file this run used"
        )
        print(
            f"caas: warning: {run_dir} has neither {RUN_TARGETS} nor a readable {COMPARISON}: the expectations of "
            f"{targets_path} cannot be checked against the run",
            file=sys.stderr,
        )
        return given, tested
    products, expectations, checks = recorded
    products = products + tuple(p for p in tested if p not in products)
    _refuse_differences(
        targets_path, differences(products, expectations, given, checks), "pass the targets file this run used"
    )
    return given, products


def _given(targets_path: str) -> Targets:
    return load_targets(targets_path, check_files=False)


def _refuse_differences(targets_path: str, found: Iterable[str], fix: str) -> None:
    errors = [ConfigError(f"--targets {targets_path}", "", f"{difference} (fix: {fix})") for difference in found]
    if errors:
        raise ConfigErrors(errors)


def recorded_comparison(
    run_dir: Path,
) -> tuple[tuple[str, ...], dict[tuple[str, str], tuple[str, str]], set[str]] | None:
    """What the run's comparison.json recorded: its products, the expectations it showed
    ((check, product) -> (status, reason)) and its checks; None when it is missing or unreadable."""
    try:
        data = json.loads((run_dir / COMPARISON).read_text(encoding="utf-8"))
        products = tuple(str(p) for p in data["products"])
        expectations: dict[tuple[str, str], tuple[str, str]] = {}
        checks: set[str] = set()
        for row in data["checks"]:
            checks.add(str(row["check"]))
            for product, record in row["products"].items():
                if record.get("expected") is not None:
                    expectations[(str(row["check"]), str(product))] = (
                        str(record["expected"]),
                        str(record.get("reason", "")),
                    )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return products, expectations, checks
