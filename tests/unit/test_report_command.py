"""`caas report RUN_DIR`: a damaged or wrong run folder is one line and an exit code, never a traceback;
the report judges the run by its own targets, and refuses another file's.

Exit codes: 2 for a path that is no run folder and for a --targets that does not match the run,
3 for a run folder whose results are missing or damaged.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.cli import run_command
from harness.cli.main import main
from harness.run_targets import RUN_TARGETS, load_run_targets, save_run_targets
from harness.targets import load_targets
from reports.allure_report import AllureUnavailable
from reports.records import RunRecords

TARGETS = textwrap.dedent("""\
    version: 1
    products:
      - {name: cfcr, backend: lab, lab: {profile: cfcr}, plans: [{name: default}]}
      - {name: pks, backend: lab, lab: {profile: pks}, plans: [{name: small}]}
    tenancy:
      - {product: cfcr, tenants: [{name: blue, plan: default}]}
      - {product: pks, tenants: [{name: blue, plan: small}]}
    expectations:
      - {product: cfcr, check: check_network_001, status: fail, reason: flannel does not enforce NetworkPolicy}
    """)


def result(check: str, product: str, status: str = "passed", uuid: str = "") -> dict[str, Any]:
    return {
        "name": f"{check} on {product}",
        "status": status,
        "uuid": uuid or f"{check}-{product}",
        "start": 1000,
        "stop": 1500,
        "labels": [{"name": "check", "value": check}, {"name": "product", "value": product}],
    }


def make_run(root: Path, results: list[dict[str, Any]], name: str = "run-0a0b0c0d") -> Path:
    """A run folder as `caas run` leaves it before the reports: pytest.log, allure-results and the
    environment of every product that ran (fixtures.run_facts, reduced to its backend)."""
    run_dir = root / "out" / name
    (run_dir / "allure-results").mkdir(parents=True)
    (run_dir / "pytest.log").write_text("")
    products: dict[str, Any] = {}
    for item in results:
        (run_dir / "allure-results" / f"{item['uuid']}-result.json").write_text(json.dumps(item))
        for label in item.get("labels", []):
            if label["name"] == "product":
                products[label["value"]] = {"backend": "lab"}
    (run_dir / "environment.json").write_text(json.dumps({"products": products}))
    return run_dir


@pytest.fixture
def targets_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS)
    return path


@pytest.fixture
def no_allure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Allure HTML report is another test's subject: here it is left out (records unchanged)."""

    def unchanged(records: RunRecords, *_: object) -> RunRecords:
        return records

    monkeypatch.setattr(run_command, "write_allure_report", unchanged)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["report", *argv])
    return code, capsys.readouterr().err.splitlines()


def assert_one_error(lines: list[str], where: str, *words: str) -> None:
    assert len(lines) == 1, "\n".join(lines)
    assert lines[0].startswith(f"caas: error: {where}: "), lines[0]
    assert "(fix: " in lines[0] or "; fix: " in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


# --- paths that are no run folder: exit 2 ------------------------------------------------------


def test_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "out" / "run-gone"
    code, lines = report(capsys, str(missing))
    assert code == 2
    assert_one_error(lines, str(missing), "no such folder", "pass a run folder written by caas run")


def test_a_file_instead_of_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("x")
    code, lines = report(capsys, str(tmp_path / "notes.txt"))
    assert code == 2
    assert_one_error(lines, str(tmp_path / "notes.txt"), "is a file, not a run folder")


def test_a_folder_that_is_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "random").mkdir()
    code, lines = report(capsys, str(tmp_path / "random"))
    assert code == 2
    assert_one_error(lines, str(tmp_path / "random"), "is not a run folder")


def test_the_folder_of_runs_points_at_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks")])
    code, lines = report(capsys, str(run_dir.parent))
    assert code == 2
    assert_one_error(lines, str(run_dir.parent), "holds runs but is not one", f"e.g. {run_dir}")


# --- damaged run folders: exit 3 -----------------------------------------------------------------


def test_a_run_without_allure_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, [])
    (run_dir / "allure-results").rmdir()
    code, lines = report(capsys, str(run_dir))
    assert code == 3
    assert_one_error(lines, str(run_dir), "allure-results is missing", "fix: run the checks again")


def test_a_run_without_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, [])
    code, lines = report(capsys, str(run_dir))
    assert code == 3
    assert_one_error(lines, str(run_dir / "allure-results"), "holds no check results")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (lambda text: text[: len(text) // 2], "is truncated (its JSON breaks off after"),
        (lambda text: text[:40], "is truncated"),
        (lambda text: "", "is empty"),
        (lambda text: text.replace('"labels"', '"labels" "x"', 1), "is not valid JSON (Expecting ':' delimiter"),
        (lambda text: "[1, 2]", "is not an Allure result (expected a JSON object)"),
        (lambda text: text.replace('"start": 1000', '"start": "soon"'), "start is not a whole number"),
        (lambda text: json.dumps({**json.loads(text), "labels": {"check": "x"}}), "labels is not a list"),
    ],
    ids=["truncated-half", "truncated-in-a-string", "empty", "invalid", "not-an-object", "bad-start", "bad-labels"],
)
def test_a_damaged_result_file_is_refused_not_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path, content: Any, problem: str
) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks", "failed"), result("check_network_001", "cfcr")])
    damaged = run_dir / "allure-results" / "check_network_001-pks-result.json"
    damaged.write_text(content(damaged.read_text()))
    code, lines = report(capsys, str(run_dir), "--targets", str(targets_file))
    assert code == 3
    assert_one_error(lines, str(damaged), problem, "it may be its check's one failure", "fix: run the checks again")
    assert not (run_dir / "comparison.json").exists(), "no report is written from a damaged run"


# --- the run's own targets ------------------------------------------------------------------------


def test_a_run_without_a_targets_copy_needs_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks")])
    code, lines = report(capsys, str(run_dir))
    assert code == 2
    assert_one_error(lines, str(run_dir), f"has no {RUN_TARGETS}", "pass --targets FILE")


def test_the_report_uses_the_run_copy_and_only_the_products_it_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path, no_allure: None
) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks"), result("check_rbac_001", "pks", "failed")])
    save_run_targets(run_dir, load_targets(targets_file), ["pks"])
    code, lines = report(capsys, str(run_dir))
    assert (code, lines) == (0, [])
    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert comparison["products"] == ["pks"]
    statuses = {row["check"]: row["products"]["pks"]["status"] for row in comparison["checks"]}
    assert statuses == {"check_network_001": "pass", "check_rbac_001": "fail"}


def test_the_summary_counts_checks_and_says_how_many_scenarios_they_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path, no_allure: None
) -> None:
    two_scenarios = [result("check_network_001", "pks", uuid="a"), result("check_network_001", "pks", uuid="b")]
    run_dir = make_run(tmp_path, [*two_scenarios, result("check_rbac_001", "pks", "failed")])
    save_run_targets(run_dir, load_targets(targets_file), ["pks"])

    assert main(["report", str(run_dir)]) == 0
    assert "  pks          2 checks (3 scenarios): 1 fail, 1 pass\n" in capsys.readouterr().out


def test_a_report_whose_allure_report_failed_names_no_allure_page_an_earlier_run_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> RunRecords:
        raise AllureUnavailable("the Allure 3 CLI is not installed")

    monkeypatch.setattr(run_command, "write_allure_report", unavailable)
    run_dir = make_run(tmp_path, [result("check_network_001", "pks")])
    save_run_targets(run_dir, load_targets(targets_file), ["pks"])
    (run_dir / "allure-report").mkdir()
    (run_dir / "allure-report" / "index.html").write_text("<html>an earlier run's report</html>")

    assert main(["report", str(run_dir)]) == 3
    out = capsys.readouterr()
    assert "caas: error: Allure report: the Allure 3 CLI is not installed" in out.err
    assert "allure-report" not in out.out
    assert "allure-report" not in (run_dir / "comparison.html").read_text()
    assert "allure-report" not in (run_dir / "decision.html").read_text()


def test_other_targets_are_refused_naming_each_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path
) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks"), result("check_network_001", "cfcr", "failed")])
    save_run_targets(run_dir, load_targets(targets_file))
    other = tmp_path / "other.yaml"
    other.write_text(TARGETS.replace("status: fail, reason: flannel", "status: pass, reason: flannel"))
    code, lines = report(capsys, str(run_dir), "--targets", str(other))
    assert code == 2
    assert lines == [
        f"caas: error: --targets {other}: the run expected check_network_001 on cfcr to fail; this file expects pass "
        f"(fix: omit --targets to use the run's own {run_dir / RUN_TARGETS})"
    ]
    assert not (run_dir / "comparison.json").exists()


def test_targets_without_a_product_the_run_tested_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path
) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks"), result("check_network_001", "cfcr", "failed")])
    only_pks = tmp_path / "pks-only.yaml"
    only_pks.write_text(
        "\n".join(line for line in TARGETS.splitlines() if "cfcr" not in line and "expectations" not in line) + "\n"
    )
    code, lines = report(capsys, str(run_dir), "--targets", str(only_pks))
    assert code == 2
    assert_one_error(lines, f"--targets {only_pks}", 'the run tested product "cfcr", which this file does not name')


def test_targets_are_checked_against_the_recorded_comparison_of_an_older_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets_file: Path, no_allure: None
) -> None:
    run_dir = make_run(tmp_path, [result("check_network_001", "pks"), result("check_network_001", "cfcr", "failed")])
    assert main(["report", str(run_dir), "--targets", str(targets_file)]) == 0  # writes comparison.json
    capsys.readouterr()
    changed = tmp_path / "changed.yaml"
    changed.write_text(TARGETS.replace("flannel does not enforce NetworkPolicy", "another reason"))
    code, lines = report(capsys, str(run_dir), "--targets", str(changed))
    assert code == 2
    assert_one_error(lines, f"--targets {changed}", "the reasons for check_network_001 on cfcr differ")


def test_the_copy_keeps_the_chosen_products_and_no_file_of_the_targets_folder(tmp_path: Path) -> None:
    (tmp_path / "cfcr.yml").write_text("name: cfcr\n")
    (tmp_path / "privileged.yml").write_text("[]\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        TARGETS.replace(
            "  - {name: pks, backend: lab, lab: {profile: pks}, plans: [{name: small}]}",
            '  - {name: pks, backend: bosh, plans: [{name: small}], bosh: {director_url: "https://d:25555", '
            "client_env: C, client_secret_env: S, manifest: cfcr.yml, ops_files: [privileged.yml], "
            "vars: {admin_password: hunter2secret}}}",
        )
    )
    run_dir = tmp_path / "out" / "run-1"
    run_dir.mkdir(parents=True)
    path = save_run_targets(run_dir, load_targets(targets), ["pks"])
    text = path.read_text()
    assert "hunter2secret" not in text
    assert path.stat().st_mode & 0o077 == 0
    copy = load_run_targets(run_dir)
    assert copy is not None
    assert [p.name for p in copy.spec.products] == ["pks"]
    bosh = copy.spec.products[0].bosh
    assert bosh is not None
    assert bosh.manifest == str(tmp_path / "cfcr.yml")
    assert bosh.ops_files == [str(tmp_path / "privileged.yml")]
    assert copy.spec.expectations == []
