"""The `caas` command line: `caas run`, `caas lab ...`, `caas check-config`, `caas clean`, `caas report`.

Exit codes: 0 all expectations met, 1 conformance failures, 2 usage or config error, 3 infrastructure
error, 4 a secret reached an artifact of the run, 130 and 143 interrupted by SIGINT and SIGTERM.
Errors print as `caas: error: ...` lines. Options after `--` go to the command (only `caas run`
takes them: it passes them to pytest).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from harness.cli.interrupts import Interrupted, StopAtOnce, exit_code
from harness.errors import CaasError, ExitCode

Handler = Callable[[argparse.Namespace], int]
DISTRIBUTION = "caas-conformance"
EXIT_CODES = (
    "Exit codes: 0 all expectations met, 1 conformance failures, 2 usage or config error, "
    "3 infrastructure error, 4 a secret reached an artifact of the run (the final scan names file and line), "
    "130 / 143 interrupted by SIGINT / SIGTERM."
)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # `caas lab down --a` must not mean --all: no abbreviated options, on every (sub)command
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"caas: error: {message} (see --help)\n")
        raise SystemExit(ExitCode.USAGE)


def version() -> str:
    """The installed package's version (its metadata), or a note that it is not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    from harness.cli import (
        broker_command,
        clean_command,
        config_command,
        images_command,
        lab_commands,
        report_command,
        results_command,
        run_command,
    )

    parser = _Parser(
        prog="caas",
        description="Multi-tenancy and RBAC conformance suite for Kubernetes-as-a-service platforms.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    run_command.register(commands)
    lab_commands.register(commands)
    config_command.register(commands)
    clean_command.register(commands)
    report_command.register(commands)
    results_command.register(commands)
    broker_command.register(commands)
    images_command.register(commands)
    return parser


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line as a namespace; what follows the first `--` is `pytest_options` (a list),
    for the commands that take it. A usage error exits with code 2 (SystemExit)."""
    words = list(sys.argv[1:] if argv is None else argv)
    after = words[words.index("--") + 1 :] if "--" in words else []
    parser = build_parser()
    args = parser.parse_args(words[: len(words) - len(after) - 1] if "--" in words else words)
    if after and not getattr(args, "takes_pytest_options", False):
        parser.error(f"caas {args.command} takes no options after --: {' '.join(after)}")
    args.pytest_options = after
    return args


def interrupted_hint(args: argparse.Namespace | None) -> str:
    """What to run after an interrupted command, so that nothing it started stays behind."""
    run_id = getattr(args, "run_id", None)
    if run_id:
        return f"to remove what run {run_id} created: caas clean --run-id {run_id}"
    if args is not None and getattr(args, "lab_command", None) == "up":
        name = args.name or args.profile
        return f"if `caas lab status` still lists {name}: caas lab down {name}"
    return "nothing was provisioned; the command is safe to repeat"


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM (CI cancelling a job, `timeout`) unwinds a command as Ctrl-C does, so that what it started
    is torn down (`caas lab up` removes its half-started cluster); a second SIGTERM kills at once."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    previous = signal.signal(signal.SIGTERM, _terminated)  # `caas run` installs its own guard over it
    try:
        args = parse(argv)
        handler: Handler = args.handler
        return handler(args)
    except CaasError as exc:
        for line in [*str(exc).splitlines(), *getattr(exc, "__notes__", [])]:
            sys.stderr.write(f"caas: error: {line}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write(f"caas: interrupted; {interrupted_hint(args)}\n")
        return 130
    except BrokenPipeError:  # the reader of our output went away (`caas ... | head -1`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)  # Python would print a second error flushing stdout at exit
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
    except (Interrupted, StopAtOnce) as signalled:  # SIGTERM to any other command, or just as `caas run` returned
        sys.stderr.write(f"caas: interrupted by {signalled}; {interrupted_hint(args)}\n")
        return exit_code(signalled.signum)
    finally:
        if previous is not None:  # None: a handler not installed from Python, which we cannot restore
            signal.signal(signal.SIGTERM, previous)


def environment() -> dict[str, str]:
    """The process environment, read here once for the settings object."""
    return dict(os.environ)


if __name__ == "__main__":
    raise SystemExit(main())
