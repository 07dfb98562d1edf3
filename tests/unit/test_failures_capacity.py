from __future__ import annotations

from pathlib import Path

import pytest

from swarmgate.analysis.capacity import capacity
from swarmgate.analysis.failures import group_failures, normalise
from swarmgate.analysis.load import Endpoint, Run, Stage
from swarmgate.analysis.sla import load_sla

SLA = Path(__file__).resolve().parents[2] / "sla.toml"


@pytest.mark.parametrize(
    "message,plain",
    [
        ("HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: /api/x')", "HTTP 500"),
        ("LocustBadStatusCode(code=500)", "HTTP 500"),
        ("BadStatusCode('http://127.0.0.1:8000/api/x', code=503)", "HTTP 503"),
        ("CatchResponseError('status 500, expected 200')", "HTTP 500"),
        ("CatchResponseError(\"body lacks key 'items'\")", "body lacks key 'items'"),
        ("ConnectionRefusedError(111, 'Connection refused')", "connection refused"),
        ("CatchResponseError('no response: ConnectionRefusedError')", "connection refused"),
        ("failed at http://host:1/x?token=abc", "failed at <url>"),
    ],
)
def test_the_same_failure_worded_by_either_client_is_one_message(message, plain):
    assert normalise(message) == plain


def test_failures_are_grouped_across_wordings(tmp_path):
    path = tmp_path / "locust_failures.csv"
    path.write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n"
        "GET,/a,LocustBadStatusCode(code=500),3,2026-01-01T00:00:05Z,2026-01-01T00:01:00Z\n"
        "GET,/a,\"HTTPError('500 Server Error: x for url: /a')\",2,2026-01-01T00:00:01Z,2026-01-01T00:00:30Z\n"
        'GET,/b,"CatchResponseError(""body lacks key \'items\'"")",1,,\n'
    )
    groups = group_failures(path)
    assert groups[0] == {"method": "GET", "name": "/a", "error": "HTTP 500", "occurrences": 5,
                         "first_seen": "2026-01-01T00:00:01Z", "last_seen": "2026-01-01T00:01:00Z"}  # fmt: skip
    assert groups[1]["error"] == "body lacks key 'items'"


def stage(name: str, users: int, p95_bucket: int, start: float) -> Stage:
    fast = {10: 95, p95_bucket: 5} if p95_bucket > 10 else {10: 100}
    slow = {10: 50, 2000: 50} if p95_bucket >= 1000 else fast
    return Stage(name, start, start + 10, users, True, [
        Endpoint("GET", "/a", 100, 0, 1000.0, float(p95_bucket), fast),
        Endpoint("GET", "/b", 100, 0, 1000.0, 2000.0, slow),
    ])  # fmt: skip


def test_capacity_names_the_last_good_stage_the_first_bad_one_and_who_broke():
    stages = [stage("s1", 10, 10, 0), stage("s2", 20, 120, 10), stage("s3", 40, 1000, 20)]
    run = Run("swarmgate", Path("x"), {}, [], stages, 30.0, [])
    result = capacity(run, load_sla(SLA), None)
    assert result["highest_good_stage"]["users"] == 20
    assert result["first_breaching_stage"]["users"] == 40
    assert result["breaching_endpoint"]["endpoint"] == "/b"  # /b went furthest beyond its alert level
    assert [s["met_sla"] for s in result["steps"]] == [True, True, False]


def test_no_capacity_section_for_a_single_load_level():
    run = Run("swarmgate", Path("x"), {}, [], [stage("s1", 10, 10, 0)], 10.0, [])
    assert capacity(run, load_sla(SLA), None) is None


def test_a_search_that_stopped_at_its_first_level_keeps_the_summary_shape():
    search = {"steps": [{"stage": "s1", "users": 10, "breached": True}], "last_good_step": None,
              "breaking_step": {"stage": "s1", "users": 10, "why": "only 0 requests"}}  # fmt: skip
    run = Run("swarmgate", Path("x"), {}, [], [stage("s1", 10, 10, 0)], 10.0, [], search)
    result = capacity(run, load_sla(SLA), None)
    assert result["steps"] == [] and result["search"] == search
    assert result["highest_good_stage"] is result["first_breaching_stage"] is result["saturation"] is None


def test_whole_run_throughput_is_not_judged_per_step():
    # the peak profile asks 200 rps of the whole run; a 10-user step cannot, and must not "breach" for it
    stages = [stage("s1", 10, 10, 0), stage("s2", 20, 10, 10)]
    result = capacity(Run("swarmgate", Path("x"), {}, [], stages, 20.0, []), load_sla(SLA), "peak")
    assert [s["met_sla"] for s in result["steps"]] == [True, True]
    assert result["highest_good_stage"]["users"] == 20 and result["first_breaching_stage"] is None


def test_drift_looks_at_one_load_level_only():
    from swarmgate.analysis.drift import spans_after_warm_up

    stages = [stage("low", 20, 10, 0), stage("high", 100, 10, 10)]
    stages[1].end = 200.0  # the longer steady stage
    run = Run("swarmgate", Path("x"), {}, [], stages, 200.0, [])
    assert spans_after_warm_up(run) == [(10 + 190 * 0.1, 200.0)]


def level(users: int, ok_rps: float, p50_ms: int, start: float, failed_rps: float = 0.0, slow_route: bool = False):
    """A 10 s steady stage at `users` with this throughput and median; optionally a slow route beside it."""
    requests, failures = round((ok_rps + failed_rps) * 10), round(failed_rps * 10)
    endpoints = [Endpoint("GET", "/a", requests, failures, requests * float(p50_ms), float(p50_ms), {p50_ms: requests})]
    if slow_route:  # few requests, each 2 s: it owns the aggregated p95 at every level
        endpoints.append(Endpoint("GET", "/report", requests // 10, 0, requests // 10 * 2000.0, 2000.0,
                                  {2000: requests // 10}))  # fmt: skip
    return Stage(f"hold ({users} users)", start, start + 10, users, True, endpoints)


def knee_of(*levels: Stage, sla_path: Path = SLA) -> dict:
    run = Run("locust-csv", Path("x"), {}, [], list(levels), 10.0 * len(levels), [])
    return capacity(run, load_sla(sla_path), None)["saturation"]


def test_the_knee_is_where_throughput_stops_growing_with_users():
    knee = knee_of(level(5, 50, 40, 0), level(10, 98, 41, 10), level(20, 150, 55, 20), level(40, 155, 160, 30))
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (10, 20)
    assert [s["linear"] for s in knee["steps"]] == [None, True, False, False]
    step = knee["steps"][2]  # +100 % users, +53 % throughput: below 75 % of the user gain
    assert (step["user_gain"], step["rps_gain"], step["gain_ratio"]) == (1.0, 0.5306, 0.531)
    assert step["rps_per_user"] == 7.5 and step["cycle_ms"] == pytest.approx(133.3)  # Little's law: 20 / 150 s
    assert "from there to 20 users" in knee["message"] and "41 ms -> 55 ms" in knee["message"]


def test_throughput_in_proportion_at_every_level_has_no_knee():
    knee = knee_of(level(10, 100, 40, 0), level(20, 190, 42, 10), level(30, 280, 44, 20))
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (30, None)
    assert "the knee lies beyond" in knee["message"]


def test_a_target_saturated_from_the_first_step_on():
    knee = knee_of(level(10, 100, 40, 0), level(20, 101, 80, 10))
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (10, 20)


def test_a_level_where_nothing_completed_is_saturated_and_a_run_where_nothing_ever_did_has_no_knee():
    hung = Stage("hold (20 users)", 10, 20, 20, True, [Endpoint("GET", "/a", 0, 0, 0.0, None, {})])  # a wedged target
    knee = knee_of(level(10, 100, 40, 0), hung)
    assert knee["first_saturated_users"] == 20 and "unknown (no request completed)" in knee["message"]
    assert knee_of(level(10, 0, 40, 0, failed_rps=50), level(20, 0, 40, 10, failed_rps=90)) is None
    after_nothing = knee_of(level(10, 0, 40, 0, failed_rps=5), level(20, 150, 40, 10), level(40, 150, 90, 20))
    assert [s["linear"] for s in after_nothing["steps"]] == [None, True, False]


def test_an_open_model_run_has_no_knee():
    run = Run("swarmgate", Path("x"), {"arrival_rate": {"target_per_s": 20}}, [],
              [level(10, 20, 40, 0), level(20, 20, 40, 10)], 20.0, [])  # fmt: skip
    assert capacity(run, load_sla(SLA), None)["saturation"] is None


def test_failed_requests_are_not_throughput():
    # a target that sheds load answers fast with errors: all requests still grow, the successful ones do not
    knee = knee_of(level(10, 100, 40, 0), level(20, 100, 40, 10, failed_rps=100))
    assert knee["steps"][1]["rps"] == 200 and knee["first_saturated_users"] == 20


def test_a_slow_route_owning_the_p95_hides_no_knee_and_makes_none():
    linear = knee_of(*(level(u, 10 * u, 40, i * 10, slow_route=True) for i, u in enumerate((5, 10, 20))))
    assert linear["first_saturated_users"] is None
    bent = knee_of(*(level(u, r, m, i * 10, slow_route=True) for i, (u, r, m) in enumerate(((5, 50, 40),
                   (10, 100, 40), (20, 110, 80)))))  # fmt: skip
    assert bent["first_saturated_users"] == 20
    assert bent["steps"][2]["endpoints"][0]["p50_ms"] == 80  # evidence per endpoint, not the slow route's p95


def test_the_knee_needs_no_sla_table_for_the_profile(tmp_path):
    empty = tmp_path / "sla.toml"
    empty.write_text("")
    knee = knee_of(level(10, 100, 40, 0), level(20, 200, 40, 10), level(40, 210, 150, 20), sla_path=empty)
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (20, 40)


def test_stages_at_the_same_load_level_are_one_step():
    knee = knee_of(level(10, 100, 40, 0), level(20, 200, 40, 10), level(10, 100, 40, 20), level(40, 205, 120, 30))
    assert [s["users"] for s in knee["steps"]] == [10, 20, 40]
    assert knee["steps"][0]["ok_rps"] == 100


def test_the_console_line_says_where_a_capacity_search_ended():
    from swarmgate.jobs import capacity_found

    steps = [{"users": 10}, {"users": 20}, {"users": 30}]
    good, bad = {"users": 20}, {"users": 30, "why": "p95 620 ms > 500 ms"}
    assert capacity_found({"steps": steps, "breaking_step": bad, "last_good_step": good}) == (
        "stopped at 30 users (p95 620 ms > 500 ms); last good step 20 users"
    )
    assert capacity_found({"steps": steps, "breaking_step": None}) == (
        "no step breached the scenario's levels, up to 30 users"
    )
