"""Promoted baselines: one per scenario, a copy of the run's files under results/baselines/<scenario>/.

A baseline is never replaced silently (promote refuses unless told to replace), and two runs are
compared only when they are comparable: same scenario, shape and stage plan, user mix and time scale,
and the same target (any port of the embedded demo counts as the same target).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from swarmgate.analysis.load import load_run
from swarmgate.core.errors import InputError

FILES = ("run.json", "stages.json", "locust.json", "locust_stats.csv", "locust_stats_history.csv",
         "locust_failures.csv", "summary.json")  # fmt: skip


def baseline_dir(results_root: Path, scenario: str) -> Path:
    return results_root / "baselines" / scenario


def promote(run_path: Path, results_root: Path, replace: bool = False) -> Path:
    run = load_run(run_path)  # refuses broken input before anything is copied
    if run.source != "swarmgate":
        raise InputError(run_path, "is stock Locust output", "promote a swarmgate run dir (it knows its scenario)")
    scenario = run.meta.get("scenario") or "adhoc"
    if run.meta.get("partial") or run.meta.get("status") != "finished":
        raise InputError(run_path, f"is not a finished run (status: {run.meta.get('status')}, partial)",
                         "promote a run that finished")  # fmt: skip
    if not (run.path / "summary.json").is_file():
        raise InputError(run_path, "was never analyzed (no summary.json)",
                         f"run `swarmgate analyze {run_path}` first, then promote it")  # fmt: skip
    target = baseline_dir(results_root, scenario)
    if target.exists() and not replace:
        current = json.loads((target / "baseline.json").read_text()).get("run_id")
        raise InputError(target, f"already holds the baseline for '{scenario}' (run {current})",
                         "add --replace to replace it")  # fmt: skip
    staging = target.with_name(f".{scenario}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in FILES:
        if (run.path / name).is_file():
            shutil.copy2(run.path / name, staging / name)
    (staging / "baseline.json").write_text(json.dumps({
        "scenario": scenario, "run_id": run.meta.get("run_id"), "source": str(run.path),
        "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")  # fmt: skip
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def fingerprint(meta: dict) -> dict:
    plan = meta.get("plan") or {}
    target = meta.get("target") or {}
    return {
        "scenario": meta.get("scenario"),
        "shape": plan.get("kind"),
        "stages": [(s.get("users"), round(s.get("duration_s", 0), 1)) for s in plan.get("stages", [])],
        "mix": plan.get("mix"),
        "time_scale": meta.get("time_scale"),
        "target": "demo" if target.get("kind") == "demo" else meta.get("host"),
        "tags": meta.get("tags"),
    }


def differences(current: dict, baseline: dict) -> list[str]:
    mine, theirs = fingerprint(current), fingerprint(baseline)
    return [f"{key} ({theirs[key]!r} vs {mine[key]!r})" for key in mine if mine[key] != theirs[key]]
