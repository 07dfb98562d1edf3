"""summary.json: the contract between analysis/, reports/, CI and the history (schema in docs/results.md)."""

from __future__ import annotations

from swarmgate.analysis.capacity import capacity
from swarmgate.analysis.checks import Check, check, verdict_of
from swarmgate.analysis.drift import drift, drift_checks
from swarmgate.analysis.failures import group_failures, slow_requests
from swarmgate.analysis.generator import generator_checks
from swarmgate.analysis.journeys import journey_checks, journey_rows, judged_stages
from swarmgate.analysis.load import Run
from swarmgate.analysis.metrics import judged_window, table
from swarmgate.analysis.resilience import resilience
from swarmgate.analysis.server import add_server_capacity, server_judgment
from swarmgate.analysis.sla import SlaConfig, sla_checks
from swarmgate.core.errors import InputError
from swarmgate.core.files import iso

SCHEMA_VERSION = 1


def gate_record(run: Run) -> dict | None:
    """run.json's `aborted`: the gate that stopped the run (a record with its sentence), or None."""
    aborted = run.meta.get("aborted")
    if aborted is None:
        return None
    if not isinstance(aborted, dict) or not isinstance(aborted.get("message"), str):
        raise InputError(run.path / "run.json", "has an `aborted` that is not an abort gate's record",
                         "give the run.json swarmgate wrote")  # fmt: skip
    return aborted


def run_checks(run: Run) -> list[Check]:
    """Whole-run checks: an interrupted or crashed run is never silently passed."""
    checks = []
    status = run.meta.get("status")
    aborted = gate_record(run)
    if aborted:  # a gate stopped the run: a verdict, with the gate's sentence
        checks.append(("fail", aborted["message"]))
    elif status == "crashed" or status == "killed":
        checks.append(("fail", f"the run {status}; its numbers are incomplete"))
    elif status == "ended":
        checks.append(("warn", "swarmgate never confirmed this run finished (its process was killed?); "
                               "its numbers may cover only part of the plan"))  # fmt: skip
    elif run.meta.get("partial"):
        checks.append(("warn", "the run was interrupted; its numbers cover only part of the plan"))
    workers = run.meta.get("workers") or {}
    missing_workers = workers.get("missing") or []
    if missing_workers:  # a degraded run: less load than planned, never silently passed
        lost = workers.get("lost") or []
        detail = "; ".join(f"{e['worker']} after {e['after_s']:g} s with {e['users_lost']} users"
                           + (" (rejoined)" if e.get("rejoined") else "") for e in lost)  # fmt: skip
        where = f" ({detail})" if detail else ""
        checks.append(("fail", f"degraded: {len(missing_workers)} of {workers.get('expected') or '?'} worker(s) "
                               f"lost during the run{where}; the load was below plan"))  # fmt: skip
    return [check("run", status, message) for status, message in checks]


def judged_table(run: Run, sla: SlaConfig) -> tuple[list[dict], float | None, str]:
    """The rows verdicts look at (steady stages, else the whole run), their seconds and the window's name."""
    judged, seconds, over = judged_window(run)
    csv_aggregate = run.csv_aggregate if judged is run.endpoints else None
    return table(judged, seconds, sla.apdex_t_ms, sla.slow_ms, csv_aggregate), seconds, over


def summarise(run: Run, sla: SlaConfig, profile: str | None) -> dict:
    judged_rows, seconds, over = judged_table(run, sla)
    whole_rows = table(run.endpoints, run.duration_s, sla.apdex_t_ms, sla.slow_ms, run.csv_aggregate)
    drifted = drift(run)
    server_checks, server, server_missing = server_judgment(run, sla.server)
    faults, fault_checks, faults_missing = resilience(run, sla.resilience)
    judged_journeys = journey_rows(judged_stages(run.stages))
    checks = (
        run_checks(run)
        + generator_checks(run)
        + sla_checks(judged_rows, sla, profile, over)
        + journey_checks(judged_journeys, sla, over)
        + drift_checks(drifted, sla.drift_memory, sla.regression)
        + server_checks
        + fault_checks
    )
    verdict = verdict_of(checks)
    found_capacity = capacity(run, sla, profile)
    if found_capacity and sla.server and server:
        add_server_capacity(found_capacity, run, sla.server)
    meta = run.meta
    workers = meta.get("workers") or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "scenario": meta.get("scenario"), "run_id": meta.get("run_id"), "started": meta.get("started"),
            "ended": meta.get("ended"), "host": meta.get("host"), "partial": meta.get("partial"),
            "status": meta.get("status"), "time_scale": meta.get("time_scale"), "tls_verify": meta.get("tls_verify"),
            "workers": {"expected": workers.get("expected", 0), "lost": len(workers.get("missing") or []),
                        "lost_detail": workers.get("lost") or []},
            "degraded": bool(workers.get("missing")),
            "source": run.source, "sla_profile": profile, "sla_file": sla.path.name,
        },
        "verdict": verdict,
        "aborted": gate_record(run),
        "judged_over": {"window": over, "seconds": round(seconds, 3) if seconds else None},
        "endpoints": whole_rows,
        "judged_endpoints": judged_rows,
        "journeys": journey_rows(run.stages),
        "judged_journeys": judged_journeys,
        "stages": [
            {"name": s.name, "start": iso(s.start), "end": iso(s.end), "seconds": round(s.end - s.start, 3),
             "users": s.users, "steady": s.steady,
             "endpoints": table(s.endpoints, s.end - s.start, sla.apdex_t_ms, sla.slow_ms),
             "journeys": journey_rows([s])}
            for s in run.stages
        ],
        "checks": checks,
        "capacity": found_capacity,
        "failures": group_failures(run.locust_file("_failures.csv")),
        "slow_requests": slow_requests(run.path / "slow_requests.csv", whole_rows) if run.path.is_dir() else [],
        "drift": drifted,
        "server": server,
        "resilience": faults,
        "not_computed": run.missing + server_missing + faults_missing,
    }  # fmt: skip
