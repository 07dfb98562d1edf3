"""The load generator judged too: a Locust process at or near a full core queues its users' work, so
every latency it reports includes time spent waiting on its own CPU (Locust only logs a warning, and
only when one process passes 90 % for about 20 s). Measured from resources.csv over the judged window:
the CPU a process used, or on Linux the CPU it used or waited for in the run queue when that is more
(a generator starved by other processes on a shared machine is as saturated as one at a full core).
"""

from __future__ import annotations

import math

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.history_stream import header_of, query_csv
from swarmgate.analysis.load import Run
from swarmgate.analysis.server import judged_spans

NEAR_FULL_CORE_PERCENT = 90.0  # psutil's per-process CPU, 100 % = one core (Locust runs on one)
WARN_SHARE = 0.25  # of the judged window's samples: a significant share
FAIL_SHARE = 0.90  # pinned throughout
MIN_SAMPLES = 5


def generator_shares(run: Run) -> dict[str, float]:
    """Per load-generator process (not the target) with MIN_SAMPLES CPU samples or more within the judged
    window: the share of them at or above NEAR_FULL_CORE_PERCENT (counted as resources.csv streams by)."""
    path = run.path / "resources.csv"
    if not run.path.is_dir() or not path.is_file():
        return {}
    spans, _ = judged_spans(run)
    types = {"timestamp": "DOUBLE", "role": "VARCHAR", "node": "VARCHAR", "cpu_percent": "DOUBLE"}
    cpu = "cpu_percent"
    if "cpu_demand_percent" in header_of(path):  # used or waited for: saturation on a busy machine too
        types["cpu_demand_percent"] = "VARCHAR"  # empty where the machine cannot tell
        cpu = "greatest(cpu_percent, coalesce(try_cast(nullif(cpu_demand_percent, '') AS DOUBLE), cpu_percent))"
    inside = " OR ".join(f"timestamp BETWEEN {a} AND {b}" for a, b in spans if math.isfinite(a) and math.isfinite(b))
    found = query_csv(path, types, f"""
        SELECT name, count(*) AS samples, count(*) FILTER (WHERE cpu >= {NEAR_FULL_CORE_PERCENT}) AS near_full
        FROM (SELECT CASE WHEN coalesce(node, '') IN ('', role) THEN role ELSE role || ' ' || node END AS name,
                     {cpu} AS cpu
              FROM rows WHERE cpu_percent IS NOT NULL AND timestamp IS NOT NULL AND role IS NOT NULL
              {f"AND ({inside})" if inside else ""})
        WHERE NOT starts_with(name, 'target') GROUP BY name ORDER BY name""")  # fmt: skip
    if not found:
        return {}
    return {str(name): near / samples
            for name, samples, near in zip(found["name"], found["samples"].tolist(), found["near_full"].tolist(),
                                           strict=True) if samples >= MIN_SAMPLES}  # fmt: skip


def generator_checks(run: Run) -> list[Check]:
    """A run check for the busiest generator when it spent a significant share of the window near a full core."""
    shares = generator_shares(run)
    if not shares:
        return []
    busiest = max(shares, key=shares.__getitem__)
    share = shares[busiest]
    if share < WARN_SHARE:
        return []
    status = "fail" if share >= FAIL_SHARE else "warn"
    how = "pinned throughout" if status == "fail" else "for a significant share of it"
    message = (f"load generator {busiest} used or waited for {NEAR_FULL_CORE_PERCENT:g} % of a core or more for "
               f"{share:.0%} of the judged window ({how}): latencies include client-side queueing; "
               "add workers (--workers)")  # fmt: skip
    return [check("run", status, message, metric="generator_cpu_share", actual=round(share, 3), target=WARN_SHARE,
                  alert=FAIL_SHARE)]  # fmt: skip
