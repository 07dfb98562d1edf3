"""Drift without a run: Theil-Sen slopes and Kendall's p on synthetic series with a known slope, and the checks."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from swarmgate.analysis.drift import MAX_POINTS, downsample, drift, drift_checks, trend
from swarmgate.analysis.load import Run, Stage
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.sla import Threshold

RULES = Rules()
SEEDS_MEMORY = Threshold(50.0, 100.0)  # sla.toml's [drift] target_rss_mb_per_10min
HISTORY_HEADER = (  # Locust 2.47's --csv-full-history header
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size"
)
START = 1_800_000_000  # a whole multiple of 10 s, like Locust's history stamps


def soak(tmp_path: Path, stages: list[tuple[float, float, bool]]) -> Run:
    """A swarmgate run dir with these (start, end, steady) stages; its files are written by the caller."""
    return Run(source="swarmgate", path=tmp_path, meta={}, endpoints=[], duration_s=None, missing=[],
               stages=[Stage(f"s{i}", a, b, 10, steady, []) for i, (a, b, steady) in enumerate(stages)])  # fmt: skip


def write_resources(tmp_path: Path, target_mb, seconds: int, generator_mb=lambda t: 80.0) -> None:
    """resources.csv as ResourceRecorder writes it: every second the load generator and the target."""
    lines = ["timestamp,role,node,pid,cpu_percent,rss_bytes"]
    for t in range(0, seconds + 1, 5):
        lines.append(f"{START + t}.25,local,local,111,40.0,{int(generator_mb(t) * 1e6)}")
        lines.append(f"{START + t}.25,target,target,222,12.5,{int(target_mb(t) * 1e6)}")
    (tmp_path / "resources.csv").write_text("\n".join(lines) + "\n")


def write_history(tmp_path: Path, seconds: int, p95, rps=lambda t: 50.0, fps=lambda t: 0.0) -> None:
    """locust_stats_history.csv with an Aggregated row every second (only the columns drift reads vary)."""
    lines = [HISTORY_HEADER]
    for t in range(seconds + 1):
        p = round(p95(t))
        lines.append(f"{START + t},10,,Aggregated,{rps(t):.6f},{fps(t):.6f},{p},{p},{p},{p},{p},{p},{p},{p},{p},{p},"
                     f"{p},{50 * t},0,{p},{p},1,{p},100.0")  # fmt: skip
    (tmp_path / "locust_stats_history.csv").write_text("\n".join(lines) + "\n")


def one_check(checks: list[dict], metric: str) -> dict:
    (found,) = [c for c in checks if c["metric"] == metric]
    return found


def test_an_exact_line_gives_its_slope_intercept_and_a_tau_of_one():
    points = [(x, 5 + 2 * (x - 10)) for x in range(10, 20)]
    found = trend(list(reversed(points)))  # order does not matter: points are sorted by time
    assert found["slope_per_s"] == 2.0 and found["intercept"] == 5.0 and found["x0"] == 10
    assert found["tau"] == pytest.approx(1.0) and found["points"] == 10
    # exact for 10 points without ties: of the 10! orders of the values, only one has all 45 pairs rising
    assert found["p_value"] == pytest.approx(1 / math.factorial(10), rel=1e-9)  # 2.8e-7


def test_kendall_p_values_by_hand():
    # 0 1 3 2 4 5: one of the 15 pairs falls (3, 2), tau = (14 - 1)/15; orders of 6 values with at most one falling
    # pair: the sorted one and the 5 with one neighbouring swap, 6 of 6! = 720
    found = trend([(x, y) for x, y in enumerate([0, 1, 3, 2, 4, 5])])
    assert found["tau"] == pytest.approx(13 / 15)
    assert found["p_value"] == pytest.approx(6 / 720, rel=1e-9)
    falling = trend([(x, -y) for x, y in enumerate([0, 1, 3, 2, 4, 5])])  # the same, downwards: tau < 0, same p
    assert falling["tau"] == pytest.approx(-13 / 15) and falling["p_value"] == pytest.approx(6 / 720, rel=1e-9)
    flat = trend([(x, 7.0) for x in range(8)])  # one value throughout: no trend, nothing to rank
    assert flat["slope_per_s"] == 0 and flat["tau"] == 0 and flat["p_value"] == 0.5


def test_too_few_points_give_no_trend():
    assert trend([(x, x) for x in range(5)]) is None
    assert trend([(x, x) for x in range(6)]) is not None


def test_the_slope_ignores_a_few_wild_outliers():
    rng = random.Random(3)
    points = [(x, 2.0 * x + rng.gauss(0, 1)) for x in range(100)]
    for x in (10, 40, 70, 95):
        points[x] = (x, 5000.0)  # spikes a least-squares fit would follow (its slope would be ~4)
    assert trend(points)["slope_per_s"] == pytest.approx(2.0, abs=0.05)


def test_downsample_averages_long_series_to_at_most_400_points():
    line = [(float(x), 2.0 * x) for x in range(1000)]
    small = downsample(line)
    assert len(small) == 334  # groups of ceil(1000 / 400) = 3 points
    assert small[0] == (1.0, 2.0) and small[-1] == (999.0, 1998.0)  # means of (0, 1, 2) and of (999,)
    assert all(y == 2 * x for x, y in small)  # means of points on a line stay on it
    assert len(downsample(line[:401])) == 201
    exactly = line[:MAX_POINTS]
    assert downsample(exactly) is exactly
    assert trend(line)["points"] == 334 and trend(line)["slope_per_s"] == pytest.approx(2.0)


def test_memory_growing_10_mb_per_10_min_is_fitted_and_judged_by_the_drift_threshold(tmp_path):
    rng = random.Random(11)
    # the load generator's own rows grow 100 MB per 10 min: only the target's rows count
    write_resources(tmp_path, lambda t: 300 + t / 60 + rng.gauss(0, 1.5), 1800, generator_mb=lambda t: 80 + t / 6)
    run = soak(tmp_path, [(START - 60, START, False), (START, START + 1800, True)])
    result = drift(run)
    memory = result["series"]["target_rss_mb"]
    assert memory["per_10min"] == pytest.approx(10, abs=0.5)  # the slope's standard error here is ~0.11
    assert memory["p_value"] < 1e-6
    # a sample every 5 s (stamped at .25 s) from the end of the 180 s warm-up: t = 180 ... 1795, (1795 - 180)/5 + 1
    assert memory["points"] == 324
    assert memory["first"] == pytest.approx(303, abs=5)  # after the warm-up: 300 + 180/60
    assert result["warm_up_share"] == 0.10

    check = one_check(drift_checks(result, SEEDS_MEMORY, RULES), "target_rss_mb_per_10min")
    assert check["status"] == "pass" and check["target"] == 50 and check["alert"] == 100
    assert check["message"].startswith(f"target memory grows {memory['per_10min']:g} MB per 10 min (significant")
    assert check["message"].endswith("; 50 / 100)")
    assert one_check(drift_checks(result, Threshold(5, 20), RULES), "target_rss_mb_per_10min")["status"] == "warn"
    assert one_check(drift_checks(result, Threshold(2, 8), RULES), "target_rss_mb_per_10min")["status"] == "fail"


def test_flat_noisy_memory_has_no_significant_trend_and_passes_any_threshold(tmp_path):
    rng = random.Random(5)
    write_resources(tmp_path, lambda t: 300 + rng.gauss(0, 3), 1800)
    result = drift(soak(tmp_path, [(START, START + 1800, True)]))
    memory = result["series"]["target_rss_mb"]
    assert abs(memory["per_10min"]) < 0.5 and memory["p_value"] > 0.01
    check = one_check(drift_checks(result, Threshold(0.001, 0.002), RULES), "target_rss_mb_per_10min")
    assert check["status"] == "pass" and "not significant" in check["message"]


def test_rising_p95_warns_and_steady_throughput_and_errors_pass(tmp_path):
    rng = random.Random(8)
    write_history(tmp_path, 3600, p95=lambda t: 100 + t / 36 + rng.gauss(0, 4), rps=lambda t: 50 + rng.gauss(0, 1))
    result = drift(soak(tmp_path, [(START, START + 3600, True)]))
    series = result["series"]
    p95 = series["p95_ms"]
    assert p95["per_hour"] == pytest.approx(100, abs=5)  # +100 ms over the hour
    assert p95["points"] == 324  # whole 10 s windows after the 360 s warm-up: t = 370 ... 3600
    assert series["target_rss_mb"] is None  # no resources.csv: nothing to fit
    stock = replace(soak(tmp_path / "locust", [(START, START + 3600, True)]), source="locust-csv")  # PREFIX files
    assert drift(stock)["series"]["p95_ms"] == p95  # the same history, read through a stock --csv prefix
    checks = drift_checks(result, SEEDS_MEMORY, RULES)
    assert one_check(checks, "p95_ms_per_hour")["status"] == "warn"
    assert one_check(checks, "p95_ms_per_hour")["message"].startswith(f"p95 moves {p95['per_hour']:g} ms per hour")
    assert one_check(checks, "rps_per_hour")["status"] == "pass"
    assert one_check(checks, "error_ratio_per_hour")["status"] == "pass"
    assert [c["metric"] for c in checks if c["metric"].startswith("target_rss")] == []


def test_falling_throughput_and_rising_errors_warn(tmp_path):
    write_history(tmp_path, 3600, p95=lambda t: 100, rps=lambda t: 100 - t / 72, fps=lambda t: t / 3600)
    result = drift(soak(tmp_path, [(START, START + 3600, True)]))
    assert result["series"]["rps"]["per_hour"] == pytest.approx(-50, abs=0.5)  # 100 -> 50 req/s over the hour
    checks = drift_checks(result, SEEDS_MEMORY, RULES)
    assert one_check(checks, "rps_per_hour")["status"] == "warn"
    assert one_check(checks, "error_ratio_per_hour")["status"] == "warn"  # 0.1 % -> 2 % failing
    assert one_check(checks, "p95_ms_per_hour")["status"] == "pass"  # flat


def test_a_step_between_steady_stages_is_not_drift(tmp_path):
    # 100 ms at one load level for 10 min, then 300 ms at a higher one for 30 min: only the longest stage counts
    rng = random.Random(9)
    write_history(tmp_path, 2400, p95=lambda t: (100 if t < 600 else 300) + rng.gauss(0, 4))
    result = drift(soak(tmp_path, [(START, START + 600, True), (START + 600, START + 2400, True)]))
    p95 = result["series"]["p95_ms"]
    assert p95["first"] == pytest.approx(300, abs=15)
    assert one_check(drift_checks(result, SEEDS_MEMORY, RULES), "p95_ms_per_hour")["status"] == "pass"


def test_runs_without_a_long_enough_steady_stage_have_no_drift(tmp_path):
    write_history(tmp_path, 600, p95=lambda t: 100 + t)
    assert drift(soak(tmp_path, [(START, START + 20, True)])) is None  # 20 s steady: under the 30 s minimum
    assert drift(soak(tmp_path, [(START, START + 600, False)])) is None  # only a ramp
    assert drift(soak(tmp_path / "absent", [(START, START + 600, True)])) is None  # no data
    assert drift_checks(None, SEEDS_MEMORY, RULES) == []


def test_one_low_last_window_does_not_hide_a_significant_p95_rise(tmp_path):
    rng = random.Random(8)
    # the rising series of test_rising_p95_warns..., except that the very last window dips to 95 ms
    write_history(tmp_path, 3600, p95=lambda t: 95 if t == 3600 else 100 + t / 36 + rng.gauss(0, 4))
    result = drift(soak(tmp_path, [(START, START + 3600, True)]))
    p95 = result["series"]["p95_ms"]
    assert p95["per_hour"] == pytest.approx(100, abs=5) and p95["p_value"] < 1e-50  # the fit still sees it
    assert one_check(drift_checks(result, SEEDS_MEMORY, RULES), "p95_ms_per_hour")["status"] == "warn"


def test_a_long_series_is_averaged_down_in_consecutive_runs():
    from statistics import fmean

    from swarmgate.analysis.drift import MAX_POINTS, downsample

    points = [(float(t), (t * 7919) % 101 / 3) for t in range(1001)]  # 3 per run: 333 full runs and one of 2
    down = downsample(points)
    assert len(down) == 334 <= MAX_POINTS
    assert down[0] == pytest.approx((1.0, fmean(p[1] for p in points[:3])))
    assert down[-1] == pytest.approx((999.5, fmean(p[1] for p in points[999:])))
    assert downsample(points[:MAX_POINTS]) == points[:MAX_POINTS]
