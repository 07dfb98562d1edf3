"""The load-generator check from resources.csv: warn for a significant share near a full core, fail
when pinned throughout, nothing for a calm generator or a busy target."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from swarmgate.analysis.generator import generator_checks
from swarmgate.analysis.load import load_run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "smoke_run"


@pytest.fixture
def run_with(tmp_path):
    def make(cpu_by_process: dict[tuple[str, str], list[float]]):
        run_dir = tmp_path / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.copytree(FIXTURE, run_dir)
        stages = json.loads((run_dir / "stages.json").read_text())["stages"]
        start = next(s for s in stages if s["steady"])["start_ts"]
        rows = ["timestamp,role,node,pid,cpu_percent,rss_bytes,cpu_demand_percent"]
        for (role, node), values in cpu_by_process.items():
            for i, cpu in enumerate(values):  # (used, used or waited for) or used alone (no schedstat)
                used, demand = cpu if isinstance(cpu, tuple) else (cpu, "")
                rows.append(f"{start + 0.5 + i / 2},{role},{node},1,{used},1000000,{demand}")
            rows.append(f"{start - 100},{role},{node},1,100.0,1000000,")  # before the judged window: not counted
        (run_dir / "resources.csv").write_text("\n".join(rows) + "\n")
        return load_run(run_dir)

    return make


def test_a_generator_near_a_full_core_warns_and_a_pinned_one_fails(run_with):
    calm = run_with({("local", "local"): [40.0] * 10, ("target", "target"): [100.0] * 10})
    assert generator_checks(calm) == []  # a busy target is the server's business, not the generator's
    (busy,) = generator_checks(run_with({("local", "local"): [95.0] * 4 + [50.0] * 6}))
    assert (busy["kind"], busy["status"], busy["actual"]) == ("run", "warn", 0.4)
    (pinned,) = generator_checks(run_with({("master", "master"): [20.0] * 10, ("worker", "3"): [99.0] * 10}))
    assert (pinned["status"], pinned["actual"]) == ("fail", 1.0)
    assert "load generator worker 3" in pinned["message"] and "add workers" in pinned["message"]
    assert generator_checks(run_with({("local", "local"): [99.0] * 3})) == []  # too few samples to say
    (starved,) = generator_checks(run_with({("local", "local"): [(55.0, 99.5)] * 10}))  # a busy machine's share
    assert starved["status"] == "fail"
    assert generator_checks(run_with({("local", "local"): [(20.0, 30.0)] * 10})) == []
