"""The weekly job against the demo, time-scaled: two runs in a row, history and trend, retention, the lock.

Not timed: these runs share the machine with other tests, so they are judged by an SLA file with latency
levels no run misses here (what is judged is the job, not the demo's speed), and they are too short for
10 s windows, so the comparison with a baseline can find no latency regression.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.helpers import ROOT, SWARMGATE, constant_scenario, stop

pytestmark = pytest.mark.integration
CONFIG = """
scenarios = ["{scenario}"]
time_scale = 0.1

[retention]
keep_runs = 1
keep_days = 0
"""
SLA = """
[defaults]
p50_ms = { target = 10000, alert = 20000 }
error_ratio = { target = 0.01, alert = 0.02 }
"""


def setup(tmp_path, duration: str = "80s"):  # x 0.1: 8 s
    scenario = tmp_path / "wk.toml"
    scenario.write_text(constant_scenario(4, duration, BaselineUser=100))
    config = tmp_path / "weekly.toml"
    config.write_text(CONFIG.format(scenario=scenario))
    (tmp_path / "sla.toml").write_text(SLA)
    return config, tmp_path / "results"


def weekly(config, results, via_script: bool = False) -> subprocess.CompletedProcess:
    command = [str(ROOT / "run_load_tests.sh"), "--weekly"] if via_script else [*SWARMGATE, "weekly"]
    sla = config.parent / "sla.toml"
    return subprocess.run([*command, "--config", str(config), "--results-dir", str(results), "--sla", str(sla)],
                          capture_output=True, text=True, timeout=240)  # fmt: skip


def test_two_weekly_runs_land_in_the_history_and_the_trend_and_old_run_dirs_are_pruned(tmp_path):
    config, results = setup(tmp_path)
    first = weekly(config, results)
    assert first.returncode == 0, first.stdout + first.stderr
    (first_dir,) = (results / "wk").iterdir()
    promoted = subprocess.run([*SWARMGATE, "baseline", "promote", str(first_dir), "--results-dir", str(results)],
                              capture_output=True, text=True)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    second = weekly(config, results, via_script=True)  # ./run_load_tests.sh --weekly
    assert second.returncode == 0, second.stdout + second.stderr

    db = sqlite3.connect(results / "history.sqlite")
    run_ids = [row[0] for row in db.execute("SELECT run_id FROM runs WHERE scenario = 'wk' ORDER BY started")]
    db.close()
    assert len(run_ids) == 2 and run_ids[0] == first_dir.name
    trend = (results / "trend.html").read_text()
    assert all(run_id in trend for run_id in run_ids) and "baseline " + run_ids[0] in trend
    (kept,) = (results / "wk").iterdir()  # keep_runs 1, keep_days 0: the older dir is pruned ...
    assert kept.name == run_ids[1]
    assert (results / "baselines" / "wk" / "run.json").is_file()  # ... its promoted copy is not
    summary = json.loads((kept / "summary.json").read_text())
    assert summary["baseline"]["run_id"] == run_ids[0]  # the second run was compared with the baseline
    assert "pruned: 1 run dir(s)" in second.stdout


def test_a_second_overlapping_weekly_run_is_refused_by_the_lock(tmp_path):
    config, results = setup(tmp_path, duration="600s")
    holder = subprocess.Popen([*SWARMGATE, "weekly", "--config", str(config), "--results-dir", str(results)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        lock = results / ".weekly.lock"
        deadline = time.monotonic() + 30
        while not (lock.is_file() and lock.read_text().startswith("pid")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lock.read_text().startswith(f"pid {holder.pid} since")
        while not list(results.glob("wk/*/.progress.json")) and time.monotonic() < deadline + 30:
            time.sleep(0.2)  # the holder's run is under way
        second = weekly(config, results)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "another weekly run holds the lock" in second.stderr and f"pid {holder.pid}" in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        holder.send_signal(signal.SIGINT)  # the holder stops gracefully and keeps what it made
        out, err = holder.communicate(timeout=120)
        assert holder.returncode == 130, out + err
    finally:
        stop(holder)
    (run_dir,) = (results / "wk").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["partial"] is True
    assert lock.read_text() == ""  # released


def test_a_scenario_with_a_damaged_baseline_is_reported_and_the_others_still_run(tmp_path):
    broken, fine = tmp_path / "broken.toml", tmp_path / "fine.toml"
    for path in (broken, fine):
        path.write_text(constant_scenario(4, "60s", BaselineUser=100))
    config = tmp_path / "weekly.toml"
    config.write_text(CONFIG.format(scenario=broken).replace(f'["{broken}"]', f'["{broken}", "{fine}"]'))
    (tmp_path / "sla.toml").write_text(SLA)
    results = tmp_path / "results"
    damaged = results / "baselines" / "broken"
    damaged.mkdir(parents=True)
    (damaged / "run.json").write_text("{ not json")
    done = weekly(config, results)
    assert done.returncode == 2, done.stdout + done.stderr  # the worst: a bad input, said in one line
    assert "baselines/broken/run.json" in done.stderr and "not valid JSON" in done.stderr
    (fine_run,) = (results / "fine").iterdir()
    assert json.loads((fine_run / "summary.json").read_text())["verdict"] == "pass"  # the next scenario ran
    assert "trend: " in done.stdout and (results / "trend.html").is_file()
