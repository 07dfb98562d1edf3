"""results/history.sqlite: every analyzed run's summary, one transaction per run.

The schema is versioned (table `meta`, key `schema_version`). A run is written inside one
transaction (BEGIN IMMEDIATE ... COMMIT) with SQLite's rollback journal: a writer killed halfway
leaves the file as it was before that run, readable, with every earlier run intact. Analyzing a run
again replaces its rows in the same single transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from swarmgate.core.errors import InputError, OutputError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY, run_id TEXT, scenario TEXT, started TEXT, ended TEXT, verdict TEXT NOT NULL,
    source TEXT NOT NULL, partial INTEGER, path TEXT NOT NULL, recorded_at REAL NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoint_metrics (
    run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE, method TEXT NOT NULL, name TEXT NOT NULL,
    requests INTEGER, failures INTEGER, error_ratio REAL, rps REAL, p50_ms REAL, p95_ms REAL, p99_ms REAL,
    max_ms REAL, PRIMARY KEY (run_key, method, name));
"""
INDEXES = {  # what the queries below look runs up by, in the order they sort them (no sort step, no scan)
    "runs_by_scenario_time": "CREATE INDEX IF NOT EXISTS runs_by_scenario_time ON runs(scenario, started, recorded_at)",
    "runs_by_time": "CREATE INDEX IF NOT EXISTS runs_by_time ON runs(started, recorded_at)",
}
SUPERSEDED_INDEXES = ("runs_by_scenario",)  # (scenario, started): before recorded_at broke ties in the index
METRIC_COLUMNS = ("requests", "failures", "error_ratio", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms")


class HistoryError(InputError):
    """A history file that cannot be used: one line, exit 2, and nothing is written."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)


def unwritable(path: Path, exc: sqlite3.OperationalError) -> OutputError:
    if "locked" in str(exc):
        return OutputError(path, str(exc), "another swarmgate process is writing it; try again when it is done")
    return OutputError(path, str(exc))


def connect(path: Path) -> sqlite3.Connection:
    try:
        return _connect(path)
    except sqlite3.OperationalError as exc:
        if any(word in str(exc) for word in ("full", "unable to open", "readonly", "locked")):
            raise unwritable(path, exc) from None
        raise HistoryError(path, f"is not a usable SQLite history ({exc})",
                           "move it aside; swarmgate starts a new one") from None  # fmt: skip
    except sqlite3.DatabaseError as exc:
        raise HistoryError(path, f"is not a usable SQLite history ({exc})",
                           "move it aside; swarmgate starts a new one") from None  # fmt: skip


def check(path: Path) -> None:
    """Open and close an existing history, so a bad file is refused before anything else is written.

    A missing one is not created here: the first run recorded creates it.
    """
    if path.exists():
        connect(path).close()


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = DELETE")  # rollback journal: a killed writer's transaction is undone
    db.execute("PRAGMA synchronous = FULL")
    version = None
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else None
    except sqlite3.OperationalError:
        pass  # a new file
    if version is None:
        db.execute("BEGIN IMMEDIATE")  # not executescript(): it would commit this transaction first
        for statement in filter(str.strip, SCHEMA.split(";")):
            db.execute(statement)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        db.execute("COMMIT")
    elif version > SCHEMA_VERSION:
        db.close()
        raise HistoryError(path, f"has schema version {version}, newer than this swarmgate's {SCHEMA_VERSION}",
                           "upgrade swarmgate, or point --results-dir elsewhere")  # fmt: skip
    add_indexes(db)
    return db


def add_indexes(db: sqlite3.Connection) -> None:
    """Give a history the indexes its queries need (a file from an older swarmgate lacks them), in one
    transaction; a file that has them is not written to. The schema version stays: no reader needs them,
    so a history that cannot be written now (read-only, busy) is read without them, only slower."""
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    if set(INDEXES) <= names and not names & set(SUPERSEDED_INDEXES):
        return
    try:
        db.execute("BEGIN IMMEDIATE")
        for statement in INDEXES.values():
            db.execute(statement)
        for name in SUPERSEDED_INDEXES:
            db.execute(f"DROP INDEX IF EXISTS {name}")
        db.execute("COMMIT")
    except sqlite3.OperationalError:
        if db.in_transaction:
            db.execute("ROLLBACK")


def run_key(summary: dict, path: Path) -> str:
    run = summary["run"]
    return f"{run.get('scenario')}/{run.get('run_id')}" if run.get("source") == "swarmgate" else str(path.resolve())


def record(history: Path, summary: dict, run_path: Path) -> str:
    """Store one analyzed run (replacing an earlier analysis of the same run) in one transaction."""
    key = run_key(summary, run_path)
    run = summary["run"]
    db = connect(history)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM runs WHERE run_key = ?", (key,))
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, run.get("run_id"), run.get("scenario"), run.get("started"), run.get("ended"), summary["verdict"],
             run.get("source"), int(bool(run.get("partial"))), str(run_path), time.time(), json.dumps(summary)),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO endpoint_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(key, row["method"], row["name"], *(row.get(c) for c in METRIC_COLUMNS))
             for row in summary["judged_endpoints"]],
        )  # fmt: skip
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError):  # e.g. "database or disk is full": nothing was recorded
            raise unwritable(history, exc) from None
        raise
    finally:
        db.close()
    return key


def runs(history: Path, scenario: str | None = None, last: int | None = None) -> list[dict]:
    """Recorded runs, oldest first: key, run_id, scenario, started, verdict."""
    if not history.is_file():
        return []
    db = connect(history)
    try:
        query = "SELECT run_key, run_id, scenario, started, verdict FROM runs"
        params: tuple = ()
        if scenario:
            query, params = query + " WHERE scenario = ?", (scenario,)
        rows = db.execute(query + " ORDER BY started, recorded_at", params).fetchall()
    finally:
        db.close()
    found = [dict(zip(("key", "run_id", "scenario", "started", "verdict"), r, strict=True)) for r in rows]
    return found[-last:] if last else found
