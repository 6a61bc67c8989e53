"""`caas run` without a cluster: bad output folders, selections and run ids are one line and exit 2,
options after `--` reach pytest, `--version` and the exit codes of `--help`; the signal handling
that stops a run (interrupts.py) against small child processes."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.cli import interrupts, run_command
from harness.cli.main import build_parser, interrupted_hint, main, parse
from harness.cli.run_command import pytest_command
from harness.errors import ExitCode
from harness.settings import build_settings
from harness.wait import wait_until
from tests.support import ROOT, existing_product_targets, offline_kubeconfig, run_caas


@pytest.fixture
def targets(tmp_path: Path) -> Path:
    """A targets file with one existing cluster (kubeconfig backend): no lab build, nothing provisioned
    before pytest starts."""
    kubeconfig = offline_kubeconfig(tmp_path / "existing.kubeconfig", server="https://127.0.0.1:9")
    return existing_product_targets(tmp_path, kubeconfig)


def _caas(*args: str) -> subprocess.CompletedProcess[str]:
    return run_caas(*args, timeout=120)


def _errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("caas: error:")]


def test_output_that_is_a_file_is_one_line_exit_2(
    targets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results.txt"
    output.write_text("not a folder\n")
    code = main(["run", "--targets", str(targets), "--output", str(output)])
    errors = _errors(capsys.readouterr().err)
    assert code == ExitCode.USAGE
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"caas: error: --output: {output} is a file, not a folder (fix: ")
    assert output.read_text() == "not a folder\n"


def test_an_existing_run_folder_is_never_overwritten(
    targets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = tmp_path / "out" / "nightly-1"
    earlier.mkdir(parents=True)
    (earlier / "comparison.json").write_text('{"earlier": true}')
    code = main(["run", "--targets", str(targets), "--output", str(tmp_path / "out"), "--run-id", "nightly-1"])
    errors = _errors(capsys.readouterr().err)
    assert code == ExitCode.USAGE
    assert len(errors) == 1, errors
    assert errors[0].startswith('caas: error: --run-id: run "nightly-1" already has its folder')
    assert "fix: give a new --run-id" in errors[0]
    assert [p.name for p in earlier.iterdir()] == ["comparison.json"]
    assert (earlier / "comparison.json").read_text() == '{"earlier": true}'


def test_a_selection_that_matches_no_scenario_is_a_usage_error(targets: Path, tmp_path: Path) -> None:
    result = _caas("run", "--targets", str(targets), "--output", str(tmp_path), "--run-id", "nomatch", "-k", "nomatch")
    errors = _errors(result.stderr)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert errors == [
        'caas: error: -k: no scenario matches -k "nomatch" '
        f'(fix: see what matches with `pytest steps --collect-only -q --targets {targets} -k "nomatch"`)'
    ]
    assert not (tmp_path / "nomatch").exists(), "a run that ran nothing leaves no folder"


def test_options_after_double_dash_reach_pytest(targets: Path, tmp_path: Path) -> None:
    """`-m` after `--` selects by marker in pytest: a marker no scenario has selects none (without the
    option, the scenarios would run and fail to provision on the unreachable cluster)."""
    marker = "rbac and not rbac"
    result = _caas("run", "--targets", str(targets), "--output", str(tmp_path), "--", "-x", "-m", marker)
    errors = _errors(result.stderr)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert len(errors) == 1, errors
    assert f"no scenario matches -- -x -m '{marker}'" in errors[0]


def test_options_after_double_dash_follow_the_runs_own(targets: Path, tmp_path: Path) -> None:
    args = parse(["run", "--targets", str(targets), "-k", "rbac", "--", "-x", "--maxfail=1", "-m", "rbac"])
    assert args.pytest_options == ["-x", "--maxfail=1", "-m", "rbac"]
    assert args.keyword == "rbac"
    settings = build_settings(targets_path=targets, environment={}, run_id="r1")
    command = pytest_command(settings, tmp_path / "r1", args.keyword, args.pytest_options)
    assert command[:4] == [sys.executable, "-m", "pytest", "steps"]
    assert command[-6:] == ["-k", "rbac", "-x", "--maxfail=1", "-m", "rbac"]
    assert "--run-id=r1" in command


@pytest.mark.parametrize("option", ["--run-id=other", "--targets", "-k", "-knet", "--alluredir=/tmp/a"])
def test_options_the_run_sets_itself_are_refused_after_double_dash(
    option: str, targets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--targets", str(targets), "--", option, "x"])
    errors = _errors(capsys.readouterr().err)
    name = "-k" if option.startswith("-k") else option.split("=", maxsplit=1)[0]
    assert code == ExitCode.USAGE
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"caas: error: -- {name}: caas run gives pytest {name} itself (fix: ")


def test_commands_other_than_run_take_nothing_after_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["clean", "--run-id", "r1", "--", "-x"])
    assert ended.value.code == ExitCode.USAGE
    assert "caas: error: caas clean takes no options after --: -x" in capsys.readouterr().err


def test_version_is_the_installed_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"caas {importlib.metadata.version('caas-conformance')}\n"


def test_help_lists_every_exit_code() -> None:
    text = " ".join(build_parser().format_help().split())
    for code in ExitCode:
        assert f" {int(code)} " in text, f"exit code {int(code)} ({code.name}) is missing from caas --help"
    assert "4 a secret reached an artifact of the run" in text
    assert "130 / 143 interrupted by SIGINT / SIGTERM" in text


def test_run_help_documents_double_dash_and_signals(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["run", "--help"])
    assert ended.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: caas run [options] [-- PYTEST_OPTION ...]" in text
    assert "caas run -- -x --maxfail=1 -m rbac" in text
    assert "exits 130 (SIGINT) or 143 (SIGTERM)" in text
    assert "caas clean --run-id ID" in text


# --- the signal handling of a run, against small child processes -------------------------------------

CHILD = """\
import signal, sys
mode = sys.argv[1]
if mode == "deaf":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
print("ready", flush=True)
try:
    signal.pause()  # a run's pytest: busy until a signal ends it
except KeyboardInterrupt:
    print("tore down", flush=True)
    sys.exit(2)
"""


def _child(guard: interrupts.SignalGuard, tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{mode}.log"
    with log.open("wb") as out:
        child = interrupts.start_checks(guard, [sys.executable, "-c", CHILD, mode], tmp_path, out)
    wait_until(log.read_text, lambda text: "ready" in text, timeout=30, what=f"the {mode} child to start")
    return child, log


def _signal_self(guard: interrupts.SignalGuard, signum: int) -> None:
    seen = len(guard.received)
    os.kill(os.getpid(), signum)
    wait_until(lambda: len(guard.received), lambda n: n > seen, timeout=5, what="the signal handler to run")


def test_first_signal_interrupts_second_stops_at_once_then_nothing() -> None:
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupts.SignalGuard() as guard:
        with pytest.raises(interrupts.Interrupted) as first:
            _signal_self(guard, signal.SIGTERM)
        with pytest.raises(interrupts.StopAtOnce) as second:
            _signal_self(guard, signal.SIGINT)
        _signal_self(guard, signal.SIGINT)
        assert len(guard.received) == 3
    assert (first.value.signum, second.value.signum) == (signal.SIGTERM, signal.SIGINT)
    assert interrupts.exit_code(first.value.signum) == 143
    assert interrupts.exit_code(second.value.signum) == 130
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == previous, "the handlers are back"


def test_the_checks_run_in_their_own_session_and_tear_down_on_the_forwarded_interrupt(tmp_path: Path) -> None:
    with interrupts.SignalGuard() as guard:
        child, log = _child(guard, tmp_path, "polite")
        assert os.getsid(child.pid) == child.pid != os.getsid(0), "a terminal's Ctrl-C does not reach it"
        outcome = interrupts.stop_checks(child, grace=30)
    assert outcome.startswith("the checks stopped and tore down in ")
    assert child.returncode == 2
    assert log.read_text() == "ready\ntore down\n"


def test_checks_that_do_not_tear_down_in_time_are_killed(tmp_path: Path) -> None:
    with interrupts.SignalGuard() as guard:
        child, _log = _child(guard, tmp_path, "deaf")
        started = time.monotonic()
        outcome = interrupts.stop_checks(child, grace=1)
    assert outcome == "the checks did not tear down within 1 s: killed"
    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_the_checks_die_with_caas_even_by_sigkill(tmp_path: Path) -> None:
    """A caas killed with SIGKILL takes its pytest with it (parent-death signal): nothing keeps
    provisioning behind a `caas clean`."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""\
            import sys, pathlib, signal
            from harness.cli import interrupts
            with interrupts.SignalGuard() as guard, open("{tmp_path}/out.log", "wb") as out:
                busy = [sys.executable, "-c", "import signal; signal.pause()"]
                child = interrupts.start_checks(guard, busy, ".", out)
                pathlib.Path("{pid_file}").write_text(str(child.pid))
                signal.pause()
            """),
        ],
        cwd=ROOT,
    )
    try:
        text = wait_until(
            lambda: pid_file.read_text() if pid_file.exists() else "", bool, timeout=30, what="the child's pid"
        )
    finally:
        parent.kill()
        parent.wait(timeout=10)
    child = int(text)
    wait_until(lambda: _alive(child), lambda alive: not alive, timeout=10, what="the orphaned child to die")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_an_interrupted_command_names_the_command_that_finishes_its_job() -> None:
    assert interrupted_hint(parse(["clean", "--run-id", "r7"])) == (
        "to remove what run r7 created: caas clean --run-id r7"
    )
    assert interrupted_hint(parse(["lab", "up", "--name", "sg-a"])) == (
        "if `caas lab status` still lists sg-a: caas lab down sg-a"
    )
    assert interrupted_hint(None) == "nothing was provisioned; the command is safe to repeat"


def test_an_old_check_id_in_k_is_refused_before_the_lab_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab example's products need the lab build (up to 30 minutes cold): `-k check_net_001` selects
    nothing, so it is refused first, in one line, and no run folder is made."""

    def no_build(*_: object, **__: object) -> None:
        raise AssertionError("the lab build ran for a -k that selects nothing")

    monkeypatch.setattr(run_command.build, "build_all", no_build)
    monkeypatch.setenv("CAAS_LAB_HOME", str(tmp_path / "lab"))
    code = main(["run", "--output", str(tmp_path / "out"), "-k", "check_net_001 or check_rbac_001"])
    errors = _errors(capsys.readouterr().err)
    assert code == ExitCode.USAGE
    assert errors == [
        "caas: error: -k check_net_001: an old check id, now check_network_001 "
        "(fix: -k 'check_network_001 or check_rbac_001')"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("logged", "line"),
    [
        (
            "ERROR: caas: error: -k check_net_001: an old check id, now check_network_001 (fix: -k check_network_001)",
            "-k check_net_001: an old check id, now check_network_001 (fix: -k check_network_001)",
        ),
        (
            "ERROR: usage: __main__.py [options] [file_or_dir]\n__main__.py: error: unrecognized arguments: --bogus",
            "-- PYTEST_OPTION: pytest refused: __main__.py: error: unrecognized arguments: --bogus "
            "(fix: see pytest --help)",
        ),
    ],
)
def test_a_pytest_usage_error_is_one_line_with_one_prefix_and_one_fix(tmp_path: Path, logged: str, line: str) -> None:
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    (run_dir / "pytest.log").write_text(f"collecting ...\n{logged}\n")
    error = run_command._selection_error(4, run_dir, [], ["--bogus"])
    assert str(error) == line
    assert not run_dir.exists()
