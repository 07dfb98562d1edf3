"""Each user class, alone, in a real `locust` process against the demo: requests made, none failed."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers import json_entries, run_locust, stats_rows

pytestmark = pytest.mark.integration

SIGNATURE = {  # endpoints of this class's journeys (each test runs one class alone)
    "BaselineUser": {("GET", "/api/workspaces/[id]/workflows"), ("GET", "/health"), ("GET", "/api/workspaces/[id]")},
    "PeakUser": {("GET", "/api/executions/[id]"), ("POST", "/api/knowledge"), ("POST", "/api/workspaces")},
    "AdminUser": {("GET", f"/api/admin/{page}") for page in ("system", "audit-log", "users", "costs")}
    | {("GET", "/api/reports/usage"), ("GET", "/metrics")},
    "StressTestUser": {("GET", "/api/workspaces/[id]"), ("GET", "/api/knowledge/search"), ("POST", "/api/workspaces")},
}


@pytest.mark.parametrize("user_class", sorted(SIGNATURE))
def test_user_class_runs_clean_against_the_demo(tmp_path, demo, demo_passwords, user_class):
    result = run_locust(demo.url, tmp_path, [user_class], 8, 4, demo_passwords["users"])
    assert result.returncode == 0, result.stderr[-2000:]
    stats = stats_rows(tmp_path)
    total = stats[("", "Aggregated")]
    assert int(total["Request Count"]) > 5
    assert int(total["Failure Count"]) == 0, (tmp_path / "locust_failures.csv").read_text()
    assert sum(int(stats[key]["Request Count"]) for key in SIGNATURE[user_class] if key in stats) > 0
    # the final CSV is not stale: it agrees with the JSON histograms exactly
    assert int(total["Request Count"]) == sum(e["num_requests"] for e in json_entries(tmp_path))
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "finished" and not run["partial"]
    assert set(run["requests_by_user_class"]) == {user_class}


def test_journeys_write_rows_into_the_demo_database(demo):
    with sqlite3.connect(demo.db_path) as db:  # runs earlier in this module created them
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("workspaces", "executions")}
    assert counts["workspaces"] > 0 and counts["executions"] > 0
