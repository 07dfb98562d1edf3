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
