"""One error hierarchy: each error ends a command with one line and the exit code that means it.

Exit codes: 0 pass (warn included), 1 fail (SLA or regression), 2 bad input or usage,
3 the run or its output could not be made, 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_RUN = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class SwarmgateError(Exception):
    """Base: a message a user can act on, and the exit code of the command it ends."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(SwarmgateError):
    """Bad input or usage: names the file or option, the problem and the fix. Exit 2."""

    exit_code = EXIT_USAGE


class InputError(BadInput):
    """A bad input file: the file (and row), the problem and the fix, in one line. Exit 2."""

    def __init__(self, path: Path | str, problem: str, fix: str, row: int | None = None) -> None:
        where = f"{path}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {problem}; {fix}")


class RunFailed(SwarmgateError):
    """The run itself could not be made: target unreachable, Locust crashed. Exit 3.

    `loud`: the system under test may be left broken (a failed undo): the line is shown in red."""

    exit_code = EXIT_RUN

    def __init__(self, message: str, *, loud: bool = False) -> None:
        super().__init__(message)
        self.loud = loud


class OutputError(SwarmgateError):
    """An output could not be written (a full disk, no permission): the path and the problem. Exit 3."""

    exit_code = EXIT_RUN

    def __init__(self, path: Path | str, problem: str,
                 fix: str = "free some space or choose another --results-dir") -> None:  # fmt: skip
        self.path, self.problem = path, problem
        super().__init__(f"{path}: cannot write ({problem}); {fix}")
