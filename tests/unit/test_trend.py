"""Trends across runs: the noise band, week-over-week flags, counting noise, and the CLI's refusals."""

from __future__ import annotations

import json
import subprocess

from swarmgate.analysis.history import record
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.trend import band, flags, trend
from swarmgate.reports.html import trend_html
from tests.helpers import SWARMGATE

RULES = Rules()


def summary(run_id: str, day: int, p95: float, rps: float = 50.0, requests: int = 30_000, failures: int = 0,
            scenario: str = "weekly") -> dict:  # fmt: skip
    rows = [{"method": "GET", "name": "/api/items", "requests": requests, "failures": failures,
             "error_ratio": failures / requests, "rps": rps, "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 2,
             "max_ms": p95 * 3},
            {"method": "GET", "name": "/rare", "requests": 6, "failures": 0, "error_ratio": 0.0,
             "rps": 0.01 if day % 2 else 0.005, "p50_ms": 5, "p95_ms": 6, "p99_ms": 7, "max_ms": 8}]  # fmt: skip
    return {"run": {"scenario": scenario, "run_id": run_id, "started": f"2026-11-{day:02d}T03:00:00+00:00",
                    "ended": None, "source": "swarmgate", "partial": False},
            "verdict": "pass", "judged_endpoints": rows}  # fmt: skip


def history_of(tmp_path, p95s: list[float], **kwargs) -> tuple:
    history = tmp_path / "history.sqlite"
    for week, p95 in enumerate(p95s):
        record(history, summary(f"run-{week}", 1 + 7 * week, p95, **kwargs), tmp_path)
    return history


def endpoint(found: dict, name: str) -> dict:
    (scenario,) = found["scenarios"]
    return next(e for e in scenario["endpoints"] if e["name"] == name)


def test_a_jump_beyond_the_band_is_flagged_once_with_its_week_gap(tmp_path):
    history = history_of(tmp_path, [100, 104, 98, 102, 180])
    found = trend(history, None, None, tmp_path, RULES)
    items = endpoint(found, "/api/items")
    assert items["values"]["p95_ms"] == [100, 104, 98, 102, 180]
    (flag,) = items["flags"]
    assert flag["run_id"] == "run-4" and flag["metric"] == "p95_ms" and flag["days"] == 7
    assert "102 -> 180 since the previous run (7 days earlier)" in flag["message"]
    assert found["scenarios"][0]["flagged"] == 1


def test_changes_inside_the_noise_or_the_minimum_effect_are_not_flagged(tmp_path):
    history = history_of(tmp_path, [100, 106, 97, 105, 99])  # within 10 % + 2 ms of 100: below the minimum
    found = trend(history, None, None, tmp_path, RULES)
    assert found["scenarios"][0]["flagged"] == 0
    rare = endpoint(found, "/rare")  # its rps halves and doubles, on 6 requests: counting noise
    assert rare["flags"] == []


def test_an_improvement_is_not_flagged_and_a_throughput_drop_is(tmp_path):
    history = history_of(tmp_path, [200, 100])
    assert trend(history, None, None, tmp_path, RULES)["scenarios"][0]["flagged"] == 0
    history.unlink()
    history = tmp_path / "history.sqlite"
    record(history, summary("a", 1, 100, rps=50), tmp_path)
    record(history, summary("b", 8, 100, rps=30), tmp_path)
    (flag,) = endpoint(trend(history, None, None, tmp_path, RULES), "/api/items")["flags"]
    assert flag["metric"] == "rps" and flag["now"] == 30


def test_the_band_is_centred_on_the_baseline_and_never_narrower_than_the_minimum_effect():
    narrow = band("p95_ms", [100, 100, 101, 100], 100.0, RULES)
    assert narrow["from"] == "baseline" and (narrow["low"], narrow["high"]) == (88.0, 112.0)  # 10 % + 2 ms
    wide = band("p95_ms", [100, 160, 40, 100, 130, 70], 100.0, RULES)
    assert wide["high"] - 100 == 2 * wide["sigma"] > 12
    assert band("p95_ms", [], None, RULES) is None
    assert band("rps", [50, 52, 48], None, RULES)["center"] == 50


def test_last_and_scenario_select_runs_and_the_baseline_comes_from_the_promoted_copy(tmp_path):
    history = history_of(tmp_path, [100, 101, 102, 103])
    record(history, summary("other-1", 2, 50, scenario="smoke"), tmp_path)
    baseline = tmp_path / "baselines" / "weekly"
    baseline.mkdir(parents=True)
    (baseline / "summary.json").write_text(json.dumps(summary("run-0", 1, 100)))
    found = trend(history, "weekly", 2, tmp_path, RULES)
    (scenario,) = found["scenarios"]
    assert [r["run_id"] for r in scenario["runs"]] == ["run-2", "run-3"]
    assert scenario["baseline_run_id"] == "run-0"
    assert endpoint(found, "/api/items")["baseline"]["p95_ms"] == 100
    assert len(trend(history, None, None, tmp_path, RULES)["scenarios"]) == 2


def test_the_trend_command_writes_trend_html_and_refuses_what_it_cannot_use(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(results)], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "history.sqlite" in done.stderr
    assert "Traceback" not in done.stderr
    history_of(results, [100, 180])
    done = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(results), "--scenario", "nope"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "no runs of scenario 'nope'" in done.stderr
    assert not (results / "trend.html").exists()
    done = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(results)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 change(s) beyond the noise band" in done.stdout
    html = (results / "trend.html").read_text()
    assert "run-0" in html and "run-1" in html and "Changes beyond the noise band" in html
    (results / "history.sqlite").write_bytes(b"not a database")
    done = subprocess.run([*SWARMGATE, "trend", "--results-dir", str(results)], capture_output=True, text=True)
    assert done.returncode == 2 and "not a usable SQLite history" in done.stderr


def test_a_percentile_of_too_few_requests_is_not_flagged_as_the_comparison_does():
    runs = [{"run_id": "a", "started": "2026-11-01T03:00:00+00:00"}, {"run_id": "b", "started": None}]
    assert flags("p95_ms", runs, [2, 5], [15, 15], None, RULES) == []  # p95 of 15 requests: one request
    assert [f["run_id"] for f in flags("p95_ms", runs, [2, 5], [1000, 900], None, RULES)] == ["b"]


def test_server_metrics_are_drawn_run_by_run(tmp_path):
    history = tmp_path / "history.sqlite"
    for week, db_ms in enumerate([40.0, None, 60.0]):
        found = summary(f"run-{week}", 1 + 7 * week, 100.0)
        metrics = [{"name": "db_query_p95", "unit": "ms"} | ({"value": db_ms} if db_ms is not None else {})]
        found["server"] = {"source": "prometheus", "metrics": metrics} if week != 1 else None  # week 1: no source
        record(history, found, tmp_path)
    (scenario,) = trend(history, None, None, tmp_path, Rules())["scenarios"]
    assert scenario["server"] == [{"name": "db_query_p95", "unit": "ms", "values": [40.0, None, 60.0]}]
    assert 'id="trend-server-0"' in trend_html(trend(history, None, None, tmp_path, Rules()))
