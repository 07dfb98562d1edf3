"""The weekly job's pieces: its configuration, retention (what is pruned and what never is), the lock."""

from __future__ import annotations

import json
import time

import pytest

from swarmgate.core.errors import InputError, RunFailed
from swarmgate.weekly import WeeklyLock, load_config, prune

DAY = 86400.0


def run_dir(results, scenario: str, name: str, age_days: float, now: float):
    folder = results / scenario / name
    folder.mkdir(parents=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - age_days * DAY))
    (folder / "run.json").write_text(json.dumps({"started": started}))
    (folder / "report.html").write_text("x")
    return folder


def test_prune_deletes_only_old_run_dirs_beyond_the_newest_of_each_scenario(tmp_path):
    now = time.time()
    results = tmp_path / "results"
    old = [run_dir(results, "peak", f"2026010{i}", 200 - i, now) for i in range(4)]  # 200..197 days old
    young = run_dir(results, "peak", "20261120", 1, now)
    other = run_dir(results, "smoke", "20250101", 400, now)  # the only run of its scenario: newest, kept
    baseline = run_dir(results, "baselines", "peak", 300, now)  # promoted copies are never pruned
    (results / "history.sqlite").write_text("history")
    (results / "workers" / "host-1").mkdir(parents=True)  # no run.json: not a run dir
    (results / "peak" / "notes").mkdir()  # a folder without run.json inside a scenario: left alone

    removed = prune(results, keep_runs=2, keep_days=90, now=now)
    assert sorted(removed) == sorted(old[:3])  # beyond the newest 2 (young and old[3]) and older than 90 days
    assert all(not p.exists() for p in old[:3])
    for kept in (old[3], young, other, baseline, results / "history.sqlite", results / "workers" / "host-1",
                 results / "peak" / "notes"):  # fmt: skip
        assert kept.exists(), kept
    assert prune(results, keep_runs=2, keep_days=90, now=now) == []  # idempotent


def test_recent_run_dirs_are_kept_however_many_there_are(tmp_path):
    now = time.time()
    results = tmp_path / "results"
    dirs = [run_dir(results, "peak", f"r{i}", 10 + i, now) for i in range(5)]
    assert prune(results, keep_runs=1, keep_days=30, now=now) == []
    assert all(d.exists() for d in dirs)


def test_the_configuration_is_checked_whole(tmp_path):
    path = tmp_path / "weekly.toml"
    path.write_text('scenarios = ["peak", "baseline"]\ntime_scale = 0.5\nworkers = 2\n[retention]\nkeep_runs = 3\n')
    config = load_config(path)
    assert (config.scenarios, config.time_scale, config.workers, config.keep_runs, config.keep_days) == (
        ("peak", "baseline"), 0.5, 2, 3, 90.0)  # fmt: skip
    assert config.locustfile is None
    (tmp_path / "users.py").write_text("")
    path.write_text('scenarios = ["peak"]\nlocustfile = "users.py"\n')
    assert load_config(path).locustfile == tmp_path / "users.py"  # relative to the configuration's folder
    path.write_text('scenarios = "peak"\nworkers = -1\nbogus = 1\nlocustfile = "nope.py"\n[retention]\n'
                    'keep_days = "long"\n')  # fmt: skip
    with pytest.raises(InputError) as problem:
        load_config(path)
    message = problem.value.message
    for key in (
        "bogus: unknown key",
        "scenarios: must be",
        "workers: must be",
        "retention.keep_days: must be",
        "locustfile: nope.py is not a file",
    ):
        assert key in message
    path.write_text("scenarios = [")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(path)


def test_the_lock_refuses_a_second_holder_and_is_free_again_after(tmp_path):
    with WeeklyLock(tmp_path) as held:
        assert held.path.read_text().startswith("pid ")
        with pytest.raises(RunFailed, match="another weekly run holds the lock"):
            with WeeklyLock(tmp_path):
                pass
    with WeeklyLock(tmp_path):
        pass
