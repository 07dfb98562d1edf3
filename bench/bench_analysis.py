"""Analysis and report rendering of a synthetic 24-hour, 30-endpoint soak, as ratios to references.

Writes a swarmgate run dir whose _stats_history.csv has Locust's header and one row per endpoint
and per second (~2.7 M rows), then, each in a fresh process, times and measures the peak memory of
(a) `pandas.read_csv(history)`, (b) the analysis (`analyze(run_dir, report=False)`: summary.json,
junit.xml, summary.md) and (c) rendering report.html from the analyzed run dir (`swarmgate report`).
Targets: analysis time <= 2.5 x and peak memory <= 1.5 x (a); render time <= 2 x (b); report.html
under 6 MB.

    .venv/bin/python bench/bench_analysis.py [--hours 24] [--endpoints 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
HISTORY_COLUMNS = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES,
                   "Total Request Count", "Total Failure Count", "Total Median Response Time",
                   "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
                   "Total Average Content Size"]  # fmt: skip
MEASURE = """
import resource, sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


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
    done = subprocess.run([sys.executable, "-c", MEASURE.format(body=body)], capture_output=True, text=True,
                          cwd=ROOT, check=True)  # fmt: skip
    seconds, peak = done.stdout.split()[-2:]
    return float(seconds), int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--endpoints", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None, help="write the synthetic run here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swarmgate-soak-") as tmp:
        run_dir = args.keep or Path(tmp) / "run"
        began = time.perf_counter()
        history, rows = write_run(run_dir, args.hours, args.endpoints)
        size = history.stat().st_size
        took = time.perf_counter() - began
        print(f"synthetic soak: {rows:,} history rows, {size / 1e6:.0f} MB (written in {took:.0f} s)")
        base_s, base_mem = measure(f"import pandas as pd\npd.read_csv({str(history)!r})")
        ours_s, ours_mem = measure(
            f"from swarmgate.pipeline import analyze_and_write\nanalyze_and_write({str(run_dir)!r}, report=False)"
        )
        render_s, render_mem = measure(f"from swarmgate.pipeline import render_report\nrender_report({str(run_dir)!r})")
        report_mb = (run_dir / "report.html").stat().st_size / 1e6
        print(f"pandas.read_csv:      {base_s:6.2f} s, peak {base_mem / 1e6:6.0f} MB")
        print(f"analysis:             {ours_s:6.2f} s, peak {ours_mem / 1e6:6.0f} MB")
        print(f"render report.html:   {render_s:6.2f} s, peak {render_mem / 1e6:6.0f} MB, {report_mb:.2f} MB written")
        print(f"analysis / read_csv, time   = {ours_s / base_s:.2f}  (target <= 2.50)")
        print(f"analysis / read_csv, memory = {ours_mem / base_mem:.2f}  (target <= 1.50)")
        print(f"render / analysis, time     = {render_s / ours_s:.2f}  (target <= 2.00)")
        print(f"report.html size            = {report_mb:.2f} MB  (target < 6)")
    met = ours_s / base_s <= 2.5 and ours_mem / base_mem <= 1.5 and render_s / ours_s <= 2.0 and report_mb < 6
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
