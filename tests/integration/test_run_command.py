"""`swarmgate run` end to end, as a user runs it: demo started, smoke scenario, the results contract."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import SWARMGATE, closed_port, json_entries, stats_rows

pytestmark = pytest.mark.integration

CONTRACT = [
    *("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust_exceptions.csv"),
    *("locust.json", "locust_report.html", "run.json", "stages.json", "resources.csv", "slow_requests.csv"),
    "server_metrics.csv",
]
USER_CLASSES = {"BaselineUser", "PeakUser", "AdminUser", "StressTestUser"}


def only_run_dir(results: Path) -> Path:
    dirs = [p for p in (results / "smoke").iterdir() if p.is_dir()]
    assert len(dirs) == 1
    return dirs[0]


def test_default_run_writes_the_whole_contract(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run([*SWARMGATE, "run", "--time-scale", "0.4", "--results-dir", str(results)],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(results)
    assert f"results: {run_dir}" in done.stdout
    assert "verdict: PASS" in done.stdout  # the demo meets the default SLA in a smoke run
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "pass" and summary["judged_over"]["window"] == "steady stages"
    assert {row["name"] for row in summary["endpoints"]} >= {"Aggregated", "/api/workspaces"}
    assert (run_dir / "junit.xml").read_text().count("<testcase") == len(summary["checks"]) > 20
    assert "PASS" in (run_dir / "summary.md").read_text()
    # The demo's own metrics, scraped by default and judged by the packaged sla.toml's server table:
    server = {c["metric"]: c for c in summary["checks"] if c["kind"] == "server"}
    assert {"cpu", "memory", "db_query_p95", "cache_hit_ratio", "pool_in_use"} <= set(server), summary["not_computed"]
    assert summary["server"]["source"] == "scrape" and all(c["status"] == "pass" for c in server.values())
    assert not [c for c in summary["checks"] if c["metric"] == "generator_cpu_share"]  # a smoke run: not saturated
    # The demo users' journeys are recorded; on the healthy demo none is failed or given up on its own.
    assert {"sign in and browse", "run workflow"} <= {row["name"] for row in summary["journeys"]}
    assert all(row["completion_ratio"] in (1.0, None) for row in summary["journeys"]), summary["journeys"]
    for name in [*CONTRACT, "summary.json", "charts.json", "junit.xml", "summary.md"]:
        assert (run_dir / name).is_file(), name

    total = stats_rows(run_dir)[("", "Aggregated")]
    assert int(total["Request Count"]) == sum(e["num_requests"] for e in json_entries(run_dir))

    run = json.loads((run_dir / "run.json").read_text())
    assert run["scenario"] == "smoke" and run["time_scale"] == 0.4 and run["partial"] is False
    assert set(run["requests_by_user_class"]) == USER_CLASSES
    assert all(count > 0 for count in run["requests_by_user_class"].values())
    assert run["host"].startswith("http://127.0.0.1:") and run["tls_verify"] is True

    stages = json.loads((run_dir / "stages.json").read_text())["stages"]
    assert [s["name"] for s in stages] == ["ramp-up", "steady"]
    assert sum(e["requests"] for s in stages for e in s["endpoints"]) == int(total["Request Count"])

    with open(run_dir / "resources.csv", newline="") as handle:
        roles = {row["role"] for row in csv.DictReader(handle)}
    assert roles == {"local", "target"}

    with sqlite3.connect(run_dir / "demo" / "demo.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM workspaces").fetchone()[0] > 0
        assert db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0] >= 0


def test_unreachable_host_fails_fast_with_one_line(tmp_path):
    done = subprocess.run(
        [*SWARMGATE, "run", "--host", f"http://127.0.0.1:{closed_port()}", "--results-dir", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args,needle",
    [(["run", "nosuch"], "scenario 'nosuch'"), (["run", "--host", "ftp://x"], "--host"),
     (["run", "--time-scale", "-1"], "time-scale"), (["run", "--demo-error-ratio", "GET /x=7"], "error-ratio"),
     (["run", "--master", "--host", "http://127.0.0.1:9", "--insecure"], "--insecure"),
     (["run", "smoke", "baseline", "--master", "--host", "http://127.0.0.1:9"], "one scenario"),
     (["run", "--master"], "needs --host"), (["run", "--worker"], "--master-host"),
     (["run", "--workers", "2", "--master", "--host", "http://127.0.0.1:9"], "--workers"),
     (["run", "ENV:SWARMGATE_TOKEN_FILE=/nonexistent/token"], "SWARMGATE_TOKEN_FILE"),
     (["weekly", "ENV:SWARMGATE_ADMIN_PASSWORD_FILE=/dev/null"], "file is empty")],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    env = dict(os.environ)
    for arg in [a for a in args if a.startswith("ENV:")]:
        name, value = arg[4:].split("=", 1)
        env[name] = value
    args = [a for a in args if not a.startswith("ENV:")]
    done = subprocess.run([*SWARMGATE, *args, "--results-dir", str(tmp_path / "r")], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and needle in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_stops_cleanly_and_keeps_what_was_recorded(tmp_path, stop_signal):
    results = tmp_path / "results"
    proc = subprocess.Popen([*SWARMGATE, "run", "--results-dir", str(results)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        run_json = None
        while time.monotonic() < deadline:  # wait until requests are flowing
            found = list(results.glob("smoke/*/run.json"))
            if found and (found[0].parent / "locust_stats_history.csv").stat().st_size > 2000:
                run_json = found[0]
                break
            time.sleep(0.5)
        assert run_json is not None, "the run never got going"
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    run_dir = run_json.parent
    run = json.loads(run_json.read_text())
    assert run["partial"] is True and run["status"] == "interrupted"
    assert "PARTIAL" in err
    total = int(stats_rows(run_dir)[("", "Aggregated")]["Request Count"])
    assert total > 0 and total == sum(e["num_requests"] for e in json_entries(run_dir))
    port = int((run_dir / "demo" / "demo.port").read_text())
    import socket

    with pytest.raises(OSError):  # the demo target was stopped too
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
