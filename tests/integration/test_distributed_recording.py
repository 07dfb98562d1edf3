"""A real Locust master with two workers: per-stage histograms, resources and counts reach the master."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from swarmgate.core.plan import plan_to_json
from swarmgate.scenarios import load_scenario
from tests.helpers import LOCUSTFILE, ROOT, closed_port, json_entries, stats_rows, stop

pytestmark = pytest.mark.integration


def test_workers_data_reaches_the_master(tmp_path, demo, demo_passwords):
    port = closed_port()
    files = f"{LOCUSTFILE},{ROOT / 'shapes' / 'scenario_shape.py'}"
    step = load_scenario("step").scaled(0.05)
    (tmp_path / "plan.json").write_text(plan_to_json(list(step.plan), None))
    env = {**os.environ, **demo_passwords["users"], "SWARMGATE_STAGE_PLAN_FILE": str(tmp_path / "plan.json")}
    prefix = str(tmp_path / "locust")
    master = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", files, "BaselineUser", "StressTestUser", "--master", "--headless",
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--expect-workers", "2",
         "--host", demo.url, "--csv", prefix, "--csv-full-history", "--json-file", prefix, "--only-summary",
         "--exit-code-on-error", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "master.log", "wb"),
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                files,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        assert master.wait(timeout=150) == 0, (tmp_path / "master.log").read_text()[-2000:]
    finally:
        for proc in (*workers, master):
            stop(proc)

    total = int(stats_rows(tmp_path)[("", "Aggregated")]["Request Count"])
    assert total > 100 and total == sum(e["num_requests"] for e in json_entries(tmp_path))
    stages = json.loads((tmp_path / "stages.json").read_text())["stages"]
    assert [s["target_users"] for s in stages if s["steady"]] == [5, 20, 50, 100]
    assert sum(e["requests"] for s in stages for e in s["endpoints"]) == total  # every worker request, once
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["workers"]["seen"] == 2 and run["workers"]["expected"] == 2
    assert sum(run["requests_by_user_class"].values()) == total
    with open(tmp_path / "resources.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["role"] for row in rows} == {"master", "worker"}
    assert len({row["node"] for row in rows if row["role"] == "worker"}) == 2  # each worker sampled itself
