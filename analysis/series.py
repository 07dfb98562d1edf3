"""The time series a report draws, read from the run dir and cut to a size a browser opens at once.

Locust's history has one row per endpoint per second: a 24-hour, 30-endpoint run holds 2.7 million.
Its timeline comes from the run's one streamed pass over the history (history_stream.py); resources
are averaged into at most MAX_POINTS points the same way. Nothing here judges: the numbers are the
run's own. The pipeline keeps what this returns as charts.json, so a report is drawn again from it.
"""

from __future__ import annotations

import bisect
import json
import math
from pathlib import Path

import numpy as np

from swarmgate.analysis.drift import downsample, fitted_series
from swarmgate.analysis.history_stream import filled, query_csv, rounded, step_for
from swarmgate.analysis.journeys import journey_lines
from swarmgate.analysis.load import Run, aggregate, lenient_rows

DISTRIBUTION_BINS = 40
CHARTS_SCHEMA_VERSION = 1


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
    types = {"timestamp": "DOUBLE", "role": "VARCHAR", "node": "VARCHAR", "cpu_percent": "DOUBLE",
             "rss_bytes": "DOUBLE"}  # fmt: skip
    finite = "isfinite(timestamp)"  # a time that is missing, inf or NaN is no time
    ends = query_csv(path, types, f"SELECT min(timestamp) AS low, max(timestamp) AS high FROM rows WHERE {finite}")
    if ends is None or np.ma.is_masked(ends["low"][0]):
        return []
    start = float(ends["low"][0])
    step = step_for(float(ends["high"][0]) - start)
    points = query_csv(path, types, f"""
        SELECT role, node, floor((timestamp - {start!r}) / {step}) AS point, avg(cpu_percent) AS cpu,
               max(rss_bytes / 1e6) AS mb
        FROM rows WHERE {finite} AND role IS NOT NULL AND node IS NOT NULL
        GROUP BY ALL ORDER BY role, node, point""")  # fmt: skip
    if points is None:
        return []
    found = []
    roles, nodes = points["role"].tolist(), points["node"].tolist()
    for role, node in dict.fromkeys(zip(roles, nodes, strict=True)):
        mine = (points["role"] == role) & (points["node"] == node)
        times = [p * step for p in points["point"][mine].tolist()]
        found.append({"role": role, "node": node, "start": start, "t": times,
                      "cpu_percent": rounded(filled(points["cpu"][mine]), 1),
                      "rss_mb": rounded(filled(points["mb"][mine]), 1)})  # fmt: skip
    return found


def drift_lines(run: Run, drift: dict | None) -> list[dict]:
    """For an endurance run: the points drift was fitted on and the line it fitted (from summary.json).

    A stock run's resources.csv does not exist: its target memory series is empty, the others are drawn."""
    if not drift:
        return []
    found = []
    for name, points in fitted_series(run).items():  # the points the line was fitted on
        fitted = drift["series"].get(name)
        if name == "error_ratio" or not fitted or "intercept" not in fitted:  # (summaries before the line was kept)
            continue  # the error ratio is drawn over time above; its trend is in the drift table
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


def charts_json(series: dict) -> str:
    """charts.json: what report.html draws beyond summary.json, kept so a report is drawn again without the run."""
    return json.dumps({"schema_version": CHARTS_SCHEMA_VERSION, "series": series}, separators=(",", ":")) + "\n"


def read_charts(path: Path) -> dict | None:
    """The series kept in a charts.json, or None when there is none of this schema (then they are cut again)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("schema_version") != CHARTS_SCHEMA_VERSION:
        return None
    return kept.get("series") if isinstance(kept.get("series"), dict) else None


def report_series(run: Run, summary: dict) -> dict:
    """Everything the report draws beyond summary.json."""
    return {
        "timeline": history.timeline if (history := run.history()) else None,
        "distribution": distribution(run),
        "resources": resources(run.path / "resources.csv") if run.path.is_dir() else [],
        "drift": drift_lines(run, summary.get("drift")),
        "server": server_lines(run, summary),
        "journeys": journey_lines(run.journey_timeline),
        "slowest": slow_request_sample(run.path / "slow_requests.csv") if run.path.is_dir() else [],
    }
