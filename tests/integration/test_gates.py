"""Abort gates and live checks on real runs against the demo: with latency injected on one route and a
gate on that route, the run stops itself within the gate's window after the breach starts (one process
and --workers 2), exit 1, everything recorded; without the latency the same scenario runs to its end,
its live checks at the end equal the post-run SLA checks, and its console on a pseudo-terminal is a
panel redrawn in place."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from swarmgate.analysis.live import LIVE_WINDOW_S
from tests.helpers import SWARMGATE, constant_scenario, stop

ROUTE = "/api/workspaces"
ABORT_AFTER_S = 5
SCRAPE_S = 1  # swarmgate reads the target's /metrics each second
WORKER_REPORT_S = 3  # Locust's workers report every 3 s: the master sees a breach that much later
SLA = f"""
[defaults]
error_ratio = {{ target = 0.01, alert = 0.02 }}

[[endpoints]]
method = "GET"
name = "{ROUTE}"
p95_ms = {{ target = 100, alert = 150, abort_after = "{ABORT_AFTER_S}s" }}
"""
SERVER_SLA = """
[[server]]
name = "memory"
unit = "%"
scale = 100
scrape = { gauge = "process_resident_memory_bytes", divide_by = "demo_memory_limit_bytes" }
at_most = { target = 80, alert = 90, abort_after = "3s" }
"""


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run_dir_of(results: Path) -> Path:
    (found,) = (results / "gated").iterdir()
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four runs side by side (they measure no throughput): gated and slow in one process, gated and slow
    with two workers, the same scenario without the latency on a pseudo-terminal, and a demo whose
    memory is far beyond its limit under a gate on that server metric."""
    work = tmp_path_factory.mktemp("gates")
    (work / "scenarios").mkdir()
    (work / "scenarios" / "gated.toml").write_text(constant_scenario(16, "2m", BaselineUser=50, StressTestUser=50))
    (work / "sla.toml").write_text(SLA)
    (work / "server_sla.toml").write_text(SERVER_SLA)
    slow = ["--demo-latency", f"GET {ROUTE}=400"]
    common = ["run", "gated", "--sla", "sla.toml", "--time-scale", "0.25"]
    commands = {
        "one": [*common, "--results-dir", "one", *slow],
        "workers": [*common, "--results-dir", "workers", "--workers", "2", *slow],
        "clean": [*common, "--results-dir", "clean"],
        "server": [
            "run",
            "gated",
            "--sla",
            "server_sla.toml",
            "--time-scale",
            "0.25",
            "--results-dir",
            "server",
            "--demo-memory-limit-mb",
            "1",
        ],
    }
    terminal, pty_side = pty.openpty()
    procs = {}
    for name, args in commands.items():
        err = pty_side if name == "clean" else subprocess.PIPE
        procs[name] = subprocess.Popen([*SWARMGATE, *args], cwd=work, stdout=subprocess.PIPE, stderr=err, text=True,
                                       env={**os.environ, "COLUMNS": "120"})  # fmt: skip
    os.close(pty_side)
    shown = bytearray()
    try:
        deadline = time.monotonic() + 150
        while procs["clean"].poll() is None and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.5)[0]:
                try:
                    shown += os.read(terminal, 65536)
                except OSError:  # the terminal closed with the run
                    break
        left = max(1.0, deadline - time.monotonic())
        outputs = {name: proc.communicate(timeout=left) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            stop(proc)
        os.close(terminal)
    codes = {name: proc.returncode for name, proc in procs.items()}
    return work, codes, outputs, shown.decode("utf-8", "replace")


@pytest.mark.parametrize("which", ["one", "workers"])
def test_a_gate_stops_the_run_within_its_window_and_the_verdict_says_why(runs, which):
    work, codes, outputs, _ = runs
    assert codes[which] == 1, outputs[which]
    run_dir = run_dir_of(work / which)
    meta, summary = read(run_dir / "run.json"), read(run_dir / "summary.json")
    aborted = meta["aborted"]
    assert meta["status"] == "aborted" and meta["partial"] is True
    assert (aborted["method"], aborted["name"], aborted["metric"], aborted["alert"]) == ("GET", ROUTE, "p95_ms", 150)
    assert aborted["actual"] >= 400 and aborted["message"].startswith("aborted at 0:")
    assert f"p95 of GET {ROUTE} beyond 150 ms for {ABORT_AFTER_S} s" in aborted["message"]
    stages = read(run_dir / "stages.json")["stages"]
    steady = next(s for s in stages if s["steady"])
    started = min(s["start_ts"] for s in stages)
    breach_s = steady["start_ts"] - started  # the latency is there from the start: the breach is the steady stage
    # Evidence first (40 requests for a p95 in the window), then abort_after; a master sees data 3 s late.
    assert ABORT_AFTER_S <= aborted["at_s"] - breach_s <= ABORT_AFTER_S + LIVE_WINDOW_S + WORKER_REPORT_S, aborted
    assert meta["duration_s"] < 0.25 * 120  # it did not run to its planned end
    assert summary["verdict"] == "fail" and summary["aborted"]["message"] == aborted["message"]
    run_checks = [c for c in summary["checks"] if c["kind"] == "run"]
    assert [c["message"] for c in run_checks if c["status"] == "fail"] == [aborted["message"]]
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "aborted by a gate" in report and "The run stopped itself: aborted at" in report
    stderr = outputs[which][1]
    assert "stopped by an abort gate" in stderr and "Traceback" not in stderr
    assert "verdict: FAIL" in outputs[which][0]
    live = read(run_dir / "live.json")
    assert live["aborted"]["message"] == aborted["message"] and live["verdict"] == "fail"


def test_without_the_breach_the_run_ends_as_planned_and_its_live_checks_are_the_analysis(runs):
    work, codes, outputs, shown = runs
    assert codes["clean"] in (0, 1), outputs["clean"]  # whatever the SLA says, it ran to its end
    run_dir = run_dir_of(work / "clean")
    meta, summary, live = read(run_dir / "run.json"), read(run_dir / "summary.json"), read(run_dir / "live.json")
    assert meta["status"] == "finished" and meta["aborted"] is None and summary["aborted"] is None
    assert live["gates_enabled"] and [g["name"] for g in live["gates"]] == [ROUTE]
    assert live["gates"][0]["left_s"] is None  # armed, never beyond its alert level

    def key(check: dict) -> tuple:
        return check["method"], check["endpoint"], check["metric"], check["status"], check["actual"]

    posted = sorted(key(c) for c in summary["checks"] if c["kind"] == "sla")
    assert posted and sorted(key(c) for c in live["checks"]) == posted
    assert live["judged_over"] == summary["judged_over"]["window"] == "steady stages"
    # the console on a pseudo-terminal: the rich panel, redrawn in place, with the live columns
    assert "beyond target" in shown and "p95 (10 s)" in shown and "\x1b[1A" in shown, shown[-2000:]


def test_a_gate_on_a_scraped_server_metric_stops_the_run(runs):
    work, codes, outputs, _ = runs
    assert codes["server"] == 1, outputs["server"]
    run_dir = run_dir_of(work / "server")
    aborted = read(run_dir / "run.json")["aborted"]
    assert (aborted["name"], aborted["metric"], aborted["alert"]) == ("memory", "server", 90)
    assert "server memory beyond 90 % for 3 s" in aborted["message"] and aborted["actual"] > 90
    stages = read(run_dir / "stages.json")["stages"]
    steady_s = next(s for s in stages if s["steady"])["start_ts"] - min(s["start_ts"] for s in stages)
    assert 3 <= aborted["at_s"] - steady_s <= 3 + 2 * SCRAPE_S, aborted  # a reading each second, written by the scraper
    assert not (run_dir / ".server_live.json").exists()  # the live values are not part of the results
    assert read(run_dir / "summary.json")["verdict"] == "fail"
