"""Analysis, report and trend rendering of long synthetic soaks, each step in its own process, as ratios.

For each --hours (default 24 and 72) writes a swarmgate run dir whose _stats_history.csv has Locust's
header and one row per endpoint and per second (30 endpoints: ~2.7 M rows a day), then, each in a
fresh process, times and measures the peak memory of (a) `pandas.read_csv(history)`, (b) the analysis
(`analyze_and_write(run_dir, report=False)`: summary.json, charts.json, junit.xml, summary.md) and
(c) rendering report.html from the analyzed run dir (`swarmgate report`). Then renders trend.html from
a history.sqlite of 50 and of 500 runs x 50 endpoints. Each step runs --rounds times (default 3), the
three in turn; its figures are the fastest time and the highest peak memory of its rounds.

Targets (the longest soak against the shortest): peak memory <= 1.2 x and <= 600 MB; analysis time per
history row <= 1.1 x; at every length analysis <= 1.0 x (a) and render <= 0.5 x (b); report.html under
6 MB; trend.html of 500 runs <= 12 x the time of 50 runs. Exit 0 when every target is met.

    .venv/bin/python bench/bench_analysis.py [--hours 24 --hours 72] [--endpoints 30] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
HISTORY_COLUMNS = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES,
                   "Total Request Count", "Total Failure Count", "Total Median Response Time",
                   "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
                   "Total Average Content Size"]  # fmt: skip
# Peak memory is the process's own high-water mark (VmHWM): getrusage's ru_maxrss is carried over exec
# from the parent, so after this script wrote a soak (about 1 GB) every measured step would report that.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) * 1024"
MEASURE = """
import sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start, PEAK)
""".replace("PEAK", PEAK)
TREND = """
import time
from pathlib import Path
from swarmgate.jobs import write_trend
took = []
for _ in range({rounds}):
    start = time.perf_counter()
    write_trend(Path({results!r}), None, None, None, None)
    took.append(time.perf_counter() - start)
print(min(took), PEAK)
""".replace("PEAK", PEAK)
TREND_ROUNDS = 5  # the fastest of five renders: a 50-run page takes a tenth of a second, easily disturbed


def write_run(run_dir: Path, hours: float, endpoints: int) -> tuple[Path, int]:
    rng = np.random.default_rng(7)
    seconds = int(hours * 3600)
    start = 1_790_000_000
    names = [f"/api/endpoint-{i:02d}" for i in range(endpoints)]
    stamps = np.repeat(np.arange(start, start + seconds), endpoints + 1)
    name_col = np.tile(np.array(names + ["Aggregated"], dtype=object), seconds)
    type_col = np.tile(np.array(["GET"] * endpoints + [""], dtype=object), seconds)
    rows = len(stamps)
    base = rng.lognormal(3.5, 0.3, rows)
    frame = pd.DataFrame({
        "Timestamp": stamps, "User Count": 50, "Type": type_col, "Name": name_col,
        "Requests/s": np.round(rng.normal(3.3, 0.3, rows), 6), "Failures/s": 0.0,
        **{p: np.round(base * (1 + i * 0.15)).astype(int) for i, p in enumerate(PERCENTILES)},
        "Total Request Count": np.arange(rows), "Total Failure Count": 0,
        "Total Median Response Time": 33, "Total Average Response Time": np.round(base, 3),
        "Total Min Response Time": 2, "Total Max Response Time": 900, "Total Average Content Size": 512,
    })[HISTORY_COLUMNS]  # fmt: skip
    run_dir.mkdir(parents=True)
    frame.to_csv(run_dir / "locust_stats_history.csv", index=False)
    histogram = {str(b): int(n) for b, n in zip([10, 20, 30, 40, 50, 70, 100, 150, 300],
                                                 [5, 40, 30, 10, 6, 4, 3, 1, 1], strict=True)}  # fmt: skip
    per = seconds * 3
    entries = [{"name": n, "method": "GET", "num_requests": per, "num_failures": 0, "num_none_requests": 0,
                "total_response_time": per * 35.0, "max_response_time": 900, "min_response_time": 2,
                "total_content_length": per * 512, "response_times": {k: v * per // 100 for k, v in histogram.items()},
                "num_reqs_per_sec": {}, "num_fail_per_sec": {}, "last_request_timestamp": start + seconds,
                "start_time": start} for n in names]  # fmt: skip
    for entry in entries:
        entry["num_requests"] = sum(entry["response_times"].values())
    (run_dir / "locust.json").write_text(json.dumps(entries))
    stage_endpoints = [{"method": "GET", "name": e["name"], "requests": e["num_requests"], "failures": 0,
                        "total_ms": e["total_response_time"], "min_ms": 2, "max_ms": 900,
                        "response_times": e["response_times"]} for e in entries]  # fmt: skip
    stages = {"schema_version": 1, "stages": [
        {"index": 0, "name": "ramp-up", "start_ts": start, "end_ts": start + 60, "target_users": 50, "steady": False,
         "endpoints": []},
        {"index": 1, "name": "steady", "start_ts": start + 60, "end_ts": start + seconds, "target_users": 50,
         "steady": True, "endpoints": stage_endpoints}]}  # fmt: skip
    (run_dir / "stages.json").write_text(json.dumps(stages))
    rss = 80_000_000 + rng.normal(0, 1e6, seconds)
    memory = pd.DataFrame({"timestamp": np.arange(start, start + seconds), "role": "target", "node": "target",
                           "pid": 1, "cpu_percent": 20.0, "rss_bytes": rss})  # fmt: skip
    memory.to_csv(run_dir / "resources.csv", index=False)
    run = {"schema_version": 1, "scenario": "endurance", "run_id": "synthetic-24h", "status": "finished",
           "partial": False, "duration_s": seconds, "host": "http://127.0.0.1:8000",
           "plan": {"kind": "constant", "sla": "endurance", "stages": []}}  # fmt: skip
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir / "locust_stats_history.csv", rows


def measure(body: str) -> tuple[float, int]:
    """(seconds, peak bytes) of `body` in a fresh Python process, imports included."""
    return run_script(MEASURE.format(body=body))


def run_script(script: str) -> tuple[float, int]:
    """Run a script printing (seconds, peak bytes) as its last line, in a fresh Python process."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    seconds, peak = done.stdout.split()[-2:]
    return float(seconds), int(peak)


def write_history_store(path: Path, runs: int, endpoints: int) -> None:
    """A history.sqlite of `runs` analyzed runs of one scenario, each with `endpoints` endpoints and Aggregated."""
    from swarmgate.analysis.history import record

    rng = np.random.default_rng(16)
    for i in range(runs):
        rows = [{"method": "GET" if e < endpoints else "", "name": f"/api/endpoint-{e:02d}" if e < endpoints else
                 "Aggregated", "requests": 30_000, "failures": int(rng.integers(0, 30)), "error_ratio": 0.0005,
                 "rps": float(rng.normal(50, 2)), "p50_ms": 30.0, "p95_ms": float(rng.normal(80, 5)), "p99_ms": 150.0,
                 "max_ms": 900.0} for e in range(endpoints + 1)]  # fmt: skip
        started = (datetime(2020, 1, 6, 3, tzinfo=UTC) + timedelta(days=7 * i)).isoformat()  # weekly runs
        summary = {
            "run": {
                "scenario": "weekly",
                "run_id": f"run-{i:04d}",
                "started": started,
                "ended": None,
                "source": "swarmgate",
                "partial": False,
            },
            "verdict": "pass",
            "judged_endpoints": rows,
        }
        record(path, summary, path.parent)


def line(label: str, seconds: float, peak: int, extra: str = "") -> str:
    return f"{label + ':':22s}{seconds:6.2f} s, peak {peak / 1e6:6.0f} MB{extra}"


def judged(label: str, value: float, target: float, unit: str = "") -> bool:
    met = value <= target
    print(f"{label:48s} = {value:7.2f}{unit}  (target <= {target:g}{unit}): {'met' if met else 'NOT MET'}")
    return met


def soak(run_dir: Path, hours: float, endpoints: int, rounds: int) -> dict:
    """Write (or reuse) one synthetic soak and measure its three steps, each `rounds` times; their figures."""
    began = time.perf_counter()
    history = run_dir / "locust_stats_history.csv"
    if history.is_file():
        rows = sum(1 for _ in open(history, "rb")) - 1
        print(f"\n{hours:g} h soak: {rows:,} history rows, {history.stat().st_size / 1e6:.0f} MB (kept from before)")
    else:
        history, rows = write_run(run_dir, hours, endpoints)
        print(f"\n{hours:g} h soak: {rows:,} history rows, {history.stat().st_size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - began:.0f} s)")  # fmt: skip
    pipeline, folder = "from swarmgate.pipeline import", repr(str(run_dir))
    steps = {
        "read_csv": f"import pandas as pd\npd.read_csv({str(history)!r})",
        "analysis": f"{pipeline} analyze_and_write\nanalyze_and_write({folder}, report=False)",
        "render": f"{pipeline} render_report\nrender_report({folder})",
    }
    taken: dict[str, list[tuple[float, int]]] = {step: [] for step in steps}
    for _ in range(rounds):  # the steps in turn, so a slower spell of the machine falls on each alike
        for step, body in steps.items():
            taken[step].append(measure(body))
    # the fastest time of the rounds (the least disturbed), the highest peak (the least flattering)
    figures = {
        "rows": rows,
        **{step: (min(t for t, _ in runs), max(p for _, p in runs)) for step, runs in taken.items()},
    }
    figures["report_mb"] = (run_dir / "report.html").stat().st_size / 1e6
    print(line("pandas.read_csv", *figures["read_csv"]))
    print(line("analysis", *figures["analysis"]))
    print(line("render report.html", *figures["render"], f", {figures['report_mb']:.2f} MB written"))
    return figures


def trend_times(folder: Path, endpoints: int = 50) -> dict[int, tuple[float, int]]:
    """trend.html from a history of 50 and of 500 runs: (seconds, peak) of rendering it, the fastest of
    TREND_ROUNDS renders in one process (imports not counted)."""
    found = {}
    for runs in (50, 500):
        results = folder / f"trend-{runs}"
        if not (results / "history.sqlite").is_file():
            results.mkdir(parents=True, exist_ok=True)
            write_history_store(results / "history.sqlite", runs, endpoints)
        found[runs] = run_script(TREND.format(rounds=TREND_ROUNDS, results=str(results)))
        print(line(f"trend.html, {runs} runs", *found[runs], f" ({endpoints} endpoints)"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, action="append", help="a soak's length; give it again for more")
    parser.add_argument("--endpoints", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure each step this many times: its fastest time and highest peak count")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the synthetic runs here and keep them (a later run reuses them)")  # fmt: skip
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    lengths = sorted(set(args.hours or [24.0, 72.0]))
    with tempfile.TemporaryDirectory(prefix="swarmgate-soak-") as tmp:
        folder = args.keep or Path(tmp)
        figures = {hours: soak(folder / f"{hours:g}h", hours, args.endpoints, args.rounds) for hours in lengths}
        print()
        trend = trend_times(folder)
    print("\ntargets:")
    met = []
    for hours, f in figures.items():
        met.append(judged(f"{hours:g} h: analysis / read_csv, time", f["analysis"][0] / f["read_csv"][0], 1.0))
        met.append(judged(f"{hours:g} h: render / analysis, time", f["render"][0] / f["analysis"][0], 0.5))
        met.append(judged(f"{hours:g} h: report.html size", f["report_mb"], 6, " MB"))
    long = figures[lengths[-1]]
    if len(lengths) > 1:
        peak = {h: max(f["analysis"][1], f["render"][1]) for h, f in figures.items()}
        per_row = {h: f["analysis"][0] / f["rows"] for h, f in figures.items()}
        pair = f"{lengths[-1]:g} h / {lengths[0]:g} h"
        met.append(judged(f"{pair}: peak memory", peak[lengths[-1]] / peak[lengths[0]], 1.2))
        met.append(judged(f"{pair}: analysis time per history row", per_row[lengths[-1]] / per_row[lengths[0]], 1.1))
    met.append(judged(f"{lengths[-1]:g} h: peak memory", max(long["analysis"][1], long["render"][1]) / 1e6, 600, " MB"))
    met.append(judged("trend.html: 500 runs / 50 runs, time", trend[500][0] / trend[50][0], 12))
    print(f"\n{sum(met)} of {len(met)} targets met")
    sys.exit(0 if all(met) else 1)


if __name__ == "__main__":
    main()
