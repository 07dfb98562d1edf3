"""The time series a report draws, read from the run dir and cut to a size a browser opens at once.

Locust's history has one row per endpoint per second: a 24-hour, 30-endpoint run holds 2.7 million.
Each series is averaged into at most MAX_POINTS points (rates and users by their mean, latency
percentiles by their highest value, so a short spike is not averaged away); `step_s` says how many
seconds one point stands for. Nothing here judges: the numbers are the run's own.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path

import pandas as pd

from swarmgate.analysis.drift import downsample, drift_series
from swarmgate.analysis.load import Run, aggregate, lenient_rows

MAX_POINTS = 600
DISTRIBUTION_BINS = 40
HISTORY_COLUMNS = {"User Count": "users", "Requests/s": "rps", "Failures/s": "fps", "50%": "p50_ms",
                   "95%": "p95_ms", "99%": "p99_ms"}  # fmt: skip
HIGHEST = ("users", "p50_ms", "p95_ms", "p99_ms")  # the rest are means


def step_for(seconds: float) -> int:
    return max(1, math.ceil(seconds / MAX_POINTS))


def rounded(values: pd.Series, places: int = 3) -> list:
    return [None if pd.isna(v) else round(float(v), places) for v in values]


def timeline(history: pd.DataFrame | None) -> dict | None:
    """Users, and per endpoint rps, failures/s and p50/p95/p99, on one time grid (seconds from the first row)."""
    if history is None or history.empty:
        return None
    frame = history[[c for c in ("Timestamp", "Type", "Name", *HISTORY_COLUMNS) if c in history]]
    frame = frame.rename(columns=HISTORY_COLUMNS)
    for column in HISTORY_COLUMNS.values():
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    stamp = pd.to_numeric(frame["Timestamp"], errors="coerce")
    start = float(stamp.min())
    step = step_for(float(stamp.max()) - start)
    frame = frame.assign(point=((stamp - start) // step).astype("int64"))
    rules = {c: ("max" if c in HIGHEST else "mean") for c in HISTORY_COLUMNS.values() if c in frame}
    grouped = frame.groupby(["Type", "Name", "point"], sort=False, observed=True).agg(rules)
    points = pd.RangeIndex(int(frame["point"].max()) + 1)
    endpoints = []
    for (method, name), rows in grouped.groupby(level=[0, 1], sort=False, observed=True):
        rows = rows.droplevel([0, 1]).reindex(points)
        endpoints.append({"method": method, "name": name,
                          **{c: rounded(rows[c]) for c in rows.columns if c != "users"}})  # fmt: skip
    users = frame[frame["Name"] == "Aggregated"].groupby("point")["users"].max().reindex(points) \
        if "users" in frame else pd.Series(index=points, dtype=float)  # fmt: skip
    endpoints.sort(key=lambda e: (e["name"] != "Aggregated", e["name"], e["method"]))
    return {"start": start, "step_s": step, "t": [p * step for p in points], "users": rounded(users, 1),
            "endpoints": endpoints}  # fmt: skip


def distribution(run: Run) -> list[dict]:
    """Per endpoint (Aggregated first): request counts in log-spaced response-time bins."""
    timed = [e for e in run.endpoints if e.histogram]
    if not timed:
        return []
    everything = aggregate(timed)
    top = max(max(everything.histogram), 1)
    log_top = math.log(top + 1)
    edges = sorted({0, *(round(math.exp(log_top * i / DISTRIBUTION_BINS)) for i in range(1, DISTRIBUTION_BINS + 1))})
    found = []
    for endpoint in [everything, *sorted(timed, key=lambda e: (e.name, e.method))]:
        counts = [0] * (len(edges) - 1)
        for bucket, count in endpoint.histogram.items():
            counts[min(bisect.bisect_right(edges, bucket), len(edges) - 1) - 1] += count
        found.append({"method": endpoint.method, "name": endpoint.name, "counts": counts})
    return [{"edges_ms": edges, "endpoints": found}]


def resources(path: Path) -> list[dict]:
    """CPU % (mean) and memory MB (highest) per process over time, one entry per role and node."""
    if not path.is_file():
        return []
    try:
        frame = pd.read_csv(path, usecols=["timestamp", "role", "node", "cpu_percent", "rss_bytes"],
                            dtype={"role": "string", "node": "string"})  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return []
    if frame.empty:
        return []
    stamp = pd.to_numeric(frame["timestamp"], errors="coerce")
    start = float(stamp.min())
    step = step_for(float(stamp.max()) - start)
    frame = frame.assign(point=((stamp - start) // step), mb=pd.to_numeric(frame["rss_bytes"], errors="coerce") / 1e6,
                         cpu=pd.to_numeric(frame["cpu_percent"], errors="coerce"))  # fmt: skip
    found = []
    for (role, node), rows in frame.groupby(["role", "node"], sort=True):
        by_point = rows.groupby("point").agg(cpu=("cpu", "mean"), mb=("mb", "max"))
        found.append({"role": role, "node": node, "start": start, "t": [p * step for p in by_point.index],
                      "cpu_percent": rounded(by_point["cpu"], 1), "rss_mb": rounded(by_point["mb"], 1)})  # fmt: skip
    return found


def drift_lines(run: Run, drift: dict | None) -> list[dict]:
    """For an endurance run: the points drift was fitted on and the line it fitted (from summary.json).

    A stock run's resources.csv does not exist: its target memory series is empty, the others are drawn."""
    if not drift:
        return []
    found = []
    for name, points in drift_series(run).items():
        fitted = drift["series"].get(name)
        if name == "error_ratio" or not fitted or "intercept" not in fitted:  # (summaries before the line was kept)
            continue  # the error ratio is drawn over time above; its trend is in the drift table
        points = downsample(sorted(points))  # the points the line was fitted on
        x0, x1 = fitted["x0"], points[-1][0]
        line = [fitted["intercept"], fitted["intercept"] + fitted["slope_per_s"] * (x1 - x0)]
        found.append({"metric": name, "start": x0, "t": [round(x - x0, 3) for x, _ in points],
                      "values": [round(y, 3) for _, y in points], "line_t": [0, round(x1 - x0, 3)],
                      "line": [round(v, 3) for v in line], "p_value": fitted["p_value"]})  # fmt: skip
    return found


def server_lines(run: Run, summary: dict) -> list[dict]:
    """Each judged server metric over the run (averaged down to at most 400 points), with its levels."""
    from swarmgate.analysis.server import read_server_metrics  # only for runs with server metrics

    series = read_server_metrics(run)
    found = []
    for metric in (summary.get("server") or {}).get("metrics", []):  # in the SLA file's order
        name, points = metric["name"], series.get(metric["name"])
        if not points:
            continue
        points = downsample(points)
        found.append({"name": name, "unit": metric.get("unit") or "", "start": points[0][0],
                      "t": [round(x - points[0][0], 3) for x, _ in points], "values": [round(y, 4) for _, y in points],
                      "target": metric.get("target"), "alert": metric.get("alert")})  # fmt: skip
    return found


def slow_request_sample(path: Path, limit: int = 50) -> list[dict]:
    """The slowest requests of the run (at most `limit`), slowest first."""
    rows: list[dict] = []
    for row in lenient_rows(path, slow_request):
        rows.append(row)
        if len(rows) > 4 * limit:
            rows = sorted(rows, key=lambda r: -r["response_time_ms"])[:limit]
    return sorted(rows, key=lambda r: -r["response_time_ms"])[:limit]


def slow_request(row: dict) -> dict:
    return {"timestamp": float(row["timestamp"]), "method": row["method"], "name": row["name"],
            "response_time_ms": float(row["response_time_ms"]), "failed": row.get("failed") == "1",
            "node": row.get("node")}  # fmt: skip


def report_series(run: Run, summary: dict) -> dict:
    """Everything the report draws beyond summary.json."""
    return {
        "timeline": timeline(run.history()),
        "distribution": distribution(run),
        "resources": resources(run.path / "resources.csv") if run.path.is_dir() else [],
        "drift": drift_lines(run, summary.get("drift")),
        "server": server_lines(run, summary),
        "slowest": slow_request_sample(run.path / "slow_requests.csv") if run.path.is_dir() else [],
    }
