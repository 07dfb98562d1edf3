"""The weekly job: its configuration (weekly.toml), the lock against overlapping runs, and retention.

A run dir is pruned only when it is both beyond the newest `keep_runs` of its scenario and older
than `keep_days`; promoted baselines (results/baselines/) and the history rows are never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from swarmgate.core.errors import InputError, RunFailed

KEYS = {"scenarios", "time_scale", "host", "workers", "retention"}
RETENTION_KEYS = {"keep_runs", "keep_days"}


@dataclass(frozen=True)
class WeeklyConfig:
    path: Path
    scenarios: tuple[str, ...]
    time_scale: float = 1.0
    host: str | None = None
    workers: int = 0
    keep_runs: int = 12
    keep_days: float = 90.0


def load_config(path: Path) -> WeeklyConfig:
    """Every problem of the file in one line (file, keys, fix)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "does not exist", "create it or give --config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not valid TOML ({exc})", "fix the syntax") from None
    problems = [f"{key}: unknown key (known: {', '.join(sorted(KEYS))})" for key in raw if key not in KEYS]
    scenarios = raw.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios or not all(isinstance(s, str) and s for s in scenarios):
        problems.append('scenarios: must be a non-empty list of scenario names, e.g. ["baseline", "peak"]')
    scale = raw.get("time_scale", 1.0)
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0.001 <= scale <= 100:
        problems.append("time_scale: must be a number from 0.001 to 100")
    workers = raw.get("workers", 0)
    if not isinstance(workers, int) or isinstance(workers, bool) or not 0 <= workers <= 64:
        problems.append("workers: must be a whole number from 0 to 64")
    host = raw.get("host")
    if host is not None and not isinstance(host, str):
        problems.append("host: must be a URL string")
    retention = raw.get("retention", {})
    if not isinstance(retention, dict):
        problems.append("retention: must be a table with keep_runs and keep_days")
        retention = {}
    problems += [
        f"retention.{k}: unknown key (known: keep_days, keep_runs)" for k in retention if k not in RETENTION_KEYS
    ]
    keep_runs, keep_days = retention.get("keep_runs", 12), retention.get("keep_days", 90)
    if not isinstance(keep_runs, int) or isinstance(keep_runs, bool) or keep_runs < 1:
        problems.append("retention.keep_runs: must be a whole number, 1 or more")
    if not isinstance(keep_days, int | float) or isinstance(keep_days, bool) or keep_days < 0:
        problems.append("retention.keep_days: must be a number of days, 0 or more")
    if problems:
        raise InputError(path, "; ".join(problems), "fix these keys")
    return WeeklyConfig(path, tuple(scenarios), float(scale), host, workers, keep_runs, float(keep_days))


class WeeklyLock:
    """An exclusive, non-blocking lock on results/.weekly.lock; the kernel frees it if the holder dies."""

    def __init__(self, results_root: Path) -> None:
        self.path = results_root / ".weekly.lock"
        self.handle = None

    def __enter__(self) -> WeeklyLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole job)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunFailed(f"{self.path}: another weekly run holds the lock ({holder}); "
                            "this one is refused, wait for it to end") from None  # fmt: skip
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.truncate(0)
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def run_dirs(results_root: Path) -> dict[str, list[Path]]:
    """Run dirs per scenario (those holding run.json), oldest first; baselines are not runs."""
    found: dict[str, list[Path]] = {}
    for scenario_dir in sorted(p for p in results_root.iterdir() if p.is_dir() and p.name != "baselines"):
        runs = sorted(p for p in scenario_dir.iterdir() if p.is_dir() and (p / "run.json").is_file())
        if runs:
            found[scenario_dir.name] = runs
    return found


def started_at(run_dir: Path) -> float:
    try:
        started = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("started")
        return datetime.fromisoformat(started).timestamp()
    except (OSError, ValueError, TypeError, AttributeError):
        return run_dir.stat().st_mtime


def prune(results_root: Path, keep_runs: int, keep_days: float, now: float | None = None) -> list[Path]:
    """Delete run dirs beyond the newest keep_runs of their scenario AND older than keep_days."""
    now = time.time() if now is None else now
    removed = []
    for runs in run_dirs(results_root).values():
        for run_dir in runs[:-keep_runs]:
            if now - started_at(run_dir) > keep_days * 86400:
                shutil.rmtree(run_dir)
                removed.append(run_dir)
    return removed
