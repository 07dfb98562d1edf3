"""Drift over a long steady stage (endurance runs): does latency, the error ratio, throughput or the
target's memory trend up or down, beyond noise?

After a warm-up (the first 10 % of each steady stage), each series gets a robust slope (Theil-Sen:
the median of pairwise slopes, untroubled by outliers) and a confidence (Kendall's tau-b with a
one-sided p-value in the direction it found), both from scipy.stats. Long series are averaged down
to at most 400 points first.
"""

from __future__ import annotations

import math
import statistics
from itertools import chain
from pathlib import Path

import numpy as np

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.compare import WINDOW_S
from swarmgate.analysis.history_stream import query_csv
from swarmgate.analysis.load import Run
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.sla import Threshold, status_of

MIN_POINTS = 6
MAX_POINTS = 400
WARM_UP_SHARE = 0.10


def downsample(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most MAX_POINTS points: the means of consecutive runs of points (the last run may be shorter)."""
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / MAX_POINTS)
    values = np.fromiter(chain.from_iterable(points), dtype=float, count=2 * len(points)).reshape(-1, 2)
    starts = np.arange(0, len(values), size)
    means = np.add.reduceat(values, starts) / np.diff(np.append(starts, len(values)))[:, None]
    return [(t, v) for t, v in means.tolist()]


def trend(points: list[tuple[float, float]]) -> dict | None:
    """Theil-Sen slope (per second) and Kendall's tau with its p-value, or None with too few points.

    The p-value is one-sided, for a trend in the direction tau found (half scipy's two-sided value):
    exact without ties for up to 33 points, else the normal approximation with tie correction.
    """
    from scipy import stats  # a second to import: only when there is a trend to fit, not to draw a report

    points = downsample(sorted(points))
    n = len(points)
    if n < MIN_POINTS:
        return None
    x0 = points[0][0]
    times, values = [x - x0 for x, _ in points], [y for _, y in points]
    fitted = stats.theilslopes(values, times, method="joint")  # joint: intercept = median(y - slope * x)
    slope, intercept = (0.0, statistics.median(values)) if math.isnan(fitted.slope) else fitted[:2]
    tau, p_two_sided = stats.kendalltau(times, values)
    if math.isnan(tau):  # every value the same: no trend
        tau, p_two_sided = 0.0, 1.0
    return {"slope_per_s": float(slope), "intercept": float(intercept), "x0": x0, "tau": float(tau),
            "p_value": float(p_two_sided) / 2, "points": n}  # fmt: skip


def spans_after_warm_up(run: Run) -> list[tuple[float, float]]:
    """The longest steady stage after its warm-up: one load level, so a step up is never read as drift."""
    steady = [s for s in run.stages if s.steady]
    if not steady:
        return []
    longest = max(steady, key=lambda s: s.end - s.start)
    return [(longest.start + (longest.end - longest.start) * WARM_UP_SHARE, longest.end)]


def target_memory(path: Path, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(time, MB) of the target's resident memory within the spans, from resources.csv, in the file's order."""
    if not spans:
        return []
    inside = " OR ".join(f"(timestamp >= {a!r} AND timestamp <= {b!r})" for a, b in spans)
    types = {"timestamp": "DOUBLE", "role": "VARCHAR", "rss_bytes": "DOUBLE"}
    found = query_csv(path, types, f"SELECT timestamp, rss_bytes FROM rows WHERE role = 'target' AND rss_bytes "
                                   f"IS NOT NULL AND ({inside})")  # fmt: skip
    if found is None:
        return []
    return list(zip(found["timestamp"].tolist(), (found["rss_bytes"] / 1e6).tolist(), strict=True))


def drift_series(run: Run) -> dict[str, list[tuple[float, float]]]:
    """The points drift is fitted on: Aggregated p95, error ratio and rps per 10 s window, target memory
    (once per run: the drift checks and the report's drift charts draw the same points)."""
    return run.once("drift_series", lambda: series_of(run))


def fitted_series(run: Run) -> dict[str, list[tuple[float, float]]]:
    """drift_series in time order and averaged down to at most MAX_POINTS: what each trend is fitted on and
    the report draws (once per run)."""
    return run.once("drift_fitted", lambda: {name: downsample(sorted(p)) for name, p in drift_series(run).items()})


def series_of(run: Run) -> dict[str, list[tuple[float, float]]]:
    spans = spans_after_warm_up(run)
    digest = run.history()
    windows = digest.windows if digest else {}

    def inside(metric: str) -> list[tuple[float, float]]:
        """The Aggregated row's windows that lie wholly inside the spans (the steady stages' windows do)."""
        if ("", "Aggregated", metric) not in windows:
            return []
        times, values = windows[("", "Aggregated", metric)]
        within = np.zeros(len(times), dtype=bool)
        for start, end in spans:
            within |= (times >= start + WINDOW_S) & (times <= end)
        return list(zip(times[within].tolist(), values[within].tolist(), strict=True))

    rps = dict(inside("rps"))
    errors = [(t, f / rps[t]) for t, f in inside("fps") if rps.get(t)]
    return {
        "p95_ms": inside("p95_ms"),
        "error_ratio": errors,
        "rps": inside("rps"),
        "target_rss_mb": target_memory(run.path / "resources.csv", spans),
    }


def drift(run: Run, min_steady_s: float = 30.0) -> dict | None:
    """Trends of the run's steady stages after warm-up; None when no steady stage is long enough."""
    spans = spans_after_warm_up(run)
    if not spans or max(b - a for a, b in spans) < min_steady_s * (1 - WARM_UP_SHARE):
        return None
    series = drift_series(run)
    if not any(series.values()):  # no history, no resources: nothing to fit
        return None
    result = {}
    fitted = fitted_series(run)
    for name, points in series.items():
        found = trend(fitted[name])  # as trend(points), without sorting and averaging them down a second time
        if found is None:
            result[name] = None
            continue
        per = 600.0 if name == "target_rss_mb" else 3600.0
        span = max(x for x, _ in points) - found["x0"]
        result[name] = {**found, f"per_{'10min' if per == 600 else 'hour'}": round(found["slope_per_s"] * per, 3),
                        "first": round(points[0][1], 3), "last": round(points[-1][1], 3),
                        "line_first": round(found["intercept"], 3),  # the fitted line at the span's ends: what
                        "line_last": round(found["intercept"] + found["slope_per_s"] * span, 3)}  # fmt: skip
    return {"warm_up_share": WARM_UP_SHARE, "series": result}


def drift_checks(result: dict | None, memory: Threshold, rules: Rules, p_value: float = 0.01) -> list[Check]:
    """Memory growth is judged by its SLA; latency and throughput trends warn when large and significant."""
    if result is None:
        return []
    checks = []

    def add(metric: str, status: str, actual: float | None, message: str, target=None, alert=None) -> None:
        endpoint = "Aggregated" if metric != "target_rss_mb_per_10min" else None
        checks.append(check("drift", status, message, method="", endpoint=endpoint, metric=metric, actual=actual,
                            target=target, alert=alert))  # fmt: skip

    series = result["series"]
    memory_trend = series.get("target_rss_mb")
    if memory_trend:
        growth, significant = memory_trend["per_10min"], memory_trend["p_value"] < p_value
        status = status_of("target_rss_mb_per_10min", growth, memory) if significant else "pass"
        word = "significant" if significant else "not significant"
        add("target_rss_mb_per_10min", status, growth, f"target memory grows {growth:g} MB per 10 min "
              f"({word}, p = {memory_trend['p_value']:.2g}; {memory.target:g} / {memory.alert:g})",
              memory.target, memory.alert)  # fmt: skip
    # How large a change is comes from the fitted line, not from two raw windows (one noisy window
    # at either end would otherwise hide, or invent, a trend).
    latency = series.get("p95_ms")
    if latency:
        rise = latency["line_last"] - latency["line_first"]
        large = rise >= rules.latency_effect(latency["line_first"])
        upward = latency["slope_per_s"] > 0 and latency["p_value"] < p_value
        status = "warn" if large and upward else "pass"
        add("p95_ms_per_hour", status, latency["per_hour"], f"p95 moves {latency['per_hour']:g} ms per hour "
              f"({latency['line_first']:g} -> {latency['line_last']:g} ms on the fitted line, "
              f"p = {latency['p_value']:.2g})")  # fmt: skip
    failing = series.get("error_ratio")
    if failing:
        rise = failing["line_last"] - failing["line_first"]
        upward = failing["slope_per_s"] > 0 and failing["p_value"] < p_value
        message = f"error ratio moves {failing['per_hour']:g} per hour (p = {failing['p_value']:.2g})"
        add("error_ratio_per_hour", "warn" if upward and rise >= rules.min_error_increase else "pass",
              failing["per_hour"], message)  # fmt: skip
    throughput = series.get("rps")
    if throughput:
        drop = throughput["line_first"] - throughput["line_last"]
        large = throughput["line_first"] > 0 and drop / throughput["line_first"] * 100 >= rules.min_rps_drop_pct
        downward = throughput["slope_per_s"] < 0 and throughput["p_value"] < p_value
        message = f"throughput moves {throughput['per_hour']:g} req/s per hour (p = {throughput['p_value']:.2g})"
        add("rps_per_hour", "warn" if large and downward else "pass", throughput["per_hour"], message)
    return checks
