"""Analyze one run: load, judge, and write summary.json, junit.xml and summary.md."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.load import load_run
from analysis.sla import DEFAULT_SLA, load_sla
from analysis.summary import summarise
from reports.ci_files import junit_xml, summary_markdown


def profile_for(meta: dict) -> str | None:
    plan = meta.get("plan") or {}
    return plan.get("sla") or meta.get("scenario")


def analyze(target: Path | str, sla_path: Path | str = DEFAULT_SLA, out_dir: Path | None = None,
            profile: str | None = None) -> tuple[dict, Path]:  # fmt: skip
    """Returns (summary, folder written to). Input problems raise analysis.errors.InputError."""
    sla = load_sla(sla_path)
    run = load_run(target)
    summary = summarise(run, sla, profile or profile_for(run.meta))
    folder = out_dir or (run.path if run.path.is_dir() else run.path.parent)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("summary.json", json.dumps(summary, indent=2) + "\n"), ("junit.xml", junit_xml(summary)),
                       ("summary.md", summary_markdown(summary))):  # fmt: skip
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    return summary, folder
