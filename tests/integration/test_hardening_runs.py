"""The process-level findings of the adversarial review, on real processes: SIGKILL of the orchestrator
leaves nothing running, a full disk is one line and exit 3, a redirect to another host is a failure
and is never followed, a locustfile that cannot be imported is one line and exit 2."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from swarmgate.analysis.failures import normalise
from tests.helpers import ROOT, SWARMGATE, constant_scenario, stop, wait_for_progress

pytestmark = pytest.mark.integration
FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"


def gone(pids: list[int], timeout_s: float) -> list[int]:
    """Wait until none of the PIDs runs (a zombie waiting for its reaper counts as gone); those left."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    left.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_sigkill_of_the_orchestrator_leaves_nothing_running_and_nothing_promotable(tmp_path):
    toml = tmp_path / "killed.toml"
    toml.write_text(constant_scenario(4, "120s", BaselineUser=1, StressTestUser=1))
    results = tmp_path / "r"
    run = subprocess.Popen([*SWARMGATE, "run", str(toml), "--workers", "2", "--results-dir", str(results)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_progress(results, 2, run)
        children = [p.pid for p in psutil.Process(run.pid).children(recursive=True)]
        assert len(children) == 4  # the demo, the master, two workers
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        left = gone(children, 10)
    finally:
        for pid in [p for p in locals().get("children", []) if psutil.pid_exists(p)]:
            os.kill(pid, signal.SIGKILL)  # only if the test failed: never leave load running
        stop(run)
    assert left == []
    (run_dir,) = (results / "killed").iterdir()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["partial"] is True and meta["status"] != "finished"
    promote = subprocess.run([*SWARMGATE, "baseline", "promote", str(run_dir), "--results-dir", str(results)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert promote.returncode == 2 and len(promote.stderr.strip().splitlines()) == 1, promote.stderr
    assert "not a finished run" in promote.stderr and not (results / "baselines").exists()


def test_a_run_never_analyzed_cannot_be_promoted(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)  # a finished run, but no summary.json: never analyzed
    promote = subprocess.run([*SWARMGATE, "baseline", "promote", str(run_dir), "--results-dir", str(tmp_path / "r")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert promote.returncode == 2 and "was never analyzed" in promote.stderr, promote.stderr
    analyze = subprocess.run([*SWARMGATE, "analyze", str(run_dir), "--results-dir", str(tmp_path / "r")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert analyze.returncode == 0, analyze.stderr
    promote = subprocess.run([*SWARMGATE, "baseline", "promote", str(run_dir), "--results-dir", str(tmp_path / "r")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert promote.returncode == 0, promote.stderr


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs, unmounted afterwards; skipped where this process may not mount."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or done.returncode})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Write until the disk refuses: ENOSPC."""
    with open(disk / "ballast", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp")) if folder.exists() else []


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_a_full_disk_is_one_line_and_exit_3_and_nothing_is_half_written(tmp_path, small_disk):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    results = small_disk / "results"
    first = subprocess.run([*SWARMGATE, "analyze", str(run_dir), "--results-dir", str(results)],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert first.returncode == 0, first.stderr  # the history now holds one run, on the small disk
    fill(small_disk)

    out = small_disk / "out"  # 1. the summary files cannot be written
    done = subprocess.run([*SWARMGATE, "analyze", str(run_dir), "--out", str(out), "--results-dir",
                           str(tmp_path / "elsewhere")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 3 and "No space left on device" in one_line(done) and str(out) in done.stderr
    assert leftovers(out) == [] and not (out / "summary.json").exists()
    assert not (tmp_path / "elsewhere" / "history.sqlite").exists()  # no run recorded without its files

    kept = tmp_path / "kept"  # 2. the files could be written, the history cannot: neither is
    done = subprocess.run([*SWARMGATE, "analyze", str(run_dir), "--out", str(kept), "--results-dir", str(results)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 3 and "history.sqlite" in one_line(done), done.stderr
    assert "full" in done.stderr
    assert leftovers(kept) == [] and not (kept / "summary.json").exists()
    with sqlite3.connect(results / "history.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)

    done = subprocess.run([*SWARMGATE, "run", "smoke", "--time-scale", "0.1", "--results-dir", str(results)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip  # 3. a run on the full disk
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and ("No space left" in done.stderr or "is full" in done.stderr)
    assert leftovers(results) == []


@pytest.fixture
def redirecting_target(tmp_path):
    port_file, hits = tmp_path / "port", tmp_path / "hits"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("redirect_target.py")), str(port_file),
                             str(hits)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 20
    while not port_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert port_file.exists(), "the redirecting target did not start"
    yield f"http://127.0.0.1:{port_file.read_text()}", hits
    stop(proc)


def test_a_redirect_to_another_host_fails_and_is_never_followed(tmp_path, redirecting_target):
    host, hits = redirecting_target
    prefix = tmp_path / "locust"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("redirect_locustfile.py")), "--headless",
         f"--host={host}", "-u", "2", "-r", "2", "-t", "3s", f"--csv={prefix}", f"--json-file={prefix}",
         "--only-summary", "--exit-code-on-error=0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SWARMGATE_TOKEN": "redirect-test-token"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert not hits.exists(), f"{hits.read_text()} requests reached the other host"
    entries = {e["name"]: e for e in json.loads(prefix.with_suffix(".json").read_text())}
    assert entries["/same"]["num_requests"] > 0 and entries["/same"]["num_failures"] == 0  # followed, same host
    for name in ("/cross", "/cross-post", "/cross-plain"):
        assert entries[name]["num_requests"] > 0 and entries[name]["num_failures"] == entries[name]["num_requests"]
    with open(f"{prefix}_failures.csv", newline="") as handle:
        errors = {row["Name"]: row["Error"] for row in csv.DictReader(handle)}
    assert all(
        normalise(errors[name]) == "redirected to another host" for name in ("/cross", "/cross-post", "/cross-plain")
    ), errors


def test_a_locustfile_that_cannot_be_imported_is_one_line_and_leaves_no_run_dir(tmp_path):
    broken = tmp_path / "broken_locustfile.py"
    broken.write_text("from locust import HttpUser\n\nraise RuntimeError('the team config is missing')\n")
    done = subprocess.run([*SWARMGATE, "run", "--locustfile", str(broken), "--time-scale", "0.1", "--results-dir",
                           str(tmp_path / "r")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    line = [x for x in done.stderr.splitlines() if "cannot be imported" in x]
    assert line == [f"swarmgate: the locustfile cannot be imported: {broken}, line 3: RuntimeError: the team config "
                    "is missing; fix it and run again"], done.stderr  # fmt: skip
    assert not list((tmp_path / "r").rglob("run.json")) and not (tmp_path / "r" / "smoke").exists()
