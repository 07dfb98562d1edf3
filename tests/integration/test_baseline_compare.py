"""Baseline comparison on real runs: an A/A pair shows no regression; latency injected on one route
is reported for that endpoint only."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, SWARMGATE, constant_scenario

FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"

pytestmark = pytest.mark.integration
SLOW_ROUTE = "/api/workspaces/[id]/workflows"


def start(tmp_path, results, *args) -> subprocess.Popen:
    return subprocess.Popen([*SWARMGATE, "run", str(tmp_path / "ab.toml"), "--results-dir", str(results), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finish(proc: subprocess.Popen) -> tuple[subprocess.CompletedProcess, dict]:
    """Wait for a run; its dir is the one it printed (`results: DIR`)."""
    out, err = proc.communicate(timeout=300)
    (run_dir,) = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("results: ")]
    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), summary | {"dir": run_dir}


def regressions(summary: dict) -> set[tuple[str, str]]:
    return {
        (c["endpoint"], c["metric"]) for c in summary["checks"] if c["kind"] == "regression" and c["status"] == "fail"
    }


def analyze_against_baseline(run_dir: str, results: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([*SWARMGATE, "analyze", run_dir, "--baseline", "auto", "--results-dir", str(results)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return done, json.loads((Path(run_dir) / "summary.json").read_text())


def test_a_a_pair_has_no_regression_and_one_slow_route_is_found(tmp_path):
    """Three runs at the same time (so all three share the machine's load): the baseline, an A/A run of
    the unchanged demo and an A/B run with one slow route; the last two are then judged against the first."""
    (tmp_path / "ab.toml").write_text(constant_scenario(12, "75s", BaselineUser=60, StressTestUser=40))
    results, others = tmp_path / "results", tmp_path / "others"
    base = start(tmp_path, results)
    unchanged, slow = start(tmp_path, others), start(tmp_path, others, "--demo-latency", f"GET {SLOW_ROUTE}=60")
    done, first = finish(base)
    assert done.returncode == 0, done.stderr
    assert "no baseline promoted" in " ".join(first["not_computed"])
    promoted = subprocess.run([*SWARMGATE, "baseline", "promote", first["dir"], "--results-dir", str(results)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    again = subprocess.run([*SWARMGATE, "baseline", "promote", first["dir"], "--results-dir", str(results)],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 2 and "--replace" in again.stderr  # never replaced silently
    (_, aa), (_, ab) = finish(unchanged), finish(slow)

    done, same = analyze_against_baseline(aa["dir"], results)
    assert done.returncode == 0, done.stderr
    assert same["baseline"]["run_id"] == first["run"]["run_id"]
    compared = [c for c in same["checks"] if c["kind"] == "regression"]
    assert len(compared) > 20 and not regressions(same)

    done, slowed = analyze_against_baseline(ab["dir"], results)
    assert done.returncode == 1, done.stderr
    found = regressions(slowed)
    endpoints = {endpoint for endpoint, _ in found} - {"Aggregated"}  # the aggregate moves with its parts
    assert endpoints == {SLOW_ROUTE}, found
    assert {(SLOW_ROUTE, "p50_ms"), (SLOW_ROUTE, "p95_ms")} <= found


def test_runs_that_are_not_comparable_are_refused_unless_forced(tmp_path):
    fixture = tmp_path / "other"
    shutil.copytree(FIXTURE, fixture)
    meta = json.loads((fixture / "run.json").read_text())
    meta["time_scale"] = 1.0
    (fixture / "run.json").write_text(json.dumps(meta))
    command = [*SWARMGATE, "analyze", str(FIXTURE), "--out", str(tmp_path / "o"), "--baseline", str(fixture),
               "--results-dir", str(tmp_path / "results")]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "time_scale" in refused.stderr and "--force" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    forced = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=60)
    assert forced.returncode == 0 and "compared although they differ in time_scale" in forced.stderr
