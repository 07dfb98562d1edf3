"""Baseline comparison on real runs: an A/A pair shows no regression; latency injected on two routes (a slow
route 60 ms, a fast one a few ms) is reported for those endpoints only."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT, SWARMGATE, constant_scenario

FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh
SLOW_ROUTE = "/api/workspaces/[id]/workflows"
# The demo answers its fast routes in 1-2 ms (p50; p95 5-6 ms under three runs at once); the knowledge search
# has ~1,000 requests a run. 3 ms more (gevent's sleep adds about 4) makes it about three times as slow.
FAST_ROUTE = "/api/knowledge/search"
FAST_DELAY_MS = 3


def start(work, results, *args) -> subprocess.Popen:
    return subprocess.Popen([*SWARMGATE, "run", str(work / "ab.toml"), "--results-dir", str(results), *args],
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


@dataclass(frozen=True)
class Compared:
    """A promoted baseline run, and an A/A and an A/B run judged against it."""

    baseline: tuple[subprocess.CompletedProcess, dict]
    promotions: tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]  # the first, then one more
    same: tuple[subprocess.CompletedProcess, dict]  # A/A
    slowed: tuple[subprocess.CompletedProcess, dict]  # A/B: SLOW_ROUTE +60 ms, FAST_ROUTE +FAST_DELAY_MS


@functools.cache
def compared_runs(work: Path) -> Compared:
    """Three runs at the same time (so all three share the machine's load): the baseline, an A/A run of the
    unchanged demo and an A/B run with a slow and a fast route slowed; the last two are then judged against the
    first. Cached per work dir, so the modules that judge this pair (test_fast_regression.py) share one set."""
    work.mkdir(parents=True, exist_ok=True)
    # 72 s: its steady stage (about 70 s) holds 6 whole 10 s windows, one more than the rank test needs at
    # p < 0.01, should Locust's history skip a second
    (work / "ab.toml").write_text(constant_scenario(12, "72s", BaselineUser=60, StressTestUser=40))
    results, others = work / "results", work / "others"
    base = start(work, results)
    unchanged = start(work, others)
    slow = start(work, others, "--demo-latency", f"GET {SLOW_ROUTE}=60",
                 "--demo-latency", f"GET {FAST_ROUTE}={FAST_DELAY_MS}")  # fmt: skip
    done, first = finish(base)
    promote = [*SWARMGATE, "baseline", "promote", first["dir"], "--results-dir", str(results)]
    promotions = tuple(subprocess.run(promote, capture_output=True, text=True, timeout=60) for _ in range(2))
    (_, aa), (_, ab) = finish(unchanged), finish(slow)
    return Compared((done, first), promotions, analyze_against_baseline(aa["dir"], results),
                    analyze_against_baseline(ab["dir"], results))  # fmt: skip


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Compared:
    return compared_runs(tmp_path_factory.getbasetemp() / "compared_runs")


def test_a_a_pair_has_no_regression_and_the_slowed_routes_are_found(compared):
    done, first = compared.baseline
    assert done.returncode == 0, done.stderr
    assert "no baseline promoted" in " ".join(first["not_computed"])
    promoted, again = compared.promotions
    assert promoted.returncode == 0, promoted.stderr
    assert again.returncode == 2 and "--replace" in again.stderr  # never replaced silently

    done, same = compared.same
    assert done.returncode == 0, done.stderr
    assert same["baseline"]["run_id"] == first["run"]["run_id"]
    compared_checks = [c for c in same["checks"] if c["kind"] == "regression"]
    assert len(compared_checks) > 20 and not regressions(same)

    done, slowed = compared.slowed
    assert done.returncode == 1, done.stderr
    found = regressions(slowed)
    endpoints = {endpoint for endpoint, _ in found} - {"Aggregated"}  # the aggregate moves with its parts
    assert endpoints == {SLOW_ROUTE, FAST_ROUTE}, found
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
