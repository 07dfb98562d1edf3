"""Errors that end a command with one line and a meaningful exit code (see DESIGN.md)."""

from __future__ import annotations

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_RUN = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class SwarmgateError(Exception):
    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(SwarmgateError):
    """Bad input or usage: names the file or option, the problem and the fix. Exit 2."""

    exit_code = EXIT_USAGE


class RunFailed(SwarmgateError):
    """The run itself could not be made: target unreachable, Locust crashed. Exit 3."""

    exit_code = EXIT_RUN
