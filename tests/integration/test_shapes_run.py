"""Shapes in real runs: stages follow the plan, per-stage percentiles are exact, capacity finds the limit."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from locust.stats import bucket_response_time

from swarmgate.core.histogram import merge, percentile
from tests.helpers import SWARMGATE

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh
HERE = Path(__file__).resolve().parent


def swarmgate_run(tmp_path: Path, scenario_toml: str, *args: str, env: dict | None = None) -> Path:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_toml)
    results = tmp_path / "results"
    done = subprocess.run([*SWARMGATE, "run", str(scenario), "--results-dir", str(results), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: the SLA verdict failed, which some tests provoke
    (run_dir,) = (results / "scenario").iterdir()
    verdict = json.loads((run_dir / "summary.json").read_text())["verdict"]
    assert done.returncode == (1 if verdict == "fail" else 0)
    return run_dir


STEP = """
[shape]
kind = "step"
steps = [2, 6, 12]
step_duration = "12s"
spawn_rate = 10

[mix]
BaselineUser = 40
PeakUser = 20
StressTestUser = 40
"""


def bucket_width(ms: float) -> float:
    """Locust's histogram precision around a response time: exact below 100 ms, then two significant digits."""
    return 1 if ms < 100 else 10 if ms < 1000 else 100 if ms < 10_000 else 1000


def test_step_stages_follow_the_plan_and_their_percentiles_are_exact(tmp_path):
    log = tmp_path / "requests.log"
    run_dir = swarmgate_run(
        tmp_path, STEP, "--locustfile", str(HERE / "request_log_locustfile.py"),
        "--demo-max-concurrency", "4", "--demo-latency", "*=10", env={"REQUEST_LOG": str(log)},
    )  # fmt: skip
    stages = json.loads((run_dir / "stages.json").read_text())["stages"]
    plan = json.loads((run_dir / "run.json").read_text())["plan"]["stages"]
    assert [s["name"] for s in stages] == [p["name"] for p in plan]  # one window per planned stage
    assert [s["target_users"] for s in stages if s["steady"]] == [2, 6, 12]

    with open(run_dir / "locust_stats_history.csv", newline="") as handle:
        users = [int(r["User Count"]) for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    seen = [u for i, u in enumerate(users) if u and (i == 0 or u != users[i - 1])]
    assert seen == [2, 6, 12]  # the history follows the stages, in order

    with open(log) as handle:
        rows = [line.strip().split(",") for line in handle]
    for stage in stages:
        inside = [r for r in rows if stage["start_ts"] <= float(r[0]) < stage["end_ts"]]
        for endpoint in stage["endpoints"] + [None]:  # every endpoint, then the whole stage
            if endpoint is None:
                histogram = merge(e["response_times"] for e in stage["endpoints"])
                sample = [float(r[3]) for r in inside]
            else:
                histogram = merge([endpoint["response_times"]])
                sample = [float(r[3]) for r in inside if (r[1], r[2]) == (endpoint["method"], endpoint["name"])]
            assert sum(histogram.values()) == len(sample), (stage["name"], endpoint)
            raw: dict[int, int] = {}
            for t in sample:
                raw[bucket_response_time(t)] = raw.get(bucket_response_time(t), 0) + 1
            for fraction in (0.5, 0.95, 0.99):
                assert percentile(histogram, fraction) == percentile(raw, fraction), (stage["name"], fraction)
    steady = [s for s in stages if s["steady"]]
    assert all(sum(e["requests"] for e in s["endpoints"]) > 10 for s in steady)

    # the analyzer's summary.json: per stage and per endpoint, equal to the log bucketed as Locust
    # buckets, and within one bucket of the exact (unbucketed) percentile of the raw samples
    summary = json.loads((run_dir / "summary.json").read_text())
    for stage, judged in zip(stages, summary["stages"], strict=True):
        inside = [r for r in rows if stage["start_ts"] <= float(r[0]) < stage["end_ts"]]
        for row in judged["endpoints"][:-1]:
            sample = sorted(float(r[3]) for r in inside if (r[1], r[2]) == (row["method"], row["name"]))
            assert row["requests"] == len(sample)
            if not sample:
                continue
            for key, fraction in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
                exact = sample[min(len(sample) - 1, int(fraction * len(sample)))]  # Locust's rank rule, unbucketed
                assert abs(row[key] - exact) <= bucket_width(exact), (stage["name"], row["name"], key, exact)


CAPACITY = """
tags = ["knowledge"]

[shape]
kind = "capacity"
start_users = 4
step_users = 4
max_users = 40
step_duration = "12s"
spawn_rate = 20
breach_p95_ms = 100
breach_error_ratio = 0.05

[mix]
StressTestUser = 1
"""


def test_capacity_search_stops_within_a_step_of_the_known_limit(tmp_path):
    # The demo serves 4 searches at a time, 50 ms each: 80 requests/s. A StressTestUser searching
    # with 0-0.2 s think time asks for 1 / (0.05 + 0.1) = 6.7/s, so offered load passes capacity
    # after 12 users: the first step beyond the limit is 16 users.
    sla = tmp_path / "sla.toml"  # the analyzer judges each step by this; the shape by its own breach_p95_ms
    sla.write_text("[defaults]\np95_ms = { target = 80, alert = 100 }\n")
    run_dir = swarmgate_run(tmp_path, CAPACITY, "--demo-max-concurrency", "4",
                            "--demo-latency", "GET /api/knowledge/search=50", "--sla", str(sla))  # fmt: skip
    capacity = json.loads((run_dir / "stages.json").read_text())["capacity"]
    breaking = capacity["breaking_step"]
    assert breaking is not None, capacity
    assert 12 <= breaking["users"] <= 20, capacity
    assert capacity["last_good_step"]["users"] == breaking["users"] - 4
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished"
    assert set(run["requests_by_user_class"]) == {"StressTestUser"}  # the mix and the tags both held
    assert run["duration_s"] < 0.9 * run["plan"]["duration_s"]  # it stopped by itself, well before 40 users
    analysed = json.loads((run_dir / "summary.json").read_text())["capacity"]
    assert 12 <= analysed["first_breaching_stage"]["users"] <= 20, analysed
    assert analysed["highest_good_stage"]["users"] == analysed["first_breaching_stage"]["users"] - 4
    assert analysed["breaching_endpoint"]["endpoint"] in ("/api/knowledge/search", "Aggregated")


ARRIVALS = """
tags = ["knowledge"]
arrival_rate = 20

[shape]
kind = "constant"
users = 10
duration = "16s"
spawn_rate = 10

[mix]
StressTestUser = 1
"""


def test_arrival_rate_is_achieved_when_the_target_can_keep_up(tmp_path):
    run = json.loads((swarmgate_run(tmp_path, ARRIVALS) / "run.json").read_text())
    rate = run["arrival_rate"]
    assert rate["target_per_s"] == 20 and rate["kept_up"] is True, rate
    assert 19 <= rate["achieved_per_s"] <= 21 and rate["dropped"] == 0


def test_arrival_rate_shortfall_is_reported_when_the_target_saturates(tmp_path):
    # one search at a time, 100 ms each: the demo can serve 10/s of the 20/s asked for
    run_dir = swarmgate_run(tmp_path, ARRIVALS, "--demo-max-concurrency", "1",
                            "--demo-latency", "GET /api/knowledge/search=100")  # fmt: skip
    rate = json.loads((run_dir / "run.json").read_text())["arrival_rate"]
    assert rate["kept_up"] is False, rate
    assert rate["achieved_per_s"] < 12 and rate["late"] > 50 and rate["dropped"] > 50
