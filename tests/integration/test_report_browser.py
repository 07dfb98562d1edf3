"""report.html and trend.html from real runs of the demo, opened in a real headless Chromium, offline.

Two runs of a two-step scenario whose endpoint names are hostile markup: the first is promoted as
the baseline, the second is compared with it, and the trend report shows both. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser import chromium_path, visit
from tests.helpers import SWARMGATE
from tests.integration.hostile_names_locustfile import IMG, QUOTES, SCRIPT

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
SCENARIO = """
[shape]
kind = "step"
steps = [2, 4]
step_duration = "8s"
spawn_rate = 4

[mix]
BaselineUser = 1
"""


def run_once(work: Path) -> Path:
    done = subprocess.run([*SWARMGATE, "run", str(work / "names.toml"), "--locustfile",
                           str(HERE / "hostile_names_locustfile.py"), "--results-dir", str(work / "results"),
                           "--slow-threshold-ms", "1", "--demo-latency", "/health=2"],  # every /health is slow
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    newest = max((work / "results" / "names").iterdir(), key=lambda p: p.name)
    assert (newest / "report.html").is_file(), done.stdout + done.stderr
    return newest


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    assert chromium_path(), "Chromium is missing: ./run_tests.sh installs Debian's chromium package"
    work = tmp_path_factory.mktemp("reports")
    (work / "names.toml").write_text(SCENARIO)
    first = run_once(work)
    promoted = subprocess.run([*SWARMGATE, "baseline", "promote", str(first), "--results-dir", str(work / "results")],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    second = run_once(work)
    trend = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(work / "results")], capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert trend.returncode == 0, trend.stderr
    return {"first": first, "second": second, "trend": work / "results" / "trend.html"}


def assert_clean(page) -> None:
    assert page.console_errors == [] and page.page_errors == [], (page.console_errors, page.page_errors)
    assert page.blocked_requests == [], f"the page asked the network for {page.blocked_requests}"
    assert page.dialogs == [], f"a script ran and opened {page.dialogs}"


def assert_drawn(canvases: list[dict], where: str) -> None:
    assert canvases, f"{where}: no charts"
    for canvas in canvases:
        assert canvas["chart"] and canvas["points"] > 0 and canvas["drawn"] > 0, (where, canvas)


def test_report_opens_offline_and_draws_every_chart_for_every_endpoint(runs):
    page = visit(runs["second"] / "report.html", "report-step-run", cycle="endpoint-picker")
    assert_clean(page)
    ids = {c["id"] for c in page.canvases}
    assert {"chart-load", "chart-errors", "chart-latency", "chart-endpoint-rate", "chart-distribution",
            "chart-capacity", "chart-cpu", "chart-memory", "chart-server-0"} <= ids, ids  # fmt: skip
    server = json.loads((runs["second"] / "summary.json").read_text())["server"]  # the demo, scraped by default
    assert sum(c["id"].startswith("chart-server-") for c in page.canvases) == len(server["metrics"])
    assert_drawn(page.canvases, "on load")
    assert len(page.picked) >= 5  # Aggregated, three hostile names, the workspaces list
    for option, canvases in page.picked:
        assert_drawn([c for c in canvases if c["id"] in ("chart-latency", "chart-endpoint-rate")], option)
    summary = json.loads((runs["second"] / "summary.json").read_text())
    assert summary["baseline"]["run_id"] == runs["first"].name
    assert any(c["id"].startswith("chart-journey-") for c in page.canvases)  # drawn, as every chart (above)
    # The run's time charts on the load charts' axis, as the page says: the timeline's first point to its last.
    timeline = json.loads((runs["second"] / "charts.json").read_text())["series"]["timeline"]
    axis = {c["id"]: c["x"] for c in page.canvases}
    for chart, x in axis.items():
        if chart in ("chart-load", "chart-errors") or chart.startswith(("chart-server-", "chart-journey-")):
            assert x == [0, timeline["t"][-1]], (chart, x)
    for heading in ("Checks", "Baseline comparison", "Over time", "Capacity", "Endpoints", "Journeys", "Stages",
                    "Failures", "Slow requests", "Load generators and target", "Server metrics", "Run"):  # fmt: skip
        assert heading in page.text, heading
    assert summary["verdict"].upper() in page.text


def test_journey_slots_straddling_the_load_s_edges_are_drawn_at_them_and_those_outside_left_out(runs, tmp_path):
    """A journey slot is 10 s: clipped at the axis, one that began before the load's first history row (a journey
    of the first seconds, signing in) would draw nothing."""
    run = tmp_path / "run"
    shutil.copytree(runs["second"], run)
    charts = json.loads((run / "charts.json").read_text())
    timeline, (journey,) = charts["series"]["timeline"], charts["series"]["journeys"]
    last = timeline["t"][-1]
    assert last > 4 and journey["step_s"] == 10 and timeline["step_s"] == 1, (timeline, journey)
    # on the load's axis: a slot from -6 s, one from 4 s, one from half a second into the last point's second, and
    # one wholly after the load
    journey |= {"start": timeline["start"] - 6, "t": [0, 10, last + 6.5, last + 26], "p50_ms": [5, 6, 7, 8],
                "p95_ms": [9, 9, 9, 9], "completion_ratio": [1.0, 1.0, 0.5, 1.0]}  # fmt: skip
    (run / "charts.json").write_text(json.dumps(charts))
    done = subprocess.run([*SWARMGATE, "report", str(run)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    page = visit(run / "report.html", "report-journey-edges")
    assert_clean(page)
    (chart,) = [c for c in page.canvases if c["id"] == "chart-journey-0"]
    assert chart["x"] == [0, last] and chart["pointsX"] == [0, 4, last] and chart["points"] == 9, chart


def test_hostile_endpoint_names_are_shown_as_text_and_run_nothing(runs):
    page = visit(runs["second"] / "report.html", "report-hostile-names", probe_globals=("__pwned",),
                 cycle="endpoint-picker")  # fmt: skip
    assert_clean(page)
    assert page.globals == {"__pwned": None}
    for name in (SCRIPT, IMG, QUOTES):
        assert f"GET {name}" in page.text, name  # shown, as text, in the tables
        assert any(option == f"GET {name}" for option, _ in page.picked), name  # and in the picker
    (journey,) = json.loads((runs["second"] / "summary.json").read_text())["journeys"]
    assert journey["name"] == QUOTES and journey["failed_at"] == {SCRIPT: journey["failed"]} and journey["failed"]
    assert f"{QUOTES}\tfailed\t{SCRIPT}" in page.text  # the journey and the step it failed at, as text (cells)
    source = (runs["second"] / "report.html").read_text()
    for name in (SCRIPT, IMG, QUOTES):
        assert name not in source, f"{name} appears unescaped in the HTML"


def test_trend_report_shows_both_runs_with_the_baseline(runs):
    page = visit(runs["trend"], "trend-two-runs", probe_globals=("__pwned",), cycle="trend-picker-0")
    assert_clean(page)
    assert page.globals == {"__pwned": None}
    assert runs["first"].name in page.text and runs["second"].name in page.text
    assert_drawn(page.canvases, "trend")
    for option, canvases in page.picked:
        assert_drawn(canvases, option)
    assert f"GET {SCRIPT}" in [option for option, _ in page.picked]
    source = runs["trend"].read_text()
    assert SCRIPT not in source and IMG not in source
