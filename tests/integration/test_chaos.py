"""Fault phases against the real demo: the packaged `chaos` scenario (a database outage through the demo's
fault endpoint) measured against the demo's own log of when it recovered, shaded in the report as Chromium
draws it; a command-line action (a script) interrupted by Ctrl-C in the middle of its fault; and a failed
action whose undo fails too."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import chromium_path
from tests.helpers import SWARMGATE, start_demo, stop

pytestmark = pytest.mark.integration
NO_DATABASE = {("GET", "/health"), ("GET", "/metrics"), ("GET", "/api/reports/usage")}  # cached sessions, no query
RECOVERED = re.compile(r"fault 'database' recovered at \S+ \(unix ([0-9.]+)\)")

# every time chart: down the middle of the fault's window, most pixels are shaded red (lines cross a few of them)
SHADED = """(fault) => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const chart = Chart.getChart(canvas);
  const origin = chart && chart.options.plugins.faultShading ? chart.options.plugins.faultShading.origin : undefined;
  if (origin === undefined) return {id: canvas.id, time: false};
  const x = Math.round(chart.scales.x.getPixelForValue((fault.start + fault.end) / 2 - origin));
  const {top, bottom} = chart.chartArea;
  let shaded = 0;
  for (let i = 1; i <= 20; i++) {
    const [r, g, b, a] = canvas.getContext("2d").getImageData(x, Math.round(top + (bottom - top) * i / 21), 1, 1).data;
    if (a > 0 && r > g + 10 && r > b + 10) shaded++;
  }
  return {id: canvas.id, time: true, shaded: shaded >= 14};
})"""


def failed_routes(fault: dict) -> set[tuple[str, str]]:
    return {(e["method"], e["name"]) for e in fault["endpoints"] if e["during"]["failures"]}


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("chaos")
    done = subprocess.run([*SWARMGATE, "run", "chaos", "--time-scale", "0.3", "--results-dir", str(work / "r")],
                          capture_output=True, text=True, timeout=240, cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr  # a healthy recovery passes: recovery_s is judged
    assert "fault 'database-outage' started: ok" in done.stderr and "undone (scheduled): ok" in done.stderr
    (run_dir,) = (work / "r" / "chaos").iterdir()
    return run_dir


def test_a_database_outage_fails_only_what_needs_the_database_and_recovery_is_measured_to_the_truth(chaos_run):
    run = json.loads((chaos_run / "run.json").read_text())
    summary = json.loads((chaos_run / "summary.json").read_text())
    (record,) = run["faults"]
    assert record["action"]["ok"] and record["undo"]["ok"] and record["undo"]["reason"] == "scheduled"
    assert record["action"]["headers"] == {"Authorization": "Bearer ${SWARMGATE_DEMO_FAULT_TOKEN}"}
    (fault,) = summary["resilience"]["faults"]
    assert summary["resilience"]["resolution_s"] == 0.5 and fault["before"]["error_ratio"] == 0
    # the routes that need the database fail (a few at the window's edges got through); the others answer
    needing = [e["during"] for e in fault["endpoints"] if (e["method"], e["name"]) not in NO_DATABASE]
    assert sum(d["failures"] for d in needing) > 0.9 * sum(d["requests"] for d in needing)
    assert fault["during"]["error_ratio"] > 0.8 and fault["requests_lost"] > 0
    assert (fault["action"]["exit_status"], fault["undo"]["exit_status"]) == (200, 200)  # kept for the history
    failing = failed_routes(fault)
    assert failing and not failing & NO_DATABASE, failing
    answered = {(e["method"], e["name"]) for e in summary["endpoints"] if e["requests"]}
    assert answered & NO_DATABASE  # routes that need no database were asked, and never failed
    assert not {(e["method"], e["name"]) for e in summary["endpoints"] if e["failures"]} & NO_DATABASE
    # the truth: the demo's log line of when it really recovered (the undo asks it to; it takes 1 s to come back)
    truth = float(RECOVERED.search((chaos_run / "demo" / "demo.log").read_text()).group(1)) - fault["end_ts"]
    assert fault["recovered"] and truth - 0.05 <= fault["recovery_s"] <= truth + 1.0, (fault["recovery_s"], truth)
    (recovery,) = [c for c in summary["checks"] if c["metric"] == "recovery_s"]
    assert recovery["kind"] == "resilience" and recovery["status"] == "pass" and recovery["target"] == 2
    # an outage that must fail requests is not judged by its error ratio in the default file
    assert not [c for c in summary["checks"] if c["metric"] == "error_ratio_during_fault"]


def test_the_report_shades_the_fault_on_every_time_chart_and_the_history_keeps_the_recovery(chaos_run):
    from playwright.sync_api import sync_playwright

    assert chromium_path(), "Chromium is missing: ./run_tests.sh installs Debian's chromium package"
    summary = json.loads((chaos_run / "summary.json").read_text())
    fault = summary["resilience"]["faults"][0]
    html = (chaos_run / "report.html").read_text()
    assert "Resilience" in html and "exact to 0.5 s" in html
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000}).new_page()
            page.goto((chaos_run / "report.html").resolve().as_uri(), wait_until="load")
            charts = page.evaluate(SHADED, {"start": fault["start_ts"], "end": fault["end_ts"]})
        finally:
            browser.close()
    timed = [c for c in charts if c["time"]]
    assert len(timed) >= 6 and [c["id"] for c in timed if not c["shaded"]] == [], charts
    assert [c["id"] for c in charts if not c["time"]] == ["chart-distribution"]  # the one chart without time
    results = chaos_run.parent.parent
    done = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(results)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    page = (results / "trend.html").read_text()
    data = json.loads(page.split('id="page-data">')[1].split("</script>")[0])
    (chaos,) = data["scenarios"]
    assert chaos["resilience"] == [{"name": "database-outage", "recovery_s": [fault["recovery_s"]],
                                    "recovered": [True]}]  # fmt: skip
    assert "Recovery time" in page


FLIP = """import json, os, sys, urllib.request
mode = sys.argv[1]
token = os.environ["SWARMGATE_DEMO_FAULT_TOKEN"]
request = urllib.request.Request(os.environ["SWARMGATE_DEMO_URL"] + "/admin/faults/database",
                                 method="PUT" if mode == "on" else "DELETE", data=b"{}" if mode == "on" else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
print(mode, "with token", token, urllib.request.urlopen(request, timeout=5).status)
"""


def test_a_script_flips_the_fault_like_the_http_action_and_ctrl_c_mid_fault_still_undoes_it(tmp_path):
    token = secrets.token_urlsafe(16)
    demo = start_demo(tmp_path / "demo", env={"SWARMGATE_DEMO_FAULT_TOKEN": token})
    (tmp_path / "flip.py").write_text(FLIP)
    flip = [sys.executable, str(tmp_path / "flip.py")]
    (tmp_path / "cmd.toml").write_text(
        '[shape]\nkind = "constant"\nusers = 10\nduration = "40s"\nspawn_rate = 10\n\n'
        "[mix]\nBaselineUser = 50\nStressTestUser = 50\n\n"
        f'[[faults]]\nname = "db"\nstart = "4s"\nduration = "30s"\n'
        f"action = {{ command = {json.dumps([*flip, 'on'])} }}\nundo = {{ command = {json.dumps([*flip, 'off'])} }}\n"
    )  # fmt: skip
    env = {**os.environ, "SWARMGATE_DEMO_URL": demo.url, "SWARMGATE_DEMO_FAULT_TOKEN": token}
    results = tmp_path / "r"
    command = [*SWARMGATE, "run", str(tmp_path / "cmd.toml"), "--host", demo.url, "--results-dir", str(results)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run.poll() is None:  # the fault is on and users have met it
            progress = list(results.glob("*/*/.progress.json"))
            if progress and "on at" in (tmp_path / "demo" / "demo.log").read_text():
                shown = json.loads(progress[0].read_text() or "{}")
                if shown.get("failures", 0) >= 20:
                    break
            time.sleep(0.2)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=120)
        assert run.returncode == 130, out + err
        request = urllib.request.Request(f"{demo.url}/admin/faults", headers={"Authorization": f"Bearer {token}"})
        assert json.loads(urllib.request.urlopen(request, timeout=5).read())["faults"] == {}  # healthy again
        body = b'{"username": "demo", "password": "demo-password"}'
        login = urllib.request.Request(f"{demo.url}/api/auth/login", method="POST", data=body,
                                       headers={"Content-Type": "application/json"})  # fmt: skip
        assert urllib.request.urlopen(login, timeout=5).status == 200  # the database answers
    finally:
        stop(run)
        stop(demo.proc)
    (run_dir,) = (results / "cmd").iterdir()
    (record,) = json.loads((run_dir / "run.json").read_text())["faults"]
    assert record["undo"]["reason"] == "interrupted" and record["undo"]["ok"], record
    assert record["action"]["output"].startswith("on with token *** 200")
    assert not any(token in p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    assert not (run_dir / ".faults_pending.json").exists()
    (fault,) = json.loads((run_dir / "summary.json").read_text())["resilience"]["faults"]
    failing = failed_routes(fault)
    assert failing and not failing & NO_DATABASE, failing  # the same outage as the HTTP action's


def test_a_failed_action_whose_undo_fails_stops_the_run_and_says_so_last_keeping_the_files(tmp_path):
    fail = json.dumps([sys.executable, "-c", "raise SystemExit(3)"])
    broken_undo = json.dumps([sys.executable, "-c", "raise SystemExit(4)"])
    (tmp_path / "bad.toml").write_text(
        '[shape]\nkind = "constant"\nusers = 2\nduration = "10s"\nspawn_rate = 10\n\n'
        f'[[faults]]\nname = "db"\nstart = "1s"\nduration = "2s"\naction = {{ command = {fail} }}\n'
        f"undo = {{ command = {broken_undo} }}\n"
    )  # fmt: skip
    done = subprocess.run([*SWARMGATE, "run", str(tmp_path / "bad.toml"), "--results-dir", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "fault 'db': its action failed (exit status 3); its undo FAILED: the system may be left broken" in last
    (run_dir,) = (tmp_path / "r" / "bad").iterdir()
    run = json.loads((run_dir / "run.json").read_text())
    assert (
        run["status"] == "fault_failed" and run["undo_failed"] and run["faults"][0]["undo"]["reason"] == "action failed"
    )
    (left,) = json.loads((run_dir / ".faults_pending.json").read_text())["faults"]  # the next run warns of it
    assert left["undo_error"] == "exit status 4"
