"""A step shape in a real run: the stages follow the plan, and per-stage percentiles are exact (equal to a log
of every request, bucketed as Locust buckets). Nothing here depends on the machine's speed: untimed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from locust.stats import bucket_response_time

from swarmgate.core.histogram import merge, percentile
from tests.helpers import swarmgate_run

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


STEP = """
[shape]
kind = "step"
steps = [2, 6, 12]
step_duration = "5s"
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
