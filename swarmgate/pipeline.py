"""The pipeline after a run: analyze -> write summary.json, charts.json, junit.xml, summary.md, report.html
-> history.

The only place that wires analysis/ to reports/ and to the history store.
"""

from __future__ import annotations

import json
from pathlib import Path

from swarmgate.analysis.analyze import analyze, analyzed, default_folder, results_folder, written_summary
from swarmgate.analysis.history import check as check_history
from swarmgate.analysis.history import record
from swarmgate.analysis.series import charts_json, read_charts, report_series
from swarmgate.analysis.sla import load_sla
from swarmgate.core.defaults import default_file
from swarmgate.core.errors import OutputError
from swarmgate.core.files import commit, discard, make_dir, stage, write_atomic
from swarmgate.reports.ci_files import junit_xml, summary_markdown
from swarmgate.reports.html import report_html


def analyze_and_write(target: Path | str, sla_path: Path | None = None, out_dir: Path | None = None,
                      profile: str | None = None, baseline: Path | str | None = None, force: bool = False,
                      results_root: Path = Path("results"), history: Path | None = None,
                      report: bool = True) -> tuple[dict, Path]:  # fmt: skip
    """Analyze a run and write its files; (summary, the folder written to).

    sla_path: None for ./sla.toml or the packaged default. history: a history.sqlite to record the
    run in (checked before any file is written, recorded after), or None. report: also render
    report.html (the benchmark times analysis and rendering apart).
    """
    sla = load_sla(default_file("sla.toml", sla_path))
    if history is not None:
        check_history(history)  # a bad history file is refused before any file is written
    summary, run = analyze(target, sla, profile, baseline, force, results_root)
    folder = out_dir or default_folder(run)
    series = report_series(run, summary)  # from the same pass over the history as the analysis
    files = {"summary.json": json.dumps(summary, indent=2) + "\n", "charts.json": charts_json(series),
             "junit.xml": junit_xml(summary), "summary.md": summary_markdown(summary)}  # fmt: skip
    if report:
        files["report.html"] = report_html(summary, series)
    make_dir(folder)
    staged: list[tuple[Path, Path]] = []
    try:  # every file on disk under a temporary name, then the history, then the names: never half
        for name, text in files.items():
            staged.append((stage(folder / name, text), folder / name))
        if history is not None:
            record(history, summary, run.path)
    except BaseException:
        discard(tmp for tmp, _ in staged)
        raise
    for index, (tmp, path) in enumerate(staged):  # renames in one folder: they need no space
        try:
            commit(tmp, path)
        except OutputError:
            discard(later for later, _ in staged[index + 1 :])
            raise
    return summary, folder


def render_report(target: Path | str, out: Path | None = None) -> Path:
    """Render report.html again from the summary.json and charts.json analyze wrote, without reading the run's
    history again; a run analyzed before charts.json was kept has its series cut from its files."""
    folder = results_folder(target)
    series = read_charts(folder / "charts.json") if folder else None
    if series is not None:
        summary = written_summary(folder / "summary.json", target)
    else:
        summary, run = analyzed(target)
        folder, series = default_folder(run), report_series(run, summary)
    path = out or folder / "report.html"
    html = report_html(summary, series)
    make_dir(path.parent)
    write_atomic(path, html)
    return path
