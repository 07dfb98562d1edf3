"""The regression rule: a change must exceed the minimum effect (% of before + ms) and be beyond noise (rank test, p).

Expected p-values are computed here by hand (counting arrangements, or the normal approximation's formula),
not taken from the library that computes them in the code.
"""

from __future__ import annotations

import itertools
import math

import pytest

from swarmgate.analysis.compare import mann_whitney_p, proportion_p, regression_checks
from swarmgate.analysis.history_stream import read_history
from swarmgate.analysis.rules import Rules

RULES = Rules()  # 10 % + 2 ms, 2 requests beyond a percentile, +0.005 error ratio, 10 % rps drop, p < 0.01
ITEMS = ("GET", "/api/items")
# Locust 2.47's --csv-full-history header, as written by a real run (tests/fixtures/smoke_run).
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size"
)

BASE_P95 = [100, 102, 98, 101, 99, 100]  # six 10 s windows around 100 ms
SLOW_P95 = [200, 205, 198, 202, 199, 201]  # six windows around 200 ms: every one above every baseline window
# Six vs six, fully separated: of the C(12, 6) = 924 ways to split the twelve windows in two groups of six, only
# one puts the six highest in the current run (the tie of 100 and 100 sits in the baseline and changes nothing)
P_SIX_SEPARATED = 1 / 924  # 0.00108


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


def compare_p95(before: float, now: float, base_windows: list[float], windows: list[float], rules=RULES,
                requests: int = 10_000) -> dict:  # fmt: skip
    checks = regression_checks([row(now, requests=requests)], [row(before, requests=requests)],
                               {(*ITEMS, "p95_ms"): windows}, {(*ITEMS, "p95_ms"): base_windows}, rules)  # fmt: skip
    return check_of(checks, "p95_ms")


def test_the_minimum_latency_effect_is_a_share_of_before_plus_a_few_ms():
    assert RULES.latency_effect(3) == pytest.approx(2.3)  # a 3 ms route doubling (+3 ms) is beyond it
    assert RULES.latency_effect(12) == pytest.approx(3.2)  # +70 % on 12 ms is +8.4 ms
    assert RULES.latency_effect(100) == 12
    assert RULES.latency_effect(500) == 52
    assert Rules(min_increase_pct=50, min_increase_ms=5).latency_effect(40) == 25


def test_fast_routes_that_double_or_rise_70_percent_fail_and_their_side_effects_pass():
    assert compare_p95(3, 6, [3] * 6, [6] * 6)["status"] == "fail"  # all tied within each run: p = 1/924
    assert compare_p95(12, 21, [12, 11, 13, 12, 12, 13], [21, 20, 22, 21, 21, 22])["status"] == "fail"
    # what a slowed route does to the others: +1 ms on a 2 ms route, +3 % on a 300 ms one
    assert compare_p95(2, 3, [2] * 6, [3] * 6)["status"] == "pass"
    assert compare_p95(300, 309, [300] * 6, [309] * 6)["status"] == "pass"


def test_a_large_significant_slowdown_fails_and_says_which_metric_and_the_numbers():
    check = compare_p95(100, 200, BASE_P95, SLOW_P95)
    assert check["status"] == "fail"
    assert check["kind"] == "regression" and check["method"] == "GET" and check["endpoint"] == "/api/items"
    assert check["baseline"] == 100 and check["actual"] == 200
    assert check["message"] == (
        "GET /api/items p95_ms 100 -> 200: regressed beyond the minimum effect and beyond noise (p = 0.0011)"
    )


def test_the_same_significant_shift_below_the_minimum_effect_passes():
    # 100 -> 111 ms: +11 ms, under 10 % + 2 ms; every window still above every baseline window
    check = compare_p95(100, 111, BASE_P95, [v + 11 for v in BASE_P95])
    assert check["status"] == "pass"
    assert check["message"] == "GET /api/items p95_ms 100 -> 111: within the minimum effect"
    # 500 -> 540 ms: +40 ms is +8 %, under 50 + 2 ms
    check = compare_p95(500, 540, [v * 5 for v in BASE_P95], [v * 5 + 40 for v in BASE_P95])
    assert check["status"] == "pass"


def test_the_minimum_effect_boundary_is_inclusive():
    assert compare_p95(100, 112, BASE_P95, [v + 12 for v in BASE_P95])["status"] == "fail"  # exactly +12 ms
    assert compare_p95(100, 111.9, BASE_P95, [v + 11.9 for v in BASE_P95])["status"] == "pass"


def test_a_big_effect_on_too_few_windows_only_warns():
    check = compare_p95(100, 300, BASE_P95[:4], [300, 310, 305, 302])
    assert check["status"] == "warn"
    assert check["message"] == (
        "GET /api/items p95_ms 100 -> 300: moved beyond the minimum effect, but 5+ windows per run are needed to tell"
    )
    # enough windows in the current run is not enough: the baseline needs them too
    assert compare_p95(100, 300, BASE_P95[:4], [300] * 8)["status"] == "warn"
    assert compare_p95(100, 300, BASE_P95, [])["status"] == "warn"
    # five each is the least that can reach p < 0.01: fully separated, p = 1/C(10, 5) = 1/252
    assert compare_p95(100, 300, BASE_P95[:5], [300, 310, 305, 302, 301])["message"].endswith("(p = 0.004)")


def test_the_windows_needed_follow_from_the_p_value():
    # n windows against n, fully separated, give p = 1/C(2n, n) at best: 1/20, 1/70, 1/252, 1/924, 1/3432
    assert RULES.windows_needed() == 5  # 1/70 = 0.014 is not below 0.01; 1/252 = 0.004 is
    assert Rules(p_value=0.05).windows_needed() == 4  # 1/20 = 0.05 is not below 0.05
    assert Rules(p_value=0.001).windows_needed() == 7  # 1/924 = 0.00108 is not below 0.001


def test_a_percentile_with_too_few_requests_beyond_it_only_warns():
    # 30 requests: 1.5 are expected above p95, under the 2 needed; its windows hold one or two requests each
    check = compare_p95(2, 5, [2] * 7, [4, 4, 5, 3, 2, 4, 4], requests=30)
    assert check["status"] == "warn"
    assert check["message"] == (
        "GET /api/items p95_ms 2 -> 5: moved beyond the minimum effect, but 30 requests are too few to place p95 "
        "(2+ slower than it per run are needed)"
    )
    assert compare_p95(2, 5, [2] * 7, [4, 4, 5, 3, 2, 4, 4], requests=40)["status"] == "fail"
    assert (
        compare_p95(2, 5, [2] * 7, [4, 4, 5, 3, 2, 4, 4], requests=30, rules=Rules(min_tail_requests=1))["status"]
        == "fail"
    )


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
    # 0 of 100 -> 1 of 100: +0.01 but one failure, as likely to fall in either run: p = 100/200
    checks = regression_checks([row(requests=100, failures=1)], [row(requests=100, failures=0)], {}, {}, RULES)
    check = check_of(checks, "error_ratio")
    assert check["status"] == "warn"
    assert check["message"] == (
        "GET /api/items error_ratio 0 -> 0.01: moved beyond the minimum effect, but within run-to-run noise (p = 0.5)"
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


def exact_p_by_enumeration(lower: list[float], higher: list[float]) -> float:
    """The exact one-sided Mann-Whitney p-value by listing every split of the pooled values (ties count half)."""

    def u(first: list[float], second: list[float]) -> float:
        return sum((a > b) + 0.5 * (a == b) for a in first for b in second)

    pooled, observed = lower + higher, u(higher, lower)
    splits = list(itertools.combinations(range(len(pooled)), len(higher)))
    at_least = 0
    for chosen in splits:
        picked = [pooled[i] for i in chosen]
        rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        at_least += u(picked, rest) >= observed
    return at_least / len(splits)


def test_rank_test_p_values_by_hand():
    # fully separated, no ties: one split in C(n1 + n2, n1) is as extreme
    assert mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(1 / 70, rel=1e-9)  # 0.0143 > 0.01
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1 / 252, rel=1e-9)  # 0.0040
    assert mann_whitney_p(BASE_P95, SLOW_P95) == pytest.approx(P_SIX_SEPARATED, rel=1e-9)
    # 4 beats 1, 2 and 3; 6, 7, 8 beat all four: U = 15 of 16, and only U = 15 and U = 16 are as extreme: 2/70
    assert mann_whitney_p([1, 2, 3, 5], [4, 6, 7, 8]) == pytest.approx(2 / 70, rel=1e-9)
    # with ties, pooled 1 1 2 2 3 3: U = 8.5 of 9 (the 2s tie); 2 of the 20 splits reach it (either 2 beside the 3s)
    assert mann_whitney_p([1, 1, 2], [2, 3, 3]) == pytest.approx(2 / 20, rel=1e-9)
    # the /health p95 windows of a real A/B pair (two requests a window): 8 of 3432 splits are as extreme
    health = ([2.0] * 7, [4.0, 4.0, 5.0, 3.0, 2.0, 4.0, 4.0])
    assert exact_p_by_enumeration(*health) == pytest.approx(8 / 3432)
    assert mann_whitney_p(*health) == pytest.approx(8 / 3432, rel=1e-9)
    assert mann_whitney_p(SLOW_P95, BASE_P95) > 0.99  # the other direction: certainly not higher
    assert mann_whitney_p([100] * 6, [100] * 6) == 1.0  # all tied: no evidence
    assert mann_whitney_p(BASE_P95, BASE_P95) > 0.5  # identical samples
    assert mann_whitney_p([], [1, 2, 3]) == 1.0


def test_rank_test_beyond_eight_windows_each_uses_the_normal_approximation():
    # 1..10 against 6..15: C(20, 10) = 184,756 splits, too many to list. U = (5.5 + 6.5 + 7.5 + 8.5 + 9.5) + 5 * 10
    # = 87.5, mean 50; five values tie in pairs, so the variance is 100/12 * (21 - 5 * 6 / (20 * 19)) = 174.342
    # and, with the continuity correction, z = (87.5 - 50 - 0.5) / sqrt(174.342) = 2.802
    expected = 0.5 * math.erfc(37 / math.sqrt(100 / 12 * (21 - 30 / 380)) / math.sqrt(2))
    assert expected == pytest.approx(0.00254, abs=0.00001)
    assert mann_whitney_p(list(range(1, 11)), list(range(6, 16))) == pytest.approx(expected, rel=1e-9)
    assert mann_whitney_p([100] * 60, [100] * 60) == 1.0  # all tied: no variance, no evidence


def test_two_proportion_p_values_by_hand():
    # Fisher's exact test: with the failures fixed in total, how likely is it that this many land in the current run
    assert proportion_p(0, 100, 1, 100) == pytest.approx(100 / 200)  # one failure, in either run alike
    assert proportion_p(0, 10, 3, 10) == pytest.approx(math.comb(10, 3) / math.comb(20, 3))  # all three: 0.105
    assert proportion_p(10, 10_000, 100, 10_000) < 1e-15
    assert proportion_p(100, 10_000, 10, 10_000) > 0.99  # fewer failures now
    assert proportion_p(0, 100, 0, 100) == 1.0  # no failures anywhere
    assert proportion_p(0, 0, 5, 100) == 1.0  # no baseline requests
    # millions of requests, where the normal approximation is good: 10,000 -> 10,283 failures of 5 M each; pooled
    # 0.0020283, so z = (283 / 5e6) / sqrt(0.0020283 * 0.9979717 * 2 / 5e6) = 1.989 and the z-test gives p = 0.0233
    assert proportion_p(10_000, 5_000_000, 10_283, 5_000_000) == pytest.approx(0.0233, abs=0.001)


def write_history(path, rows: list[tuple[int, str, str, str, str]]) -> None:
    """(timestamp, method, name, rps, p95) rows, the other columns filled like Locust fills them."""
    lines = [HISTORY_HEADER]
    for stamp, method, name, rps, p95 in rows:
        lines.append(f"{stamp},5,{method},{name},{rps},0.000000,{p95},{p95},{p95},{p95},{p95},{p95},{p95},{p95},"
                     f"{p95},{p95},{p95},100,0,{p95},{p95},1,{p95},120.0")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def history_windows(path, spans, with_times=False) -> dict:
    """{(method, name, metric): [(time, value)] or [value]} from one streamed pass over a history file."""
    digest = read_history(path, spans, every_endpoint=True)
    if digest is None:
        return {}
    return {key: list(zip(times.tolist(), values.tolist(), strict=True)) if with_times else values.tolist()
            for key, (times, values) in digest.windows.items()}  # fmt: skip


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
