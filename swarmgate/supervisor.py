"""The one process supervisor: children started in their own process group, waited on with
SIGINT/SIGTERM live, stopped by PID (never by name), and never left running after we end.

Even when we are killed with SIGKILL (no handler runs), Linux's parent-death signal (prctl
PR_SET_PDEATHSIG) stops every child within a second: Locust gets SIGINT (it stops its users and writes
its files), the demo SIGTERM. Each child starts as a small guard (GUARD) that arms the signal and then
execs the real program, so nothing runs between fork and exec in this (possibly threaded) process; a
guard that finds us already gone exits instead. Elsewhere children are stopped on our exit only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from swarmgate.core.errors import RunFailed
from swarmgate.core.files import make_dir
from swarmgate.core.net import LOOPBACK

DEMO_START_TIMEOUT_S = 20.0
# Locust 2.47 stops cleanly on SIGINT in every mode. On SIGTERM a headless run with a LoadTestShape dies
# at once, writing nothing: its SIGTERM handler is installed only after the shape has finished.
LOCUST_STOP_SIGNAL = signal.SIGINT


def free_port() -> int:
    """A port free on loopback now (bound, then released)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


# Started first in each child on Linux: arm the parent-death signal, then become the real program
# (execv keeps the PID and the armed signal). Run with -I, so nothing from the working directory loads.
GUARD = """import ctypes, os, sys
signum, parent = int(sys.argv[1]), int(sys.argv[2])
try:
    ctypes.CDLL("libc.so.6").prctl(1, signum, 0, 0, 0)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != parent:  # the parent died before the signal was armed
    os._exit(128 + signum)
os.execv(sys.argv[3], sys.argv[3:])
"""


def python_command(*args: str) -> list[str]:
    """This Python, without the working directory on sys.path (-P): a user's folder named like a
    package of ours (./swarmgate/, ./locust/) is never imported in its place."""
    return [sys.executable, "-P", *args]


LOCUST = python_command("-m", "swarmgate.locust_process")  # Locust's command line, our packages pinned


def guarded(command: list[str], signum: int) -> list[str]:
    """`command`, made to receive `signum` when this process dies, however it dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-I", "-c", GUARD, str(int(signum)), str(os.getpid()), *command]


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


class Supervisor:
    """Start children, wait for them with signals live, stop every one still running on exit.

    The first SIGINT/SIGTERM sends the main child (Locust) its graceful stop signal, so it still
    writes its files; a second one kills it.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.main: subprocess.Popen | None = None
        self.children: dict[subprocess.Popen, tuple[int, float]] = {}  # each child: (stop signal, grace s)
        self.previous: dict[int, object] = {}

    @property
    def interrupted(self) -> bool:
        return self.received is not None

    def __enter__(self) -> Supervisor:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        try:
            for proc, (stop_signal, grace_s) in reversed(self.children.items()):
                stop_process(proc, grace_s, first=stop_signal)
        finally:
            for sig, handler in self.previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum: int, _frame) -> None:
        first = self.received is None
        self.received = self.received or signum
        if self.main is not None and self.main.poll() is None:
            self.main.send_signal(LOCUST_STOP_SIGNAL if first else signal.SIGKILL)

    def start(self, command: list[str], log_path: Path, env: dict[str, str], *, main: bool = False,
              stop_signal: int = signal.SIGTERM, grace_s: float = 10.0) -> subprocess.Popen:  # fmt: skip
        """Start `command` in its own session with stdout and stderr to log_path; no standard input."""
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(guarded(command, stop_signal), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)  # fmt: skip
        self.children[proc] = (stop_signal, grace_s)
        if main:
            self.main = proc
            if self.interrupted:  # a signal came while we were starting: this child stops at once too
                proc.send_signal(LOCUST_STOP_SIGNAL)
        return proc

    def start_locust(self, command: list[str], log_path: Path, env: dict[str, str], *,
                     main: bool = False) -> subprocess.Popen:  # fmt: skip
        return self.start(command, log_path, env, main=main, stop_signal=LOCUST_STOP_SIGNAL, grace_s=30.0)

    def wait(self, proc: subprocess.Popen, deadline: float | None = None,
             every: tuple[float, Callable[[], None]] | None = None) -> bool:  # fmt: skip
        """Wait for proc in short steps (signal handlers run meanwhile); True if the deadline passed first.

        every: (seconds, callback) called that often while waiting and not interrupted.
        """
        next_call = time.monotonic() + every[0] if every else None
        while proc.poll() is None:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                return True
            if every and next_call is not None and now >= next_call and not self.interrupted:
                every[1]()
                next_call += every[0]
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        return False

    def stop(self, proc: subprocess.Popen) -> int | None:
        """Stop one child now with its own stop signal (Locust: SIGINT, so it writes its files)."""
        stop_signal, grace_s = self.children[proc]
        return stop_process(proc, grace_s, first=stop_signal)


@dataclass
class DemoProcess:
    proc: subprocess.Popen
    port: int
    db_path: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_demo(supervisor: Supervisor, work_dir: Path, demo_args: list[str], env: dict[str, str]) -> DemoProcess:
    """Start the demo target (`python -m swarmgate.demo`) on a free port; wait until it writes its port."""
    make_dir(work_dir)
    port_file = work_dir / "demo.port"
    port_file.unlink(missing_ok=True)
    db_path, log_path = work_dir / "demo.sqlite", work_dir / "demo.log"
    command = python_command("-m", "swarmgate.demo", f"--port-file={port_file}", f"--db={db_path}", "--port=0",
                             *demo_args)  # fmt: skip
    proc = supervisor.start(command, log_path, env)
    deadline = time.monotonic() + DEMO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if port_file.exists():
            return DemoProcess(proc, int(port_file.read_text().strip()), db_path, log_path)
        if proc.poll() is not None:
            last = (log_path.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            if shutil.disk_usage(work_dir).free < 1_000_000:
                last += f"; the disk holding {work_dir} is full"
            raise RunFailed(f"the demo target exited at start (code {proc.returncode}): {last}")
        time.sleep(0.05)
    raise RunFailed(f"the demo target did not start within {DEMO_START_TIMEOUT_S:g} s; see {log_path}")


def git_revision(root: Path) -> str | None:
    """The git revision of the user's project (the working directory), not of the installed package."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
