"""Child processes we start and stop by PID: the demo target and Locust itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swarmgate.errors import RunFailed

DEMO_START_TIMEOUT_S = 20.0
# Locust 2.47 stops cleanly on SIGINT in every mode. On SIGTERM a headless run with a LoadTestShape dies
# at once, writing nothing: its SIGTERM handler is installed only after the shape has finished.
LOCUST_STOP_SIGNAL = signal.SIGINT


def stop_locust(proc: subprocess.Popen, grace_s: float = 30.0) -> int | None:
    return stop_process(proc, grace_s, first=LOCUST_STOP_SIGNAL)


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0, first: int = signal.SIGTERM) -> int | None:
    """`first` (SIGTERM), wait up to grace_s, then SIGKILL. Only this PID, never by name."""
    if proc.poll() is None:
        proc.send_signal(first)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


@dataclass
class DemoProcess:
    proc: subprocess.Popen
    port: int
    db_path: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc)


def start_demo(work_dir: Path, demo_args: list[str], env: dict[str, str]) -> DemoProcess:
    """Start `python -m demo` on a free port; wait until it listens (it writes its port to a file)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port_file = work_dir / "demo.port"
    port_file.unlink(missing_ok=True)
    db_path = work_dir / "demo.sqlite"
    log_path = work_dir / "demo.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--db",
                str(db_path),
                *demo_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + DEMO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if port_file.exists():
            return DemoProcess(proc, int(port_file.read_text().strip()), db_path, log_path)
        if proc.poll() is not None:
            last = (log_path.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RunFailed(f"the demo target exited at start (code {proc.returncode}): {last}")
        time.sleep(0.05)
    stop_process(proc)
    raise RunFailed(f"the demo target did not start within {DEMO_START_TIMEOUT_S:g} s; see {log_path}")


def git_revision(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
