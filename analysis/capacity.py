"""Capacity from a run with several steady stages (step, stress, capacity): where did it stop meeting the SLA?

Each steady stage is judged on its own; a stage meets the SLA when no check is beyond its alert
level. The answer: the highest stage that met it (users, rps), the first that did not, and the
endpoint that breached first there (the one furthest beyond its alert level).
"""

from __future__ import annotations

from swarmgate.analysis.load import Run
from swarmgate.analysis.metrics import table
from swarmgate.analysis.sla import AT_LEAST, WHOLE_RUN_ONLY, SlaConfig, sla_checks


def capacity(run: Run, sla: SlaConfig, profile: str | None) -> dict | None:
    steady = [s for s in run.stages if s.steady]
    if len({s.users for s in steady}) < 2:
        return None
    steps = []
    for stage in steady:
        rows = table(stage.endpoints, stage.end - stage.start, sla.apdex_t_ms, sla.slow_ms)
        failing = [
            c
            for c in sla_checks(rows, sla, profile, stage.name)
            if c["status"] == "fail" and c["metric"] not in WHOLE_RUN_ONLY
        ]  # min_rps is for the whole run
        aggregate = rows[-1]
        worst = max(failing, key=lambda c: breach_size(c), default=None)
        steps.append({"stage": stage.name, "users": stage.users, "rps": aggregate["rps"], "p95_ms": aggregate["p95_ms"],
                      "error_ratio": aggregate["error_ratio"], "met_sla": not failing,
                      "first_breach": None if worst is None else {
                          "method": worst["method"], "endpoint": worst["endpoint"], "metric": worst["metric"],
                          "actual": worst["actual"], "alert": worst["alert"]}})  # fmt: skip
    first_bad = next((s for s in steps if not s["met_sla"]), None)
    good = [s for s in steps[: steps.index(first_bad)] if s["met_sla"]] if first_bad else steps
    return {
        "steps": steps,
        "highest_good_stage": good[-1] if good else None,
        "first_breaching_stage": first_bad,
        "breaching_endpoint": first_bad["first_breach"] if first_bad else None,
        "search": run.capacity,  # what the capacity shape concluded live, if it ran one
    }


def breach_size(check: dict) -> float:
    """How far beyond its alert level a check is, as a ratio (for 'at least' metrics, inverted)."""
    actual, alert = float(check["actual"]), float(check["alert"])
    if check["metric"] in AT_LEAST:
        return alert / actual if actual else float("inf")
    return actual / alert if alert else float("inf")
