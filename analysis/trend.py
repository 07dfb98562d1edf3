"""Trends across runs from results/history.sqlite: per endpoint p95, error ratio and rps run by run, and
the target's server metrics as each run judged them.

Each series gets the scenario's promoted baseline (when there is one) and a noise band around it:
the run-to-run spread of the runs shown (1.4826 x the median absolute deviation, a robust standard
deviation), times two, but never narrower than the regression minimums of the SLA file. A run is
flagged when it moved from the previous run of its scenario (for the weekly job, the week before)
by more than the band's half-width, the minimum effect and, for rates and error ratios, three times
the counting noise of the two runs (a route with a handful of requests moves a lot by chance), in
the direction that hurts.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import datetime
from pathlib import Path

from swarmgate.analysis.baseline import baseline_dir
from swarmgate.analysis.history import connect
from swarmgate.analysis.rules import Rules

METRICS = ("p95_ms", "error_ratio", "rps")
JOURNEY_METRICS = ("completion_ratio", "p95_ms", "judged")
WORSE_WHEN_LOWER = {"rps"}
MAD_TO_SIGMA = 1.4826
MIN_RUNS_FOR_SPREAD = 4


def minimum_effect(metric: str, center: float, rules: Rules) -> float:
    if metric == "p95_ms":
        return rules.latency_effect(center)
    if metric == "error_ratio":
        return rules.min_error_increase
    return abs(center) * rules.min_rps_drop_pct / 100


def band(metric: str, values: list[float], baseline: float | None, rules: Rules) -> dict | None:
    """The noise band: baseline (else the median) +- max(2 sigma, minimum effect)."""
    known = [v for v in values if v is not None]
    if not known and baseline is None:
        return None
    center = baseline if baseline is not None else statistics.median(known)
    sigma = None
    if len(known) >= MIN_RUNS_FOR_SPREAD:
        middle = statistics.median(known)
        sigma = MAD_TO_SIGMA * statistics.median(abs(v - middle) for v in known)
    half = max(2 * sigma if sigma is not None else 0.0, minimum_effect(metric, center, rules))
    return {"center": center, "low": max(center - half, 0.0), "high": center + half, "sigma": sigma,
            "from": "baseline" if baseline is not None else "median of the runs shown"}  # fmt: skip


def counting_noise(metric: str, before: float, now: float, n_before: int | None, n_now: int | None) -> float:
    """Three standard errors of the difference, from the request counts (Poisson rates, binomial ratios)."""
    if metric == "p95_ms":
        return 0.0
    if not n_before or not n_now:
        return math.inf  # no requests on one side: nothing to compare
    if metric == "rps":
        return 3 * math.sqrt(before**2 / n_before + now**2 / n_now)
    return 3 * math.sqrt(before * (1 - before) / n_before + now * (1 - now) / n_now)


def flags(metric: str, runs: list[dict], values: list[float | None], requests: list[int | None], width: dict | None,
          rules: Rules) -> list[dict]:  # fmt: skip
    found = []
    half = (width["high"] - width["center"]) if width else 0.0
    for i in range(1, len(values)):
        before, now = values[i - 1], values[i]
        if before is None or now is None:
            continue
        change = now - before
        worse = -change if metric in WORSE_WHEN_LOWER else change
        noise = counting_noise(metric, before, now, requests[i - 1], requests[i])
        if rules.too_few_to_place(metric, requests[i - 1], requests[i]):
            continue  # too few requests to place this percentile in one run or the other (as the comparison)
        if worse > max(half, minimum_effect(metric, before, rules), noise):
            days = days_between(runs[i - 1]["started"], runs[i]["started"])
            gap = f" ({days:g} days earlier)" if days is not None else ""
            message = f"{metric} {before:g} -> {now:g} since the previous run{gap}, beyond the noise band"
            found.append({"run_id": runs[i]["run_id"], "metric": metric, "before": before, "now": now, "days": days,
                          "message": message})  # fmt: skip
    return found


def days_between(first: str | None, second: str | None) -> float | None:
    try:
        return round((datetime.fromisoformat(second) - datetime.fromisoformat(first)).total_seconds() / 86400, 2)
    except (TypeError, ValueError):
        return None


def baseline_rows(results_root: Path, scenario: str | None) -> tuple[str | None, dict]:
    """The promoted baseline's run id and its judged rows by (method, name), if one is promoted."""
    folder = baseline_dir(results_root, scenario or "adhoc")
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        rows = {(r["method"], r["name"]): r for r in summary["judged_endpoints"]}
        return summary["run"].get("run_id"), rows
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}


def kept_summaries(db, runs: list[dict]) -> list[dict | None]:
    """Each run's summary as the history keeps it, read in one query and parsed once for every series
    (None: unreadable)."""
    marks = ",".join("?" * len(runs))
    kept = dict(db.execute(f"SELECT run_key, summary FROM runs WHERE run_key IN ({marks})", [r["key"] for r in runs]))
    summaries: list[dict | None] = []
    for run in runs:
        try:
            summary = json.loads(kept.get(run["key"]))
        except (TypeError, ValueError):
            summary = None
        summaries.append(summary if isinstance(summary, dict) else None)
    return summaries


def summary_parts(summaries: list[dict | None], section: str, key: str | None = None) -> list[tuple[int, list]]:
    """(run index, summary[section][key], or summary[section] without a key) for each run whose kept summary
    has that list (older ones lack it)."""
    found = []
    for index, summary in enumerate(summaries):
        part = (summary or {}).get(section)
        try:
            found.append((index, ((part or {}).get(key) if key else part) or []))
        except AttributeError:
            continue  # a summary from before that section, or a section of another shape: no values for this run
    return found


def server_series(summaries: list[dict | None]) -> list[dict]:
    """Each judged server metric run by run (from the summaries the history keeps), in first-seen order."""
    series: dict[str, dict] = {}
    for index, metrics in summary_parts(summaries, "server", "metrics"):
        for metric in metrics:
            if isinstance(metric, dict) and isinstance(metric.get("value"), int | float):
                entry = series.setdefault(metric["name"], {"name": metric["name"], "unit": metric.get("unit") or "",
                                                           "values": [None] * len(summaries)})  # fmt: skip
                entry["values"][index] = metric["value"]
    return list(series.values())


def journey_series(summaries: list[dict | None]) -> list[dict]:
    """Each journey's completion ratio and p95 run by run, as each run judged them (steady stages)."""
    series: dict[str, dict] = {}
    for index, rows in summary_parts(summaries, "judged_journeys"):
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                continue
            entry = series.setdefault(row["name"], {"name": row["name"], **{m: [None] * len(summaries)
                                                                              for m in JOURNEY_METRICS}})  # fmt: skip
            for metric in JOURNEY_METRICS:
                value = row.get(metric)
                entry[metric][index] = value if isinstance(value, int | float) else None
    return sorted(series.values(), key=lambda entry: entry["name"])


def resilience_series(summaries: list[dict | None]) -> list[dict]:
    """Each fault phase's recovery time run by run (None: it did not recover, or the run had no such fault)."""
    series: dict[str, dict] = {}
    for index, faults in summary_parts(summaries, "resilience", "faults"):
        for fault in faults:
            if isinstance(fault, dict) and isinstance(fault.get("name"), str):
                entry = series.setdefault(fault["name"], {"name": fault["name"], "recovery_s": [None] * len(summaries),
                                                          "recovered": [None] * len(summaries)})  # fmt: skip
                entry["recovery_s"][index] = fault.get("recovery_s")
                entry["recovered"][index] = fault.get("recovered")
    return list(series.values())


def scenario_trend(db, scenario: str | None, last: int | None, results_root: Path, rules: Rules) -> dict:
    query = (
        "SELECT run_key, run_id, started, verdict, partial FROM runs WHERE scenario IS ? ORDER BY started, recorded_at"
    )
    runs = [dict(zip(("key", "run_id", "started", "verdict", "partial"), row, strict=True))
            for row in db.execute(query, (scenario,))]  # fmt: skip
    runs = runs[-last:] if last else runs
    position = {run["key"]: i for i, run in enumerate(runs)}
    marks = ",".join("?" * len(runs))
    rows = db.execute(f"SELECT run_key, method, name, requests, {', '.join(METRICS)} FROM endpoint_metrics "
                      f"WHERE run_key IN ({marks})", [r["key"] for r in runs]).fetchall()  # fmt: skip
    series: dict[tuple[str, str], dict[str, list]] = {}
    for key, method, name, *values in rows:
        per_metric = series.setdefault((method, name), {m: [None] * len(runs) for m in ("requests", *METRICS)})
        for metric, value in zip(("requests", *METRICS), values, strict=True):
            per_metric[metric][position[key]] = value
    baseline_id, baseline = baseline_rows(results_root, scenario)
    summaries = kept_summaries(db, runs)
    endpoints = []
    for (method, name), per_metric in sorted(series.items(), key=lambda item: (item[0][1] != "Aggregated", item[0])):
        base = baseline.get((method, name), {})
        bands = {m: band(m, per_metric[m], base.get(m), rules) for m in METRICS}
        endpoint_flags = [
            f for m in METRICS for f in flags(m, runs, per_metric[m], per_metric["requests"], bands[m], rules)
        ]
        endpoints.append({"method": method, "name": name, "values": per_metric, "band": bands,
                          "baseline": {m: base.get(m) for m in METRICS}, "flags": endpoint_flags})  # fmt: skip
    return {"scenario": scenario, "runs": runs, "baseline_run_id": baseline_id, "endpoints": endpoints,
            "server": server_series(summaries), "resilience": resilience_series(summaries),
            "journeys": journey_series(summaries),
            "flagged": sum(len(e["flags"]) for e in endpoints)}  # fmt: skip


def trend(history: Path, scenario: str | None, last: int | None, results_root: Path, rules: Rules) -> dict:
    """Every scenario in the history (or the one asked for), its last `last` runs."""
    db = connect(history)
    try:
        names = [row[0] for row in db.execute("SELECT DISTINCT scenario FROM runs ORDER BY scenario IS NULL, scenario")]
        if scenario is not None:
            names = [n for n in names if n == scenario]
        scenarios = [scenario_trend(db, name, last, results_root, rules) for name in names]
    finally:
        db.close()
    return {"history": history.name, "scenarios": scenarios, "last": last}
