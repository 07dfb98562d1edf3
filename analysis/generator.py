"""The load generator judged too: a Locust process at or near a full core queues its users' work, so
every latency it reports includes time spent waiting on its own CPU (Locust only logs a warning, and
only when one process passes 90 % for about 20 s). Measured from resources.csv over the judged window:
the CPU a process used, or on Linux the CPU it used or waited for in the run queue when that is more
(a generator starved by other processes on a shared machine is as saturated as one at a full core).
"""

from __future__ import annotations

from collections import defaultdict

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.load import Run, lenient_rows
from swarmgate.analysis.server import judged_spans

NEAR_FULL_CORE_PERCENT = 90.0  # psutil's per-process CPU, 100 % = one core (Locust runs on one)
WARN_SHARE = 0.25  # of the judged window's samples: a significant share
FAIL_SHARE = 0.90  # pinned throughout
MIN_SAMPLES = 5


def generator_cpu(run: Run) -> dict[str, list[float]]:
    """CPU % samples of each load-generator process (not the target) within the judged window."""
    if not run.path.is_dir():
        return {}
    spans, _ = judged_spans(run)

    def parse(row: dict) -> tuple[str, float, float]:
        name = row["role"] if row["node"] in ("", row["role"]) else f"{row['role']} {row['node']}"
        used = float(row["cpu_percent"])
        demand = row.get("cpu_demand_percent")  # used or waited for: saturation on a busy machine too
        return name, float(row["timestamp"]), max(used, float(demand)) if demand else used

    samples: dict[str, list[float]] = defaultdict(list)
    for name, stamp, cpu in lenient_rows(run.path / "resources.csv", parse):
        if not name.startswith("target") and any(a <= stamp <= b for a, b in spans):
            samples[name].append(cpu)
    return samples


def generator_checks(run: Run) -> list[Check]:
    """A run check for the busiest generator when it spent a significant share of the window near a full core."""
    shares = {name: sum(c >= NEAR_FULL_CORE_PERCENT for c in cpu) / len(cpu)
              for name, cpu in generator_cpu(run).items() if len(cpu) >= MIN_SAMPLES}  # fmt: skip
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
