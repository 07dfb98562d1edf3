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
