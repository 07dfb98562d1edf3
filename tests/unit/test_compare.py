"""The regression rule: a change must exceed the minimum effect (ms AND %) and be beyond noise (rank test, p)."""

from __future__ import annotations

import math

import pytest

from swarmgate.analysis.compare import Rules, history_windows, mann_whitney_p, proportion_p, regression_checks

RULES = Rules()  # 10 %, 20 ms, +0.005 error ratio, 10 % rps drop, p < 0.01
ITEMS = ("GET", "/api/items")
# Locust 2.47's --csv-full-history header, as written by a real run (tests/fixtures/smoke_run).
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size"
)

BASE_P95 = [100, 102, 98, 101, 99, 100]  # six 10 s windows around 100 ms
SLOW_P95 = [200, 205, 198, 202, 199, 201]  # six windows around 200 ms: every one above every baseline window
# Six vs six, fully separated: U = 36, mean 18; one tie of two (100, 100) in the baseline, so the variance is
# 6*6/12 * (13 - (2**3 - 2)/(12*11)) = 38.864 and z = (36 - 18 - 0.5)/sqrt(38.864) = 2.807
P_SIX_SEPARATED = 0.5 * math.erfc(17.5 / math.sqrt(36 / 12 * (13 - 6 / 132)) / math.sqrt(2))  # ~0.00250


def row(p95: float | None = None, requests: int = 10_000, failures: int = 0, name: str = "/api/items",
        method: str = "GET", rps: float | None = None) -> dict:  # fmt: skip
    """One judged endpoint row, with only the metrics given (regression_checks skips the absent ones)."""
    found = {"method": method, "name": name, "requests": requests, "failures": failures,
             "error_ratio": failures / requests if requests else None}  # fmt: skip
    if p95 is not None:
        found["p95_ms"] = p95
    if rps is not None:
        found["rps"] = rps
    return found


def check_of(checks: list[dict], metric: str, endpoint: str = "/api/items") -> dict:
    (found,) = [c for c in checks if c["metric"] == metric and c["endpoint"] == endpoint]
    return found


def compare_p95(before: float, now: float, base_windows: list[float], windows: list[float], rules=RULES) -> dict:
    checks = regression_checks([row(now)], [row(before)], {(*ITEMS, "p95_ms"): windows},
                               {(*ITEMS, "p95_ms"): base_windows}, rules)  # fmt: skip
    return check_of(checks, "p95_ms")


def test_the_minimum_latency_effect_is_the_larger_of_the_ms_and_the_percent_rule():
    assert RULES.latency_effect(100) == 20  # 10 % is 10 ms: the 20 ms floor rules
    assert RULES.latency_effect(200) == 20  # both are 20 ms
    assert RULES.latency_effect(500) == 50  # 10 % is 50 ms: the percentage rules
    assert Rules(min_increase_pct=50, min_increase_ms=5).latency_effect(40) == 20


def test_a_large_significant_slowdown_fails_and_says_which_metric_and_the_numbers():
    check = compare_p95(100, 200, BASE_P95, SLOW_P95)
    assert check["status"] == "fail"
    assert check["kind"] == "regression" and check["method"] == "GET" and check["endpoint"] == "/api/items"
    assert check["baseline"] == 100 and check["actual"] == 200
    assert check["message"] == (
        "GET /api/items p95_ms 100 -> 200: regressed beyond the minimum effect and beyond noise (p = 0.0025)"
    )


def test_the_same_significant_shift_below_the_minimum_effect_passes():
    # 100 -> 115 ms: +15 % but only +15 ms (< 20 ms); every window still above every baseline window
    check = compare_p95(100, 115, BASE_P95, [v + 15 for v in BASE_P95])
    assert check["status"] == "pass"
    assert check["message"] == "GET /api/items p95_ms 100 -> 115: within the minimum effect"
    # 500 -> 540 ms: +40 ms (> 20 ms) but only +8 % (< 10 %): both rules must be exceeded
    check = compare_p95(500, 540, [v * 5 for v in BASE_P95], [v * 5 + 40 for v in BASE_P95])
    assert check["status"] == "pass"


def test_the_minimum_effect_boundary_is_inclusive():
    assert compare_p95(100, 120, BASE_P95, [v + 20 for v in BASE_P95])["status"] == "fail"  # exactly +20 ms
    assert compare_p95(100, 119.9, BASE_P95, [v + 19.9 for v in BASE_P95])["status"] == "pass"


def test_a_big_effect_on_too_few_windows_only_warns():
    check = compare_p95(100, 300, BASE_P95[:3], [300, 310, 305])
    assert check["status"] == "warn"
    assert check["message"] == (
        "GET /api/items p95_ms 100 -> 300: moved beyond the minimum effect, but 4+ windows per run are needed to tell"
    )
    # enough windows in the current run is not enough: the baseline needs them too
    assert compare_p95(100, 300, BASE_P95[:3], [300] * 8)["status"] == "warn"
    assert compare_p95(100, 300, BASE_P95, [])["status"] == "warn"


def test_a_big_effect_within_run_to_run_noise_only_warns():
    # the current run's windows interleave with the baseline's: its median moved, its windows did not separate
    check = compare_p95(100, 150, [90, 160, 95, 150, 100, 155], [92, 158, 97, 152, 102, 157])
    assert check["status"] == "warn"
    assert "moved beyond the minimum effect, but within run-to-run noise (p = " in check["message"]


def test_an_improvement_is_not_a_regression():
    check = compare_p95(200, 100, SLOW_P95, BASE_P95)
    assert check["status"] == "pass"
    assert check["message"] == "GET /api/items p95_ms 200 -> 100: within the minimum effect"


def test_identical_samples_pass():
    check = compare_p95(100, 100, BASE_P95, list(BASE_P95))
    assert check["status"] == "pass"


def test_error_ratio_jump_on_many_requests_is_flagged():
    # 10 of 10 000 -> 100 of 10 000: +0.009 (> 0.005); pooled 0.0055, z = 0.009 / 0.001046 = 8.6
    checks = regression_checks([row(failures=100)], [row(failures=10)], {}, {}, RULES)
    check = check_of(checks, "error_ratio")
    assert check["status"] == "fail"
    assert check["baseline"] == 0.001 and check["actual"] == 0.01
    assert check["message"].startswith("GET /api/items error_ratio 0.001 -> 0.01: regressed beyond the minimum effect")


def test_the_same_error_ratio_jump_on_few_requests_is_not_flagged():
    # 0 of 100 -> 1 of 100: +0.01 but one failure; pooled 0.005, z = 0.01 / 0.009975 = 1.0025, p = 0.158
    checks = regression_checks([row(requests=100, failures=1)], [row(requests=100, failures=0)], {}, {}, RULES)
    check = check_of(checks, "error_ratio")
    assert check["status"] == "warn"
    assert check["message"] == (
        "GET /api/items error_ratio 0 -> 0.01: moved beyond the minimum effect, but within run-to-run noise (p = 0.16)"
    )


def test_an_error_ratio_rise_below_the_minimum_effect_passes_however_significant():
    # 0 of 100 000 -> 400 of 100 000: +0.004 (< 0.005) is beyond noise but too small to matter
    checks = regression_checks([row(requests=100_000, failures=400)], [row(requests=100_000)], {}, {}, RULES)
    assert check_of(checks, "error_ratio")["status"] == "pass"


def test_throughput_drop_is_judged_on_the_aggregated_row_only():
    base_rps, low_rps = [50, 51, 49, 50, 52, 48], [40, 41, 39, 40, 42, 38]
    current = [row(name="Aggregated", method="", rps=40), row(rps=10)]
    baseline = [row(name="Aggregated", method="", rps=50), row(rps=20)]
    windows = {("", "Aggregated", "rps"): low_rps, (*ITEMS, "rps"): [10] * 6}
    base_windows = {("", "Aggregated", "rps"): base_rps, (*ITEMS, "rps"): [20] * 6}
    checks = regression_checks(current, baseline, windows, base_windows, RULES)
    check = check_of(checks, "rps", "Aggregated")
    assert check["status"] == "fail"  # 50 -> 40: -20 %, every window lower
    assert check["message"].startswith("Aggregated rps 50 -> 40: regressed")
    assert [c for c in checks if c["metric"] == "rps" and c["endpoint"] == "/api/items"] == []  # halved, not judged


def test_a_throughput_rise_is_not_a_regression():
    current, baseline = [row(name="Aggregated", method="", rps=60)], [row(name="Aggregated", method="", rps=50)]
    windows = {("", "Aggregated", "rps"): [60, 61, 59, 60, 62, 58]}
    base_windows = {("", "Aggregated", "rps"): [50, 51, 49, 50, 52, 48]}
    assert (
        check_of(regression_checks(current, baseline, windows, base_windows, RULES), "rps", "Aggregated")["status"]
        == "pass"
    )


def test_endpoints_missing_from_a_run_or_without_requests_are_not_compared():
    current = [row(200, name="/new"), row(200, name="/idle", requests=0), row(200)]
    baseline = [row(100, name="/idle"), row(100, name="/gone"), row(100)]
    checks = regression_checks(current, baseline, {}, {}, RULES)
    assert {c["endpoint"] for c in checks} == {"/api/items"}


def test_rank_test_p_values_by_hand():
    assert mann_whitney_p(BASE_P95, SLOW_P95) == pytest.approx(P_SIX_SEPARATED, rel=1e-9)
    assert P_SIX_SEPARATED == pytest.approx(0.00250, abs=0.00002)
    assert mann_whitney_p(SLOW_P95, BASE_P95) > 0.99  # the other direction: certainly not higher
    assert mann_whitney_p([100] * 6, [100] * 6) == 1.0  # all tied: no variance, no evidence
    assert mann_whitney_p(BASE_P95, BASE_P95) > 0.5  # identical samples: U at its mean, continuity correction
    # four windows each is the least the rule accepts, and even fully separated they stay above p = 0.01:
    # U = 16, mean 8, variance 16/12*9 = 12, z = 7.5/sqrt(12) = 2.165, p = 0.0152
    assert mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(0.0152, abs=0.0001)


def test_two_proportion_p_values_by_hand():
    assert proportion_p(10, 10_000, 100, 10_000) < 1e-15  # z = 8.6
    assert proportion_p(0, 100, 1, 100) == pytest.approx(0.158, abs=0.001)  # z = 1.0025
    assert proportion_p(0, 100, 0, 100) == 1.0  # no failures anywhere
    assert proportion_p(0, 0, 5, 100) == 1.0  # no baseline requests


def write_history(path, rows: list[tuple[int, str, str, str, str]]) -> None:
    """(timestamp, method, name, rps, p95) rows, the other columns filled like Locust fills them."""
    lines = [HISTORY_HEADER]
    for stamp, method, name, rps, p95 in rows:
        lines.append(f"{stamp},5,{method},{name},{rps},0.000000,{p95},{p95},{p95},{p95},{p95},{p95},{p95},{p95},"
                     f"{p95},{p95},{p95},100,0,{p95},{p95},1,{p95},120.0")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def test_history_windows_keep_whole_windows_inside_steady_spans(tmp_path):
    history = tmp_path / "locust_stats_history.csv"
    write_history(history, [
        (1000, "GET", "/a", "0.000000", "N/A"),  # the span's first window: still filling from the ramp
        (1005, "GET", "/a", "5.000000", "40"),  # between 10 s windows
        (1010, "GET", "/a", "5.000000", "N/A"),  # no latency yet: skipped for p95, kept for rps
        (1020, "GET", "/a", "6.000000", "42"),
        (1020, "", "Aggregated", "6.000000", "42"),
        (1030, "GET", "/a", "0.000000", "0"),  # 0 ms is "not filled" for latency; 0 rps is a real value
        (1040, "GET", "/a", "7.000000", "44"),
        (1050, "GET", "/a", "8.000000", "46"),  # the span's end: included
        (1060, "GET", "/a", "9.000000", "99"),  # after the span
    ])  # fmt: skip
    found = history_windows(history, [(1000, 1050)], with_times=True)
    assert found[("GET", "/a", "p95_ms")] == [(1020, 42), (1040, 44), (1050, 46)]
    assert found[("GET", "/a", "rps")] == [(1010, 5), (1020, 6), (1030, 0), (1040, 7), (1050, 8)]
    assert found[("", "Aggregated", "p95_ms")] == [(1020, 42)]  # the Aggregated row has no method
    assert history_windows(history, [(1000, 1050)])[("GET", "/a", "p95_ms")] == [42, 44, 46]
    assert history_windows(tmp_path / "missing.csv", [(0, 10)]) == {}


def test_history_windows_and_the_rule_together_flag_a_real_slowdown(tmp_path):
    base, now = tmp_path / "base.csv", tmp_path / "now.csv"
    write_history(base, [(1000 + 10 * i, "GET", "/api/items", "50", str(p)) for i, p in enumerate([0, *BASE_P95])])
    write_history(now, [(5000 + 10 * i, "GET", "/api/items", "50", str(p)) for i, p in enumerate([0, *SLOW_P95])])
    windows, base_windows = history_windows(now, [(5000, 5060)]), history_windows(base, [(1000, 1060)])
    assert base_windows[(*ITEMS, "p95_ms")] == BASE_P95
    check = check_of(regression_checks([row(200)], [row(100)], windows, base_windows, RULES), "p95_ms")
    assert check["status"] == "fail"
    # the same files judged over a span that leaves three windows: too few to tell
    windows = history_windows(now, [(5000, 5030)])
    assert (
        check_of(regression_checks([row(200)], [row(100)], windows, base_windows, RULES), "p95_ms")["status"] == "warn"
    )
