"""results/history.sqlite: versioned, one transaction per run, intact after a writer is killed halfway."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swarmgate.analysis.history import SCHEMA_VERSION, HistoryError, connect, record, runs
from tests.helpers import ROOT


def summary(run_id: str, endpoints: int = 3) -> dict:
    rows = [{"method": "GET", "name": f"/e{i}", "requests": 10, "failures": 0, "error_ratio": 0.0, "rps": 1.0,
             "p50_ms": 1, "p95_ms": 2, "p99_ms": 3, "max_ms": 4} for i in range(endpoints)]  # fmt: skip
    return {"run": {"scenario": "smoke", "run_id": run_id, "started": f"2026-11-21T00:00:0{len(run_id) % 10}",
                    "ended": None, "source": "swarmgate", "partial": False},
            "verdict": "pass", "judged_endpoints": rows}  # fmt: skip


def test_runs_are_recorded_once_each_and_the_schema_is_versioned(tmp_path):
    history = tmp_path / "history.sqlite"
    record(history, summary("a"), tmp_path)
    record(history, summary("bb"), tmp_path)
    record(history, summary("bb"), tmp_path)  # analyzed again: replaced, not duplicated
    assert [r["run_id"] for r in runs(history)] == ["a", "bb"]
    db = connect(history)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert db.execute("SELECT COUNT(*) FROM endpoint_metrics").fetchone()[0] == 6
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(HistoryError):
        connect(history)


WRITER = """
import sys
from swarmgate.analysis.history import record
import json
summary = json.loads(open(sys.argv[2]).read())
record(__import__("pathlib").Path(sys.argv[1]), summary, __import__("pathlib").Path("."))
"""


def test_a_writer_killed_halfway_leaves_the_history_readable_and_the_earlier_runs_intact(tmp_path):
    history = tmp_path / "history.sqlite"
    record(history, summary("first"), tmp_path)
    record(history, summary("second"), tmp_path)
    big = summary("third", endpoints=400_000)  # a long transaction, so it can be killed in the middle
    (tmp_path / "big.json").write_text(json.dumps(big))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(history), str(tmp_path / "big.json")], cwd=ROOT)
    journal = Path(f"{history}-journal")
    deadline = time.monotonic() + 60
    while not journal.exists():  # the journal exists only while the transaction is writing
        assert writer.poll() is None and time.monotonic() < deadline, "the writer finished before it could be killed"
        time.sleep(0.001)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    db = sqlite3.connect(str(history))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert [r["run_id"] for r in runs(history)] == ["first", "second"]
    db = connect(history)
    assert db.execute("SELECT COUNT(*) FROM endpoint_metrics").fetchone()[0] == 6  # none of the third run's rows
    db.close()
    record(history, summary("fourth"), tmp_path)  # and it takes new runs afterwards
    assert [r["run_id"] for r in runs(history)][-1] == "fourth"


OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_key TEXT PRIMARY KEY, run_id TEXT, scenario TEXT, started TEXT, ended TEXT, verdict TEXT NOT NULL,
    source TEXT NOT NULL, partial INTEGER, path TEXT NOT NULL, recorded_at REAL NOT NULL, summary TEXT NOT NULL);
CREATE INDEX runs_by_scenario ON runs(scenario, started);
CREATE TABLE endpoint_metrics (
    run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE, method TEXT NOT NULL, name TEXT NOT NULL,
    requests INTEGER, failures INTEGER, error_ratio REAL, rps REAL, p50_ms REAL, p95_ms REAL, p99_ms REAL,
    max_ms REAL, PRIMARY KEY (run_key, method, name));
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs VALUES ('smoke/a', 'a', 'smoke', '2026-11-21', NULL, 'pass', 'swarmgate', 0, '.', 1.0, '{}');
"""


def plan(db, query: str, *params) -> str:
    return " | ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", params))


def test_an_older_history_gets_the_indexes_its_queries_use_once_and_keeps_its_runs(tmp_path):
    history = tmp_path / "history.sqlite"
    old = sqlite3.connect(history)
    old.executescript(OLD_SCHEMA)
    old.close()
    for _ in range(2):  # the second open finds them there and writes nothing
        db = connect(history)
        named = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")  # not automatic
        indexes = {row[0] for row in named}
        db.close()
        assert indexes == {"runs_by_scenario_time", "runs_by_time"}
    modified = history.stat().st_mtime_ns
    db = connect(history)
    assert history.stat().st_mtime_ns == modified
    by_scenario = plan(db, "SELECT run_key FROM runs WHERE scenario IS ? ORDER BY started, recorded_at", "smoke")
    assert "USING INDEX runs_by_scenario_time" in by_scenario and "TEMP B-TREE" not in by_scenario
    assert "TEMP B-TREE" not in plan(db, "SELECT run_key FROM runs ORDER BY started, recorded_at")
    metrics = plan(db, "SELECT name FROM endpoint_metrics WHERE run_key IN (?, ?)", "smoke/a", "smoke/b")
    assert "INDEX sqlite_autoindex_endpoint_metrics_1 (run_key=?)" in metrics and "SCAN" not in metrics
    db.close()
    assert [r["run_id"] for r in runs(history)] == ["a"]
