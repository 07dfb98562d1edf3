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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from swarmgate.core.config import MAX_ITEMS, number_within, printable, read_toml, whole_within
from swarmgate.core.errors import BadInput, InputError, RunFailed
from swarmgate.target import validate_host, validate_url

KEYS = {"scenarios", "time_scale", "host", "workers", "retention", "locustfile", "prometheus", "scrape"}
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
    locustfile: Path | None = None  # relative to the config file's folder; None: scenarios' own, else the demo's
    prometheus: str | None = None  # server metrics from this Prometheus server ...
    scrape: str | None = None  # ... or from the target's /metrics


def load_config(path: Path) -> WeeklyConfig:
    """Every problem of the file in one line (file, keys, fix)."""
    raw = read_toml(path, "weekly configuration", "create it or give --config")
    problems = [f"{printable(key)}: unknown key (known: {', '.join(sorted(KEYS))})" for key in raw if key not in KEYS]
    scenarios = raw.get("scenarios")
    if (not isinstance(scenarios, list) or not 0 < len(scenarios) <= MAX_ITEMS
            or not all(isinstance(s, str) and 0 < len(s) <= 255 for s in scenarios)):  # fmt: skip
        problems.append('scenarios: must be a list of 1 to 1000 scenario names or .toml paths, e.g. ["peak"]')
    scale = number_within(raw.get("time_scale", 1.0), 0.001, 100)
    if scale is None:
        problems.append("time_scale: must be a number from 0.001 to 100")
    workers = whole_within(raw.get("workers", 0), 0, 64)
    if workers is None:
        problems.append("workers: must be a whole number from 0 to 64")
    host = raw.get("host")
    if host is not None:
        try:
            host = validate_host(host) if isinstance(host, str) else None
        except BadInput as exc:
            problems.append("host: " + exc.message.removeprefix("--host: ").removeprefix("--host "))
        if host is None:
            problems.append("host: must be the URL of the API, e.g. http://127.0.0.1:8000 (leave it out for the demo)")
    retention = raw.get("retention", {})
    if not isinstance(retention, dict):
        problems.append("retention: must be a table with keep_runs and keep_days")
        retention = {}
    problems += [f"retention.{printable(k)}: unknown key (known: keep_days, keep_runs)" for k in retention
                 if k not in RETENTION_KEYS]  # fmt: skip
    keep_runs = whole_within(retention.get("keep_runs", 12), 1, 1_000_000)
    keep_days = number_within(retention.get("keep_days", 90), 0, 36_500)
    if keep_runs is None:
        problems.append("retention.keep_runs: must be a whole number from 1 to 1,000,000")
    if keep_days is None:
        problems.append("retention.keep_days: must be a number of days from 0 to 36,500")
    locustfile = locustfile_of(raw, path, problems)
    prometheus = metrics_url(raw, "prometheus", "http://127.0.0.1:9090", problems)
    scrape = metrics_url(raw, "scrape", "http://127.0.0.1:8000/metrics", problems)
    if "prometheus" in raw and "scrape" in raw:
        problems.append("prometheus, scrape: give one source of server metrics")
    if problems:
        raise InputError(path, "; ".join(problems), "fix these keys")
    return WeeklyConfig(path, tuple(scenarios), scale, host, workers, keep_runs, keep_days, locustfile, prometheus,
                        scrape)  # fmt: skip


def metrics_url(raw: dict, key: str, example: str, problems: list[str]) -> str | None:
    """The `prometheus` or `scrape` key: a URL without credentials (a token goes in SWARMGATE_METRICS_TOKEN)."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key}: must be a URL, e.g. {example}")
        return None
    try:
        return validate_url(value, key, example)
    except BadInput as exc:
        problems.append(exc.message)
        return None


def locustfile_of(raw: dict, path: Path, problems: list[str]) -> Path | None:
    """The `locustfile` key, relative to the configuration's folder."""
    value = raw.get("locustfile")
    if value is None:
        return None
    if not isinstance(value, str) or not value or not (path.parent / value).is_file():
        problems.append(f"locustfile: {printable(value)} is not a file (the path is relative to the "
                        "configuration's folder)")  # fmt: skip
        return None
    return (path.parent / value).resolve()


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
