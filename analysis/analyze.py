"""Analyze one run: load, judge, and write summary.json, junit.xml, summary.md and report.html."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.baseline import baseline_dir, differences
from analysis.compare import history_windows, regression_checks
from analysis.errors import InputError
from analysis.history import check as check_history
from analysis.history import record
from analysis.load import Run, load_run, read_json
from analysis.series import report_series
from analysis.sla import DEFAULT_SLA, load_sla
from analysis.summary import SCHEMA_VERSION, judged_table, summarise, verdict_of
from reports.ci_files import junit_xml, summary_markdown
from reports.html import report_html
from swarmgate.files import write_atomic


def profile_for(meta: dict) -> str | None:
    plan = meta.get("plan") or {}
    return plan.get("sla") or meta.get("scenario")


def analyze(target: Path | str, sla_path: Path | str = DEFAULT_SLA, out_dir: Path | None = None,
            profile: str | None = None, baseline: Path | str | None = None, force: bool = False,
            results_root: Path = Path("results"), history: Path | None = None,
            report: bool = True) -> tuple[dict, Path]:  # fmt: skip
    """Returns (summary, folder written to). Input problems raise analysis.errors.InputError.

    baseline: None (no comparison), "auto" (the scenario's promoted baseline, if any) or a run path.
    history: a history.sqlite to record the run in (after its files are written), or None.
    report: also render report.html (the benchmark times analysis and rendering apart).
    """
    sla = load_sla(sla_path)
    if history is not None:
        check_history(history)  # a bad history file is refused before any file is written
    run = load_run(target)
    summary = summarise(run, sla, profile or profile_for(run.meta))
    if baseline is not None:
        add_comparison(summary, run, sla, baseline, force, results_root)
    folder = out_dir or default_folder(run)
    files = {"summary.json": json.dumps(summary, indent=2) + "\n", "junit.xml": junit_xml(summary),
             "summary.md": summary_markdown(summary)}  # fmt: skip
    if report:
        files["report.html"] = report_html(summary, report_series(run, summary))
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(folder / name, text)
    if history is not None:
        record(history, summary, run.path)
    return summary, folder


def default_folder(run: Run) -> Path:
    return run.path if run.path.is_dir() else run.path.parent


def render_report(target: Path | str, out: Path | None = None) -> Path:
    """Render report.html again from a run dir alone (its files and the summary.json analyze wrote)."""
    run = load_run(target)
    summary_path = default_folder(run) / "summary.json"
    if not summary_path.is_file():
        raise InputError(summary_path, "does not exist", f"run `swarmgate analyze {target}` first")
    summary = read_json(summary_path)
    if not isinstance(summary, dict) or summary.get("schema_version") != SCHEMA_VERSION or "checks" not in summary:
        raise InputError(summary_path, f"is not a summary.json of schema version {SCHEMA_VERSION}",
                         f"run `swarmgate analyze {target}` again to rewrite it")  # fmt: skip
    path = out or default_folder(run) / "report.html"
    html = report_html(summary, report_series(run, summary))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, html)
    return path


def add_comparison(summary: dict, run, sla, baseline: Path | str, force: bool, results_root: Path) -> None:
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
    windows = [history_windows(r.history(), [(s.start, s.end) for s in r.stages if s.steady])
               for r in (run, base)]  # fmt: skip
    checks = regression_checks(summary["judged_endpoints"], base_rows, *windows, sla.regression)
    summary["checks"] += checks
    summary["baseline"] = {"run_id": base.meta.get("run_id"), "path": str(path), "notes": notes,
                           "regressions": sum(c["status"] == "fail" for c in checks)}  # fmt: skip
    summary["verdict"] = verdict_of(summary["checks"])
