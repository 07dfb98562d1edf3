"""The one error the analyzer raises for bad input: it names the file, where, the problem and the fix."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    exit_code = 2  # bad input (DESIGN.md's exit codes)

    def __init__(self, path: Path | str, problem: str, fix: str, row: int | None = None) -> None:
        where = f"{path}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {problem}; {fix}")
        self.message = str(self)
