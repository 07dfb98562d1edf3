"""Faults during a run, with real processes: the target killed mid-run, a hanging target, and a
distributed run stopped by SIGTERM. (Target down at start: test_run_command; a worker or the master
killed: test_distributed_run.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from tests.helpers import SWARMGATE, constant_scenario, start_demo, stop, wait_for_progress

pytestmark = pytest.mark.integration


def scenario(tmp_path, duration: str):
    path = tmp_path / "faults.toml"
    path.write_text(constant_scenario(4, duration, BaselineUser=100))
    return path


def only_run_dir(results):
    (run_dir,) = (results / "faults").iterdir()
    return run_dir


def test_a_target_killed_mid_run_gives_failures_a_report_and_a_fail(tmp_path):
    demo = start_demo(tmp_path / "demo")
    try:
        run = subprocess.Popen([*SWARMGATE, "run", str(scenario(tmp_path, "16s")), "--host", demo.url,
                                "--results-dir", str(tmp_path / "r")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
        wait_for_progress(tmp_path / "r", 8, run)
        stop(demo.proc)  # the target goes away; the run goes on
        out, err = run.communicate(timeout=120)
    finally:
        stop(demo.proc)
        stop(run)
    assert run.returncode == 1, out + err
    run_dir = only_run_dir(tmp_path / "r")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["status"] == "finished" and summary["verdict"] == "fail"
    assert any(f["error"] in ("connection refused", "connection reset") for f in summary["failures"]), summary[
        "failures"
    ]
    total = next(e for e in summary["endpoints"] if e["name"] == "Aggregated" and not e["method"])
    assert total["failures"] > 0 and total["requests"] > total["failures"]
    assert (run_dir / "report.html").is_file() and "verdict: FAIL" in out


def test_a_hanging_target_times_out_requests_as_failures_and_insecure_is_said(tmp_path):
    done = subprocess.run([*SWARMGATE, "run", str(scenario(tmp_path, "8s")), "--request-timeout", "0.5",
                           "--demo-latency", "GET /api/workspaces=3000", "--results-dir", str(tmp_path / "r"),
                           "--insecure"], capture_output=True, text=True, timeout=180)  # fmt: skip
    run_dir = only_run_dir(tmp_path / "r")
    summary = json.loads((run_dir / "summary.json").read_text())
    timed_out = [f for f in summary["failures"] if f["error"] == "timed out"]
    assert timed_out and all("/api/workspaces" in f["name"] for f in timed_out), summary["failures"]
    slowest = max(e["max_ms"] or 0 for e in summary["endpoints"])
    assert slowest < 2000, slowest  # no request waited for the 3 s the target takes
    assert done.returncode == 1 and summary["verdict"] == "fail"
    # --insecure (TLS checks off for this run) is said on the console, in run.json and in the report
    assert "NOT verified" in done.stderr and summary["run"]["tls_verify"] is False
    assert "off for this run" in (run_dir / "report.html").read_text()


def test_sigterm_to_a_distributed_run_stops_the_workers_and_keeps_the_results(tmp_path):
    run = subprocess.Popen([*SWARMGATE, "run", str(scenario(tmp_path, "60s")), "--workers", "2",
                            "--results-dir", str(tmp_path / "r")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)  # fmt: skip
    try:
        parent = psutil.Process(run.pid)
        deadline = time.monotonic() + 60
        workers = []
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [p for p in parent.children(recursive=True) if "--worker" in p.cmdline()]
            time.sleep(0.5)
        assert len(workers) == 2
        wait_for_progress(tmp_path / "r", 8, run)
        os.kill(run.pid, signal.SIGTERM)  # as a scheduler stops a job
        out, err = run.communicate(timeout=120)
    finally:
        stop(run)
    assert run.returncode == 130, out + err
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    run_dir = only_run_dir(tmp_path / "r")
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["partial"] is True and meta["status"] == "interrupted" and meta["workers"]["seen"] == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] in ("warn", "fail") and any("interrupted" in c["message"] for c in summary["checks"])
    assert "partial run (interrupted)" in (run_dir / "report.html").read_text()
