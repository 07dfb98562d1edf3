"""Small file and time helpers shared by the recorders (inside Locust) and the analyzer (no Locust)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts is not None else None


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename it, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
