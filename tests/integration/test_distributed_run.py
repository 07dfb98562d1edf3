"""`swarmgate run --workers N`, worker loss, and the multi-host commands, with real processes.

Every request is made slow (demo latency 2 ms, slow threshold 1 ms), so slow_requests.csv lists each
request with the worker that made it: the per-worker counts it gives must add up to the master's.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.helpers import SWARMGATE, closed_port, constant_scenario, start_demo, stop, wait_for_progress

pytestmark = pytest.mark.integration
EVERY_REQUEST_SLOW = ["--slow-threshold-ms", "1", "--demo-latency", "*=2"]


def scenario_file(tmp_path: Path, duration: str) -> Path:
    path = tmp_path / "dist.toml"
    path.write_text(constant_scenario(6, duration, BaselineUser=50, StressTestUser=50))
    return path


def only_run_dir(results: Path) -> Path:
    (run_dir,) = (results / "dist").iterdir()
    return run_dir


def locust_children(parent: psutil.Process, role: str) -> list[psutil.Process]:
    found = []
    for child in parent.children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "swarmgate.locust_process" in cmd and (role in cmd if role == "--worker" else "--master" in cmd):
            found.append(child)
    return found


def test_two_workers_write_the_same_files_and_their_counts_add_up(tmp_path):
    toml = scenario_file(tmp_path, "10s")
    single = subprocess.run([*SWARMGATE, "run", str(toml), "--results-dir", str(tmp_path / "one"),
                             *EVERY_REQUEST_SLOW], capture_output=True, text=True, timeout=180)  # fmt: skip
    done = subprocess.run([*SWARMGATE, "run", str(toml), "--workers", "2", "--results-dir", str(tmp_path / "two"),
                           *EVERY_REQUEST_SLOW], capture_output=True, text=True, timeout=240)  # fmt: skip
    assert single.returncode in (0, 1) and done.returncode in (0, 1), single.stderr + done.stderr
    one, two = only_run_dir(tmp_path / "one"), only_run_dir(tmp_path / "two")
    worker_files = {f"worker-{i}.{ext}" for i in (1, 2) for ext in ("log", "out")}
    assert {p.name for p in two.iterdir()} - worker_files == {p.name for p in one.iterdir()}

    meta = json.loads((two / "run.json").read_text())
    assert meta["workers"]["expected"] == 2 and meta["workers"]["seen"] == 2 and meta["workers"]["lost"] == []
    assert meta["status"] == "finished" and not meta["partial"]
    with open(two / "slow_requests.csv", newline="") as handle:
        per_worker = Counter(row["node"] for row in csv.DictReader(handle))
    assert len(per_worker) == 2 and min(per_worker.values()) >= 10, per_worker  # both workers made load
    entries = json.loads((two / "locust.json").read_text())
    total = sum(e["num_requests"] for e in entries)
    assert total == sum(per_worker.values())  # the aggregate is the sum of the workers'
    stages = json.loads((two / "stages.json").read_text())["stages"]
    assert sum(e["requests"] for s in stages for e in s["endpoints"]) == total
    with open(two / "resources.csv", newline="") as handle:
        roles = {(row["role"], row["node"]) for row in csv.DictReader(handle)}
    assert sum(role == "worker" for role, _ in roles) == 2 and ("master", "master") in roles
    summary = json.loads((two / "summary.json").read_text())
    assert summary["run"]["workers"] == {"expected": 2, "lost": 0, "lost_detail": []}


def test_a_worker_killed_mid_run_is_recorded_and_the_run_is_degraded(tmp_path):
    toml = scenario_file(tmp_path, "20s")
    proc = subprocess.Popen([*SWARMGATE, "run", str(toml), "--workers", "2", "--results-dir", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while len(locust_children(parent, "--worker")) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        wait_for_progress(tmp_path / "r", 6, proc)  # the run is under way
        victim = locust_children(parent, "--worker")[0]
        os.kill(victim.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=180)
    finally:
        stop(proc)
    assert proc.returncode == 1, out + err
    run_dir = only_run_dir(tmp_path / "r")
    meta = json.loads((run_dir / "run.json").read_text())
    (lost,) = meta["workers"]["lost"]
    assert lost["users_lost"] > 0 and lost["after_s"] > 5, lost
    assert meta["status"] == "finished"  # the run went on with the survivor
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "fail" and summary["run"]["degraded"] is True
    (check,) = [c for c in summary["checks"] if c["kind"] == "run"]
    assert check["status"] == "fail" and "degraded: 1 of 2 worker(s) lost" in check["message"]
    assert "degraded" in (run_dir / "report.html").read_text()


def test_multi_host_commands_and_workers_end_when_their_master_is_killed(tmp_path):
    demo = start_demo(tmp_path / "demo")
    port = closed_port()
    toml = scenario_file(tmp_path, "60s")
    master = subprocess.Popen([*SWARMGATE, "run", str(toml), "--master", "--expect-workers", "2", "--master-port",
                               str(port), "--host", demo.url, "--results-dir", str(tmp_path / "r")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    workers = [subprocess.Popen([*SWARMGATE, "run", "--worker", "--master-host", "127.0.0.1", "--master-port",
                                 str(port), "--results-dir", str(tmp_path / "w")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    try:
        run_dir = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = list((tmp_path / "r" / "dist").glob("*/.progress.json"))
            if found and json.loads(found[0].read_text() or "{}").get("users"):
                run_dir = found[0].parent
                break
            time.sleep(0.5)
        assert run_dir is not None, "the master never started the run"
        (locust_master,) = locust_children(psutil.Process(master.pid), "--master")
        os.kill(locust_master.pid, signal.SIGKILL)  # the master dies without a word to its workers
        killed_at = time.monotonic()
        for worker in workers:
            worker.wait(timeout=45)  # they end by themselves (--master-timeout, 10 s)
        took = time.monotonic() - killed_at
        assert all(w.returncode is not None for w in workers) and took < 40, took
        assert all("worker ended" in w.stderr.read() for w in workers)
        assert master.wait(timeout=60) == 3  # its Locust died: the run could not be made
        assert json.loads((run_dir / "run.json").read_text())["status"] == "crashed"
    finally:
        for proc in (*workers, master):
            stop(proc)
        stop(demo.proc)
