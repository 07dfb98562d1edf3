"""Shapes in real runs, timed: capacity finds the limit, an arrival rate is held or its shortfall reported."""

from __future__ import annotations

import json

import pytest

from tests.helpers import swarmgate_run

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh


CAPACITY = """
tags = ["knowledge"]

[shape]
kind = "capacity"
start_users = 4
step_users = 4
max_users = 40
step_duration = "6s"
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
