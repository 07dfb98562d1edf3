"""Analyze one run: load it, judge it by the SLA tables, compare it with a baseline. Returns data only;
the orchestration layer writes the files and records the history."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

from swarmgate.analysis.baseline import baseline_dir, differences
from swarmgate.analysis.checks import verdict_of
from swarmgate.analysis.compare import regression_checks
from swarmgate.analysis.history_stream import HistoryDigest
from swarmgate.analysis.journeys import journey_regression_checks, judged_stages, slot_p95s, stage_tallies
from swarmgate.analysis.load import Run, load_run, read_json
from swarmgate.analysis.server import server_regression_checks
from swarmgate.analysis.sla import SlaConfig
from swarmgate.analysis.summary import SCHEMA_VERSION, judged_table, summarise
from swarmgate.core.errors import InputError

WARM_STATISTICS_BYTES = 20_000_000  # a history of about an hour of 30 endpoints


def profile_for(meta: dict) -> str | None:
    plan = meta.get("plan") or {}
    return plan.get("sla") or meta.get("scenario")


def analyze(target: Path | str, sla: SlaConfig, profile: str | None = None, baseline: Path | str | None = None,
            force: bool = False, results_root: Path = Path("results")) -> tuple[dict, Run]:  # fmt: skip
    """(summary, the loaded run). Input problems raise InputError.

    baseline: None (no comparison), "auto" (the scenario's promoted baseline, if any) or a run path.
    """
    run = load_run(target)
    warm_statistics(run)
    run.history(every_endpoint=baseline is not None)  # the one pass: with every endpoint's windows to compare
    summary = summarise(run, sla, profile or profile_for(run.meta))
    if baseline is not None:
        add_comparison(summary, run, sla, baseline, force, results_root)
    return summary, run


def warm_statistics(run: Run) -> None:
    """Import scipy.stats in the background while DuckDB reads a long history (it lets go of the GIL).

    A long run's drift trend and comparison need scipy, whose import takes a second or more; done
    alongside the scan, on a second core, it costs the analysis nothing. Short runs import it only if
    they need it.
    """
    history = run.locust_file("_stats_history.csv")
    if history.is_file() and history.stat().st_size >= WARM_STATISTICS_BYTES:
        threading.Thread(target=importlib.import_module, args=("scipy.stats",), daemon=True).start()


def default_folder(run: Run) -> Path:
    """Where a run's summary files belong: the run dir, or beside a stock Locust CSV prefix."""
    return run.path if run.path.is_dir() else run.path.parent


def analyzed(target: Path | str) -> tuple[dict, Run]:
    """(summary, run) of a run analyzed before: its summary.json as written, checked for its schema."""
    run = load_run(target)
    return written_summary(default_folder(run) / "summary.json", target), run


def results_folder(target: Path | str) -> Path | None:
    """Where the summary files of a run dir or a stock CSV prefix are, found without reading the run (None:
    neither; load_run says why)."""
    target = Path(target)
    if target.is_dir():
        return target
    return target.parent if Path(f"{target}_stats.csv").is_file() else None


def written_summary(summary_path: Path, target: Path | str) -> dict:
    """A summary.json analyze wrote, checked for its schema (InputError: absent, or not one)."""
    if not summary_path.is_file():
        raise InputError(summary_path, "does not exist", f"run `swarmgate analyze {target}` first")
    summary = read_json(summary_path)
    if not isinstance(summary, dict) or summary.get("schema_version") != SCHEMA_VERSION or "checks" not in summary:
        raise InputError(summary_path, f"is not a summary.json of schema version {SCHEMA_VERSION}",
                         f"run `swarmgate analyze {target}` again to rewrite it")  # fmt: skip
    return summary


def window_values(digest: HistoryDigest | None) -> dict:
    """{(method, name, metric): one value per 10 s window in steady stages}, as the rank test reads them."""
    return {key: values for key, (_, values) in digest.windows.items()} if digest else {}


def add_comparison(summary: dict, run: Run, sla: SlaConfig, baseline: Path | str, force: bool,
                   results_root: Path) -> None:  # fmt: skip
    """Compare with a baseline run; refuse runs that are not comparable unless forced."""
    auto = str(baseline) == "auto"
    path = baseline_dir(results_root, run.meta.get("scenario") or "adhoc") if auto else Path(baseline)
    if auto and not path.is_dir():
        summary["not_computed"].append(f"baseline comparison (no baseline promoted for '{run.meta.get('scenario')}')")
        return
    base = load_run(path)
    notes = []
    if run.source == "swarmgate" and base.source == "swarmgate":
        different = differences(run.meta, base.meta)
        if different and not force:
            if auto:
                summary["not_computed"].append("baseline comparison (not comparable: " + "; ".join(different) + ")")
                return
            raise InputError(path, "is not comparable with this run: differs in " + "; ".join(different),
                             "compare runs of the same scenario, plan, mix and time scale, or add --force")  # fmt: skip
        notes += [f"compared although they differ in {d}" for d in different]
    else:
        notes.append("comparability could not be checked (stock Locust output): compared as given")
    base_rows, _, _ = judged_table(base, sla)  # the baseline's own rows only, not a whole summary of it
    windows = [window_values(r.history(every_endpoint=True)) for r in (run, base)]
    checks = regression_checks(summary["judged_endpoints"], base_rows, *windows, sla.regression)
    checks += server_regression_checks(run, base, sla.server, sla.regression)
    run_stages, base_stages = judged_stages(run.stages), judged_stages(base.stages)
    checks += journey_regression_checks(stage_tallies(run_stages), stage_tallies(base_stages), sla.regression,
                                        slot_p95s(run.journey_timeline, run_stages),
                                        slot_p95s(base.journey_timeline, base_stages))  # fmt: skip
    summary["checks"] += checks
    summary["baseline"] = {"run_id": base.meta.get("run_id"), "path": str(path), "notes": notes,
                           "regressions": sum(c["status"] == "fail" for c in checks)}  # fmt: skip
    summary["verdict"] = verdict_of(summary["checks"])
