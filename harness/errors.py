"""Errors the suite reports to its users, each with the exit code it maps to."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of the `caas` CLI."""

    OK = 0  # every expectation met
    CONFORMANCE_FAILURE = 1  # at least one check failed
    USAGE = 2  # bad command line, targets file or plan definition
    INFRASTRUCTURE = 3  # a cluster, backend or tool could not do its part
    SECRET_LEAKED = 4  # the final scan found a secret in an artifact of the run


class CaasError(Exception):
    """An error shown to the user as one line; `exit_code` says how the CLI ends."""

    exit_code: ExitCode = ExitCode.INFRASTRUCTURE


class ConfigError(CaasError):
    """Bad input: names where it is (file and field path) and how to fix it."""

    exit_code = ExitCode.USAGE

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {message}")


class ConfigErrors(CaasError):
    """Several configuration errors found in one pass; each prints as its own line."""

    exit_code = ExitCode.USAGE

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class InfrastructureError(CaasError):
    """A cluster, backend or host tool failed; the message says what and the fix."""

    exit_code = ExitCode.INFRASTRUCTURE


class SecretLeakError(CaasError):
    """A secret reached an artifact: the run's output must not be shared until it is removed."""

    exit_code = ExitCode.SECRET_LEAKED
