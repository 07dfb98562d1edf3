"""A stock Locust run (the plain `locust` command, no swarmgate in the locustfile) analyzed fully: stages
inferred from its history, and the saturation knee found at the target's known concurrency limit.

The demo serves LIMIT requests at a time, each held 50 ms, so throughput tops out near LIMIT / 0.05 s
= 80 requests/s. Users with no think time keep one request in flight each: throughput grows with
users up to LIMIT users, and beyond it users only queue.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_path
from tests.helpers import SWARMGATE, start_demo, stop

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh
HERE = Path(__file__).resolve().parent
LEVELS = (1, 2, 4, 8, 16)
LIMIT = 4
HOLD_S = 6
KNEE_LINE = """() => Chart.getChart(document.getElementById("chart-capacity")).data.datasets
  .filter((d) => d.label.startsWith("knee")).map((d) => d.data.map((p) => p.x))"""


def stock_step_run(work: Path) -> Path:
    """Run the plain locustfile against a demo limited to LIMIT requests at a time; the --csv prefix."""
    password = secrets.token_urlsafe(12)
    demo = start_demo(work / "demo", "--max-concurrency", str(LIMIT), "--latency", "GET /api/workspaces=50",
                      env={"SWARMGATE_DEMO_USER_PASSWORD": password,
                           "SWARMGATE_DEMO_ADMIN_PASSWORD": secrets.token_urlsafe(12)})  # fmt: skip
    prefix = work / "out" / "steps"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(HERE / "stock_steps_locustfile.py"), "--headless",
             "--host", demo.url, "--csv", str(prefix), "--csv-full-history", "--json-file", str(prefix),
             "--only-summary"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "DEMO_PASSWORD": password, "STEP_USERS": ",".join(map(str, LEVELS)),
                 "STEP_HOLD_S": str(HOLD_S)},
        )  # fmt: skip
    finally:
        stop(demo.proc)
    assert done.returncode == 0, done.stderr[-2000:]
    return prefix


def test_a_stock_step_run_gives_its_steady_stages_and_the_knee_at_the_known_limit(tmp_path):
    prefix = stock_step_run(tmp_path)
    analyzed = subprocess.run([*SWARMGATE, "analyze", str(prefix), "--results-dir", str(tmp_path / "results")],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert analyzed.returncode in (0, 1), analyzed.stderr  # the default SLA may fail the queueing levels
    summary = json.loads((prefix.parent / "summary.json").read_text())

    steady = [s for s in summary["stages"] if s["steady"]]
    assert [s["users"] for s in steady] == list(LEVELS), [(s["name"], s["seconds"]) for s in summary["stages"]]
    assert all(HOLD_S - 2 <= s["seconds"] <= HOLD_S for s in steady)
    assert summary["judged_over"]["window"] == "steady stages"
    whole = summary["endpoints"][-1]["requests"]
    in_stages = sum(s["endpoints"][-1]["requests"] for s in summary["stages"])
    assert 0.95 * whole <= in_stages <= whole  # stages partition the history (its last second may be unwritten)
    assert all(s["endpoints"][-1]["percentiles_from"] == "locust-history" for s in steady)
    assert any("approximate" in note for note in summary["not_computed"])

    knee = summary["capacity"]["saturation"]
    steps = {step["users"]: step for step in knee["steps"]}
    where = LEVELS.index(knee["last_linear_users"])
    assert abs(where - LEVELS.index(LIMIT)) <= 1, knee["message"]
    assert knee["first_saturated_users"] == LEVELS[where + 1], knee["message"]
    assert steps[LEVELS[-1]]["ok_rps"] < 1.3 * steps[LIMIT]["ok_rps"]  # four times the users, no more throughput
    assert steps[LEVELS[-1]]["p50_ms"] > 2 * steps[LEVELS[0]]["p50_ms"]  # they bought latency instead

    assert knee_lines(prefix.parent / "report.html") == [[knee["last_linear_users"]] * 2]  # the chart marks it


def knee_lines(report: Path) -> list:
    """The x positions of the capacity chart's knee line, as drawn in a headless Chromium, offline."""
    from playwright.sync_api import sync_playwright

    assert chromium_path(), "Chromium is missing: ./run_tests.sh installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            lines = page.evaluate(KNEE_LINE)
        finally:
            browser.close()
    assert errors == []
    return lines
