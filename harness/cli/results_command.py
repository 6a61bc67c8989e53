"""`caas results RUN_DIR [--check ID] [--product P] [--failed]`: a run's verdicts, reasons and evidence in the terminal.

As `sonobuoy results` reads a results tarball without unpacking it, this reads a run folder as it is
(its allure-results, its own targets copy and environment.json) and writes nothing: the same records and
findings as the decision page (`reports.findings`), one block per check x product, e.g.

    check_network_001 on cfcr: FAIL (expected) [critical] Tenants on a shared cluster cannot reach each other's pods
      observed: expected DENIED, observed ALLOWED: blue/a -> green/a:8080/tcp (connected: probe-a)
      shown by: blue/a → green/a:8080/tcp allowed
      ...

Exit codes: 0 printed (whatever the verdicts); 2 RUN_DIR is no run folder, or --check / --product names
nothing the run judged; 3 the run folder is damaged (see `caas report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, ExitCode

_EXAMPLE = "out/run-1a2b3c4d"


def register(commands: Any) -> None:
    p = commands.add_parser(
        "results",
        help="print a run's verdicts, reasons and evidence",
        description="Print the verdicts of a run folder, one block per check and product: the observed reason, "
        "the cell that shows it, the deciding layer, the remediation and the evidence files. Writes nothing.",
        epilog="Exit codes: 0 printed, 2 not a run folder or nothing matches --check/--product, 3 damaged run folder.",
    )
    p.add_argument("run_dir", help=f"the run's folder, e.g. {_EXAMPLE}")
    p.add_argument(
        "--check", action="append", default=[], help="only this check id, e.g. check_network_001 (repeatable)"
    )
    p.add_argument("--product", action="append", default=[], help="only this product (repeatable)")
    p.add_argument("--failed", action="store_true", help="only what is not a pass: failures, errors, no result")
    p.add_argument("--targets", help="the targets file the run used, for runs without their own copy")
    p.set_defaults(handler=run)


def _select(asked: list[str], known: tuple[str, ...], option: str, hint: str) -> tuple[str, ...]:
    """The `known` ids `asked` for (all when none is asked), in the run's order; ConfigError naming the
    first unknown one, and for a check id of the old naming (`reports.catalog.RENAMED_PREFIXES`) its new id."""
    from reports.catalog import renamed_check_ids

    unknown = [a for a in asked if a not in known]
    if unknown:
        renamed = renamed_check_ids(unknown[0]) if hint == "check" else []
        new = renamed[0][1] if renamed and renamed[0][0] == unknown[0] else ""
        if new in known:
            raise ConfigError(option, unknown[0], f"an old check id, now {new} (fix: {option} {new})")
        now = f"an old check id, now {new}, and " if new else ""
        raise ConfigError(option, unknown[0], f"{now}the run judged no such {hint} (fix: one of {', '.join(known)})")
    return tuple(a for a in known if a in asked) if asked else known


def block(
    cell: dict[str, Any], row: dict[str, Any], product: str, run_dir: Path, names: dict[str, str] | None = None
) -> list[str]:
    """The lines of one check x product (reports.findings' grid row and cell); `names` are the attachments'
    names by file (reports.run_folder.attachment_names)."""
    from reports.decision import cell_text
    from reports.records import decided_by_text

    head = f"{row['check']} on {product}: {cell_text(cell)} [{row['severity']}] {row['title']}"
    measured = [f"  measured: {figure}" for figure in cell["figures"]]
    if cell["status"] == "pass" and cell["meets_expectation"]:
        return [head, *measured]
    lines = [head, f"  observed: {cell['observed_reason'] or 'no failure message'}", *measured]
    if cell["evidence_cell"]:
        lines.append(f"  shown by: {cell['evidence_cell']}")
    if cell["expectation_reason"]:
        lines.append(f"  expected by the targets file: {cell['expected']} ({cell['expectation_reason']})")
    lines += [
        f"  decided by: {decided_by_text(cell['decided_by'], cell.get('decided_by_source', ''))}",
        f"  plans: {', '.join(cell['plans']) or '-'}",
        f"  to fix: {row['remediation'] or '-'}",
    ]
    if row["anchors"]:
        lines.append(f"  answers: {', '.join(row['anchors'])}")
    names = names or {}
    evidence = sorted(cell["evidence"], key=lambda e: not names.get(e, "").endswith(("(text)", "(table)")))
    lines += [f"  evidence: {names.get(e) or 'attachment'}: {run_dir / 'allure-results' / e}" for e in evidence[:6]]
    if len(cell["evidence"]) > 6:
        lines.append(f"  evidence: ... {len(cell['evidence']) - 6} more in the Allure report")
    return lines


def run(args: argparse.Namespace) -> int:
    from harness.cli import report_command, run_command
    from reports.findings import impersonation_notes
    from reports.run_folder import attachment_names, decision_of, read_environment

    run_dir = report_command.run_folder(Path(args.run_dir))
    settings = report_command.settings_of_run(run_dir, args.targets)
    records = run_command.read_records(settings, run_dir / report_command.RESULTS)
    checks = _select(args.check, records.checks, "--check", "check")
    chosen = _select(args.product, records.products, "--product", "product")
    decision = decision_of(records, run_dir, record_trend=False)
    names = attachment_names(run_dir / report_command.RESULTS)
    shown = [
        (row, product)
        for row in decision["grid"]
        if row["check"] in checks
        for product in chosen
        if not (args.failed and row["cells"][product]["status"] in ("pass", "skipped"))
    ]
    count = len({row["check"] for row, _ in shown})
    counted = f"{count} of {len(checks)} check(s) not passed" if args.failed else f"{count} check(s)"
    print(f"run {run_dir.name} ({decision['date']}): {counted} on {', '.join(chosen)}")
    for note in impersonation_notes(read_environment(run_dir), chosen):  # why tenant identities are impersonated
        print(f"  {note}")
    for row, product in shown:
        print("\n".join(block(row["cells"][product], row, product, run_dir, names)))
    unmet = [f for f in decision["findings"] if f["check"] in checks and f["product"] in chosen]
    unmet = [f for f in unmet if not f["meets_expectation"]]
    print(f"unmet expectations: {len(unmet)}; the page: {run_dir / 'decision.html'}")
    return int(ExitCode.OK)
