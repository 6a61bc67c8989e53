"""The `caas` command line: `caas run`, `caas lab ...`, `caas check-config`, `caas clean`, `caas report`.

Exit codes: 0 all expectations met, 1 conformance failures, 2 usage or config
error, 3 infrastructure error. Errors print as `caas: error: ...` lines.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from provisioning.errors import CaasError, ExitCode

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"caas: error: {message} (see --help)\n")
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    from provisioning.cli import (
        broker_command,
        clean_command,
        config_command,
        lab_commands,
        report_command,
        run_command,
    )

    parser = _Parser(
        prog="caas",
        description="Multi-tenancy and RBAC conformance suite for Kubernetes-as-a-service platforms.",
        epilog="Exit codes: 0 all expectations met, 1 conformance failures, 2 usage or config error, "
        "3 infrastructure error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    run_command.register(commands)
    lab_commands.register(commands)
    config_command.register(commands)
    clean_command.register(commands)
    report_command.register(commands)
    broker_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CaasError as exc:
        for line in [*str(exc).splitlines(), *getattr(exc, "__notes__", [])]:
            sys.stderr.write(f"caas: error: {line}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("caas: interrupted; run `caas clean` to remove what this run created\n")
        return 130


def environment() -> dict[str, str]:
    """The process environment, read here once for the settings object."""
    return dict(os.environ)


if __name__ == "__main__":
    raise SystemExit(main())
