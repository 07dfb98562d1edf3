"""Capacity from a run with several steady stages (step, stress, capacity): where did it stop meeting the SLA,
and where did throughput stop growing with users?

Each steady stage is judged on its own; a stage meets the SLA when no check is beyond its alert
level. The answer: the highest stage that met it (users, rps), the first that did not, and the
endpoint that breached first there (the one furthest beyond its alert level).

The saturation knee needs no SLA: from one load level to the next, throughput (successful requests per
second) should grow about in proportion to users, by at least LINEAR_SHARE of the user gain. The first
level where it did not is saturated: by Little's law (users = throughput x time per request cycle),
users added beyond it only lengthen each cycle, that is, they buy latency, not throughput.
"""

from __future__ import annotations

from swarmgate.analysis.load import Run, Stage
from swarmgate.analysis.metrics import table, window_endpoints
from swarmgate.analysis.sla import AT_LEAST, WHOLE_RUN_ONLY, SlaConfig, sla_checks

LINEAR_SHARE = 0.75  # throughput gain / user gain at or above this: still about in proportion


def capacity(run: Run, sla: SlaConfig, profile: str | None) -> dict | None:
    steady = [s for s in run.stages if s.steady]
    if len({s.users for s in steady}) < 2:  # nothing to compare across levels; a search still says where it stopped
        return None if run.capacity is None else {
            "steps": [], "highest_good_stage": None, "first_breaching_stage": None, "breaching_endpoint": None,
            "search": run.capacity, "saturation": None}  # fmt: skip
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
        # an open model fixes the throughput (arrival_rate): users are only a pool, and no knee can be read
        "saturation": None if run.meta.get("arrival_rate") else saturation(steady, sla.apdex_t_ms, sla.slow_ms),
    }


def breach_size(check: dict) -> float:
    """How far beyond its alert level a check is, as a ratio (for 'at least' metrics, inverted)."""
    actual, alert = float(check["actual"]), float(check["alert"])
    if check["metric"] in AT_LEAST:
        return alert / actual if actual else float("inf")
    return actual / alert if alert else float("inf")


def load_levels(stages: list[Stage], apdex_t_ms: float, slow_ms: float) -> list[dict]:
    """One step per user count (stages at the same count merged), fewest users first, with its evidence."""
    grouped: dict[int, list[Stage]] = {}
    for stage in stages:
        if stage.users:
            grouped.setdefault(stage.users, []).append(stage)
    steps = []
    for users, group in sorted(grouped.items()):
        endpoints, seconds = window_endpoints(group)
        rows = table(endpoints, seconds, apdex_t_ms, slow_ms)
        total = rows[-1]
        ok_rps = (total["requests"] - total["failures"]) / seconds if seconds else 0.0
        steps.append({"stage": group[0].name, "users": users, "rps": total["rps"], "ok_rps": round(ok_rps, 3),
                      "rps_per_user": round(ok_rps / users, 3),
                      "cycle_ms": round(users / ok_rps * 1000, 1) if ok_rps else None,
                      "p50_ms": total["p50_ms"], "mean_ms": total["mean_ms"],
                      "endpoints": [{k: row[k] for k in ("method", "name", "rps", "p50_ms", "mean_ms")}
                                    for row in rows[:-1]]})  # fmt: skip
    return steps


def saturation(stages: list[Stage], apdex_t_ms: float = 500.0, slow_ms: float = 1000.0) -> dict | None:
    """The knee: the last level where throughput grew about in proportion to users and the first where it did not."""
    steps = load_levels(stages, apdex_t_ms, slow_ms)
    if len(steps) < 2 or not any(step["ok_rps"] for step in steps):
        return None  # one level, or no request succeeded at any: no knee to read
    for before, step in zip(steps, steps[1:], strict=False):
        user_gain = step["users"] / before["users"] - 1
        # after a level with no successful request, throughput can only have grown (or stayed at nothing)
        rps_gain = step["ok_rps"] / before["ok_rps"] - 1 if before["ok_rps"] else (1.0 if step["ok_rps"] else 0.0)
        ratio = rps_gain / user_gain
        step.update({"user_gain": round(user_gain, 4), "rps_gain": round(rps_gain, 4),
                     "gain_ratio": round(ratio, 3), "linear": ratio >= LINEAR_SHARE})  # fmt: skip
    steps[0].update({"user_gain": None, "rps_gain": None, "gain_ratio": None, "linear": None})
    first = next((i for i, step in enumerate(steps) if step["linear"] is False), None)
    last_linear = steps[first - 1] if first is not None else steps[-1]
    saturated = steps[first] if first is not None else None
    return {"rule": f"throughput gain >= {LINEAR_SHARE:.0%} of the user gain", "linear_share": LINEAR_SHARE,
            "last_linear_users": last_linear["users"], "first_saturated_users": saturated and saturated["users"],
            "last_linear_stage": last_linear["stage"], "first_saturated_stage": saturated and saturated["stage"],
            "message": knee_message(last_linear, saturated), "steps": steps}  # fmt: skip


def knee_message(last_linear: dict, saturated: dict | None) -> str:
    def latency(step: dict) -> str:
        if step["p50_ms"] is not None:
            return f"{step['p50_ms']:g} ms"
        return f"{step['mean_ms']:g} ms (mean)" if step["mean_ms"] is not None else "unknown (no request completed)"

    if saturated is None:
        return (f"throughput grew about in proportion to users at every level tried, up to {last_linear['users']} "
                f"users ({last_linear['ok_rps']:.1f} req/s): the knee lies beyond")  # fmt: skip
    return (f"throughput grew about in proportion to users up to {last_linear['users']} users "
            f"({last_linear['ok_rps']:.1f} req/s); from there to {saturated['users']} users "
            f"({saturated['user_gain']:+.0%}) it grew {saturated['rps_gain']:+.0%} ({saturated['ok_rps']:.1f} req/s) "
            f"while the median went {latency(last_linear)} -> {latency(saturated)}: "
            "users beyond the knee add latency, not throughput")  # fmt: skip
