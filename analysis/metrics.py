"""Per-endpoint numbers for a window: percentiles from histograms, error ratio, rps, Apdex, slow share."""

from __future__ import annotations

import math

from swarmgate.analysis.load import Endpoint, Run, Stage, aggregate
from swarmgate.core.histogram import merge, percentile

PERCENTILES = {"p50_ms": 0.50, "p75_ms": 0.75, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99}
CSV_COLUMNS = {"p50_ms": "50%", "p75_ms": "75%", "p90_ms": "90%", "p95_ms": "95%", "p99_ms": "99%"}


def endpoint_metrics(endpoint: Endpoint, seconds: float | None, apdex_t_ms: float, slow_ms: float) -> dict:
    requests = endpoint.requests
    row = {
        "method": endpoint.method, "name": endpoint.name, "requests": requests, "failures": endpoint.failures,
        "error_ratio": round(endpoint.failures / requests, 6) if requests else None,
        "uptime_ratio": round(1 - endpoint.failures / requests, 6) if requests else None,  # of a health check
        "rps": round(requests / seconds, 3) if seconds else None,
        "mean_ms": round(endpoint.total_ms / requests, 2) if requests and endpoint.total_ms is not None else None,
        "max_ms": round(endpoint.max_ms, 2) if endpoint.max_ms is not None else None,
    }  # fmt: skip
    histogram = endpoint.histogram
    if endpoint.approximate:  # rebuilt from Locust's rolling history percentiles: no Apdex or slow share
        timed = bool(histogram and sum(histogram.values()))
        row.update({key: percentile(histogram, q) if timed else None for key, q in PERCENTILES.items()})
        row.update({"apdex": None, "slow_ratio": None, "percentiles_from": "locust-history" if timed else None})
    elif histogram is not None and sum(histogram.values()):
        timed = sum(histogram.values())
        row.update({key: percentile(histogram, q) for key, q in PERCENTILES.items()})
        satisfied = sum(n for bucket, n in histogram.items() if bucket <= apdex_t_ms)
        tolerating = sum(n for bucket, n in histogram.items() if apdex_t_ms < bucket <= 4 * apdex_t_ms)
        row["apdex"] = round((satisfied + tolerating / 2) / timed, 4)
        row["slow_ratio"] = round(sum(n for bucket, n in histogram.items() if bucket > slow_ms) / timed, 6)
        row["percentiles_from"] = "histogram"
    else:
        for key, column in CSV_COLUMNS.items():
            value = endpoint.csv_percentiles.get(column, math.nan)
            row[key] = None if math.isnan(value) else value
        row.update({"apdex": None, "slow_ratio": None, "percentiles_from": "locust-csv" if requests else None})
    return row


def window_endpoints(stages: list[Stage]) -> tuple[list[Endpoint], float]:
    """Endpoints merged over several stages, and the seconds those stages cover."""
    merged: dict[tuple[str, str], list[Endpoint]] = {}
    for stage in stages:
        for endpoint in stage.endpoints:
            merged.setdefault((endpoint.method, endpoint.name), []).append(endpoint)
    endpoints = [
        Endpoint(method, name, sum(e.requests for e in parts), sum(e.failures for e in parts),
                 sum(e.total_ms or 0.0 for e in parts), max(e.max_ms or 0.0 for e in parts),
                 merge(e.histogram or {} for e in parts), approximate=any(e.approximate for e in parts))
        for (method, name), parts in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
    ]  # fmt: skip
    return endpoints, sum(stage.end - stage.start for stage in stages)


def table(endpoints: list[Endpoint], seconds: float | None, apdex_t_ms: float, slow_ms: float,
          csv_aggregate: Endpoint | None = None) -> list[dict]:  # fmt: skip
    """One row per endpoint, then the Aggregated row (method empty), as in summary.json.

    Without histograms, Locust's own Aggregated row supplies the aggregate's percentiles.
    """
    rows = [endpoint_metrics(e, seconds, apdex_t_ms, slow_ms) for e in endpoints]
    total = aggregate(endpoints)
    if total.histogram is None and csv_aggregate is not None:
        total.csv_percentiles = csv_aggregate.csv_percentiles
    return rows + [endpoint_metrics(total, seconds, apdex_t_ms, slow_ms)]


def judged_window(run: Run) -> tuple[list[Endpoint], float | None, str]:  # noqa: D401
    """What verdicts look at: the steady stages when there are any, else the whole run."""
    steady = [stage for stage in run.stages if stage.steady]
    if steady:
        endpoints, seconds = window_endpoints(steady)
        return endpoints, seconds, "steady stages"
    return run.endpoints, run.duration_s, "whole run"
