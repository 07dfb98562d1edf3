"""Small file and time helpers shared by the recorders (inside Locust) and the analyzer (no Locust).

Every write is atomic (a temporary file, then a rename), and a failed write leaves no temporary file
behind and raises OutputError naming the path and the problem (e.g. no space left on device).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from swarmgate.core.errors import OutputError


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts is not None else None


def stage(path: Path, text: str) -> Path:
    """Write text beside path under a temporary name; returns that name (see commit)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc.strerror or type(exc).__name__) from None
    return tmp


def commit(tmp: Path, path: Path) -> None:
    """Put a staged file in place (a rename: a reader never sees half a file)."""
    try:
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc.strerror or type(exc).__name__) from None


def discard(staged: Iterable[Path]) -> None:
    for tmp in staged:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename it, so a reader never sees half a file."""
    commit(stage(path, text), path)


def make_dir(path: Path, *, exist_ok: bool = True) -> None:
    """mkdir -p, with OutputError (one line, exit 3) when the disk or permissions refuse."""
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OutputError(path, exc.strerror or type(exc).__name__) from None
