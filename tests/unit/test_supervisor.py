"""The process supervisor on small real children: logs, waits, stop signals by PID, and the kill after grace."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from swarmgate.core.errors import RunFailed
from swarmgate.core.net import LOOPBACK
from swarmgate.supervisor import (
    LOCUST_STOP_SIGNAL,
    Supervisor,
    child_env,
    free_port,
    guarded,
    start_demo,
    stop_process,
)

ENV = child_env({})


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def trap(sig: str, marker: Path, ready: Path, exit_code: int = 0) -> list[str]:
    """A child that writes the name of `sig` to marker when it gets it and exits; `ready` once it listens."""
    return python(
        "import pathlib, signal, sys, time\n"
        f"def got(signum, frame):\n    pathlib.Path({str(marker)!r}).write_text(signal.Signals(signum).name)\n"
        f"    sys.exit({exit_code})\n"
        f"signal.signal(signal.{sig}, got)\n"
        f"pathlib.Path({str(ready)!r}).write_text('ready')\n"
        "time.sleep(60)\n"
    )


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_child_writes_to_its_log_and_wait_returns_false_when_it_ends(tmp_path):
    log = tmp_path / "child.log"
    log.write_text("earlier\n")
    with Supervisor() as supervisor:
        proc = supervisor.start(python("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"),
                                log, ENV)  # fmt: skip
        assert supervisor.wait(proc, deadline=time.monotonic() + 20) is False
        assert proc.returncode == 3
    assert log.read_text().splitlines() == ["earlier", "out", "err"]  # appended, stdout and stderr together


def test_children_run_in_their_own_session_without_standard_input(tmp_path):
    with Supervisor() as supervisor:
        proc = supervisor.start(python("import sys; print(repr(sys.stdin.read()))"), tmp_path / "log", ENV)
        assert os.getsid(proc.pid) == proc.pid and os.getpgid(proc.pid) == proc.pid  # Ctrl-C is not sent to it
        supervisor.wait(proc, deadline=time.monotonic() + 20)
    assert (tmp_path / "log").read_text().strip() == "''"


def test_wait_returns_true_when_the_deadline_passes_and_leaving_stops_the_child(tmp_path):
    with Supervisor() as supervisor:
        proc = supervisor.start(python("import time; time.sleep(60)"), tmp_path / "log", ENV)
        assert supervisor.wait(proc, deadline=time.monotonic() + 0.3) is True
        assert proc.poll() is None
    assert proc.returncode == -signal.SIGTERM  # stopped by its own stop signal, SIGTERM for a plain child
    assert gone(proc.pid)


def test_every_is_called_while_waiting(tmp_path):
    flag, calls = tmp_path / "flag", []

    def tick() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            flag.write_text("go")  # the child ends once it sees this

    code = f"import pathlib, time\nwhile not pathlib.Path({str(flag)!r}).exists(): time.sleep(0.02)\n"
    with Supervisor() as supervisor:
        proc = supervisor.start(python(code), tmp_path / "log", ENV)
        assert supervisor.wait(proc, deadline=time.monotonic() + 20, every=(0.1, tick)) is False
    assert len(calls) >= 2 and proc.returncode == 0


def test_leaving_stops_a_locust_child_with_sigint_so_it_writes_its_files(tmp_path):
    marker, ready = tmp_path / "marker", tmp_path / "ready"
    with Supervisor() as supervisor:
        proc = supervisor.start_locust(trap("SIGINT", marker, ready), tmp_path / "log", ENV, main=True)
        wait_for(ready.exists)
    assert LOCUST_STOP_SIGNAL == signal.SIGINT
    assert marker.read_text() == "SIGINT" and proc.returncode == 0
    assert gone(proc.pid)


def test_stop_uses_the_childs_own_stop_signal(tmp_path):
    with Supervisor() as supervisor:
        plain = supervisor.start(trap("SIGTERM", tmp_path / "plain", tmp_path / "plain.ready", 4), tmp_path / "a", ENV)
        locust = supervisor.start_locust(trap("SIGINT", tmp_path / "locust", tmp_path / "locust.ready", 5),
                                         tmp_path / "b", ENV)  # fmt: skip
        wait_for(lambda: (tmp_path / "plain.ready").exists() and (tmp_path / "locust.ready").exists())
        assert supervisor.stop(plain) == 4 and supervisor.stop(locust) == 5
        assert (tmp_path / "plain").read_text() == "SIGTERM" and (tmp_path / "locust").read_text() == "SIGINT"


def test_a_child_that_ignores_its_stop_signal_is_killed_after_grace(tmp_path):
    ready = tmp_path / "ready"
    code = f"import pathlib, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" \
           f"pathlib.Path({str(ready)!r}).write_text('ready')\ntime.sleep(60)\n"  # fmt: skip
    with Supervisor() as supervisor:
        proc = supervisor.start(python(code), tmp_path / "log", ENV, grace_s=0.5)
        wait_for(ready.exists)
        began = time.monotonic()
    assert proc.returncode == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - began < 10  # it was given its grace first
    assert gone(proc.pid)


def test_stop_process_on_an_ended_child_is_harmless(tmp_path):
    proc = subprocess.Popen(python("import sys; sys.exit(7)"))
    proc.wait(timeout=20)
    assert stop_process(proc, grace_s=0.1) == 7
    assert stop_process(proc, grace_s=0.1, first=signal.SIGINT) == 7
    with Supervisor() as supervisor:  # and so is leaving a with block whose children all ended
        ended = supervisor.start(python("pass"), tmp_path / "log", ENV)
        supervisor.wait(ended, deadline=time.monotonic() + 20)
    assert ended.returncode == 0


def test_the_first_signal_stops_the_main_child_gracefully_and_a_second_kills_it(tmp_path):
    """A Ctrl-C while we wait: Locust gets SIGINT once (to write its files), SIGKILL on the second."""
    ready, count = tmp_path / "ready", tmp_path / "count"
    code = ("import pathlib, signal, time\nseen = []\n"
            "def got(signum, frame):\n    seen.append(signum)\n"
            f"    pathlib.Path({str(count)!r}).write_text(str(len(seen)))\n"
            f"signal.signal(signal.SIGINT, got)\npathlib.Path({str(ready)!r}).write_text('ready')\n"
            "while True: time.sleep(0.05)\n")  # fmt: skip
    before = signal.getsignal(signal.SIGINT)
    with Supervisor() as supervisor:
        proc = supervisor.start_locust(python(code), tmp_path / "log", ENV, main=True)
        wait_for(ready.exists)
        assert signal.getsignal(signal.SIGTERM) == supervisor._handle  # else the kill below would end pytest
        os.kill(os.getpid(), signal.SIGTERM)  # to this test process: the supervisor's handler forwards it
        wait_for(lambda: count.exists() and count.read_text() == "1")
        assert supervisor.interrupted and supervisor.received == signal.SIGTERM
        assert proc.poll() is None  # the child trapped the graceful signal and lives on
        os.kill(os.getpid(), signal.SIGINT)
        assert supervisor.wait(proc, deadline=time.monotonic() + 20) is False
    assert proc.returncode == -signal.SIGKILL and count.read_text() == "1"
    assert supervisor.received == signal.SIGTERM  # the first signal is the one remembered
    assert signal.getsignal(signal.SIGINT) is before  # our handlers are restored on leaving


def test_every_is_not_called_once_interrupted(tmp_path):
    calls = []
    with Supervisor() as supervisor:
        # the child outlives the first 0.5 s wait step, when the callback would be due
        proc = supervisor.start(python("import time; time.sleep(0.7)"), tmp_path / "log", ENV)
        supervisor.received = signal.SIGINT  # as after a Ctrl-C with no main child to forward it to
        assert supervisor.wait(proc, every=(0.1, lambda: calls.append(1))) is False
    assert calls == [] and proc.returncode == 0


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as server:
        server.bind((LOOPBACK, port))
        server.listen()


def test_a_demo_that_exits_at_start_is_reported_with_its_last_log_line(tmp_path):
    with Supervisor() as supervisor, pytest.raises(RunFailed) as caught:
        start_demo(supervisor, tmp_path / "demo", ["--no-such-knob"], ENV)
    assert "the demo target exited at start (code 2)" in caught.value.message
    assert "--no-such-knob" in caught.value.message
    assert all(proc.poll() is not None for proc in supervisor.children)


def test_child_env_adds_to_the_environment_and_keeps_output_unbuffered(monkeypatch):
    monkeypatch.setenv("PYTHONUNBUFFERED", "")
    monkeypatch.delenv("PYTHONUNBUFFERED")
    env = child_env({"SWARMGATE_SCENARIO": "smoke"})
    assert env["SWARMGATE_SCENARIO"] == "smoke" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"] == os.environ["PATH"]
    assert child_env({"PYTHONUNBUFFERED": "0"})["PYTHONUNBUFFERED"] == "0"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_guarded_child_has_the_parent_death_signal_armed(tmp_path):
    """The program the guard execs reads its own PR_GET_PDEATHSIG: the signal it gets if we die."""
    code = ("import ctypes, signal\nvalue = ctypes.c_int()\n"
            "ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(value), 0, 0, 0)\nprint(value.value)\n")  # fmt: skip
    done = subprocess.run(guarded([sys.executable, "-c", code], signal.SIGINT), capture_output=True, text=True,
                          timeout=30, check=True)  # fmt: skip
    assert done.stdout.strip() == str(int(signal.SIGINT))
    unguarded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert unguarded.stdout.strip() == "0"
