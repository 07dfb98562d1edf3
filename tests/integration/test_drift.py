"""Drift on real runs: the demo's leak knob is flagged; the same run without it is not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.browser import visit
from tests.helpers import SWARMGATE, constant_scenario, stop

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh


def start_soak(tmp_path, *args) -> tuple[subprocess.Popen, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "soak.toml").write_text(constant_scenario(12, "40s", BaselineUser=50, StressTestUser=50))
    results = tmp_path / "results"
    command = [*SWARMGATE, "run", str(tmp_path / "soak.toml"), "--results-dir", str(results), *args]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), results


def finish_soak(proc: subprocess.Popen, results: Path) -> tuple[int, dict, Path]:
    proc.wait(timeout=300)
    (run_dir,) = (results / "soak").iterdir()
    return proc.returncode, json.loads((run_dir / "summary.json").read_text()), run_dir


def memory_check(summary: dict) -> dict:
    (check,) = [c for c in summary["checks"] if c["metric"] == "target_rss_mb_per_10min"]
    return check


def test_a_leaking_target_is_flagged_and_a_steady_one_is_not(tmp_path):
    # Both soaks at once, each with its own demo: memory growth is the demo's own, whatever else runs.
    leaking = start_soak(tmp_path / "leak", "--demo-leak-kb-per-request", "64")
    steady_run = start_soak(tmp_path / "steady")
    try:
        code, leaky, leak_dir = finish_soak(*leaking)
        steady_code, steady, _ = finish_soak(*steady_run)
    finally:
        for proc, _ in (leaking, steady_run):
            stop(proc)
    check = memory_check(leaky)
    assert check["status"] == "fail" and check["actual"] > 100, check
    assert leaky["drift"]["series"]["target_rss_mb"]["p_value"] < 0.01
    assert code == 1

    check = memory_check(steady)
    assert check["status"] == "pass" and check["actual"] < 50, check
    assert steady_code == 0, [c for c in steady["checks"] if c["status"] == "fail"]

    # The report draws the series drift was fitted on, with the fitted line (in a real browser, offline).
    page = visit(leak_dir / "report.html", "report-drift-leak")
    assert page.console_errors == [] and page.page_errors == [] and page.blocked_requests == []
    drift_charts = [c for c in page.canvases if c["id"].startswith("chart-drift-")]
    fitted = [name for name in ("p95_ms", "rps", "target_rss_mb") if leaky["drift"]["series"][name]]
    assert "target_rss_mb" in fitted and len(drift_charts) == len(fitted), (fitted, page.canvases)
    assert all(c["chart"] and c["points"] > 6 and c["drawn"] > 0 for c in drift_charts), drift_charts
    assert "target memory, MB over the steady stage" in page.text
