"""Fault phases during a run: each action at its time on the run's clock, and an undo that always runs.

The orchestrator (never the Locust process) runs them, in one thread beside the wait for Locust. How
the undo is guaranteed:

- at its time, by that thread;
- on Ctrl-C or SIGTERM, an abort gate or a crash of Locust: each ends the wait for Locust, and
  `FaultRunner.finish` (called from a `finally`) undoes every fault that is on; the signal handlers of the
  supervisor only stop Locust, so this code still runs;
- exactly once: each fault has a lock, held for the whole of its action and of its undo, and a status
  (pending, acting, on, undoing, undone); the thread and `finish` undo only a fault that is `on`, and
  `finish` waits for an action or undo under way (commands are killed at their timeout with everything they
  started, HTTP calls are given up at theirs on the wall clock);
- no action starts once `finish` began or Locust has ended (or a gate stopped it);
- on SIGKILL (no code of ours runs): before an action starts, `.faults_pending.json` in the run
  directory names it and its undo (an action whose record cannot be written does not start); the file
  keeps every fault that may be left on, a failed undo's too, and is removed once none is. The next
  `swarmgate run` finds one left behind by a process that is gone (pid and start time) and says loudly
  which undo never ran or failed (`pending_undos`). A record that cannot be written at the end costs no
  undo: every undo runs first.

Commands run without a shell, with a timeout, their output kept with secrets (every variable's value but
the demo's URL) masked; HTTP calls follow no redirect and use no proxy from the environment (a header
holding a token goes only to the URL written).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from swarmgate.core.errors import BadInput, OutputError, RunFailed
from swarmgate.core.files import iso, write_atomic
from swarmgate.core.redact import mask, strip_credentials
from swarmgate.fault_config import VARIABLE, FaultAction, FaultPhase

PENDING_FILE = ".faults_pending.json"
OUTPUT_KEPT = 4000  # characters of an action's output kept (its end, where errors are)
SECRET_NAME = ("TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL", "AUTH")
CLOCK_WAIT_S = 120.0  # how long the thread waits for the run's clock (Locust's start) before giving up
PREFLIGHT_TIMEOUT_S = 5.0
NOT_SECRET = {"SWARMGATE_DEMO_URL"}  # the one variable shown as it is (a loopback URL swarmgate chose)
KILL_WAIT_S = 2.0  # after a command's timeout: how long its output is still read


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):  # a redirect is answered, not followed
        return None


@dataclass
class Variables:
    """The `${NAME}` values of a run's actions (environment, plus what swarmgate provides) and which are secret."""

    values: dict[str, str]
    secrets: set[str] = field(default_factory=set)

    def expand(self, text: str) -> str:
        return VARIABLE.sub(lambda m: self.values[m.group(1)], text)

    def masked(self, text: str) -> str:
        return mask(text, sorted(self.secrets, key=len, reverse=True))


def variables_for(faults: tuple[FaultPhase, ...], provided: dict[str, str], where: str) -> Variables:
    """Every variable the actions name, from `provided` (e.g. the demo's URL) or the environment; a missing one is
    bad input before anything starts."""
    actions = [a for f in faults for a in (f.action, f.undo)]
    names = {name for action in actions for name in action.variables}
    values = {name: provided.get(name, os.environ.get(name)) for name in names}
    missing = sorted(name for name, value in values.items() if value is None)
    if missing:
        raise BadInput(f"{where}: the fault actions use ${{{missing[0]}}}, which is not set; export it (the demo's "
                       "SWARMGATE_DEMO_URL and SWARMGATE_DEMO_FAULT_TOKEN are set only when swarmgate starts the "
                       "demo, without --host)")  # fmt: skip
    # every value put in may be a secret (a token, a kubeconfig path, a URL with a key): masked wherever kept
    secrets = {value for name, value in values.items() if name not in NOT_SECRET and value}
    # a command sees the whole environment: any secret in it may reach its output, named or not
    environment = {**os.environ, **provided}
    secrets |= {v for n, v in environment.items() if any(w in n.upper() for w in SECRET_NAME) and len(v) >= 4}
    return Variables(values, secrets)


def preflight(faults: tuple[FaultPhase, ...], variables: Variables) -> None:
    """What can be checked before load is applied: each command exists, each HTTP host accepts a connection."""
    for fault in faults:
        for side, action in (("action", fault.action), ("undo", fault.undo)):
            where = f"fault '{fault.name}' {side}"
            if action.kind == "command":
                program = variables.expand(action.command[0])
                if shutil.which(program) is None:
                    shown = variables.masked(repr(program))
                    raise RunFailed(f"{where}: command {shown} not found or not executable; nothing was run")
                continue
            url = urlsplit(variables.expand(action.url))
            try:
                port = url.port or (443 if url.scheme == "https" else 80)
                socket.create_connection((url.hostname or "", port), timeout=PREFLIGHT_TIMEOUT_S).close()
            except (OSError, ValueError) as exc:
                shown = variables.masked(strip_credentials(url.geturl()))
                raise RunFailed(f"{where}: cannot connect to {shown} ({exc}); nothing was run") from None


@dataclass
class ActionResult:
    started: float
    ended: float
    ok: bool
    exit_status: int | None = None  # a command's exit code, or an HTTP call's status
    output: str = ""
    error: str | None = None
    reason: str = "scheduled"  # undo: scheduled, run ended early (interrupted, aborted, crashed), action failed

    def record(self) -> dict:
        return {"started": iso(self.started), "ended": iso(self.ended), "started_ts": self.started,
                "ended_ts": self.ended, "seconds": round(self.ended - self.started, 3), "ok": self.ok,
                "exit_status": self.exit_status, "error": self.error, "output": self.output,
                "reason": self.reason}  # fmt: skip


def run_action(action: FaultAction, variables: Variables) -> ActionResult:
    """Run one action to its end (or its timeout); never raises."""
    started = time.time()
    try:
        if action.kind == "command":
            ok, status, output, error = run_command(action, variables)
        else:
            ok, status, output, error = call_http(action, variables)
    except Exception as exc:  # noqa: BLE001 - an action that breaks is a failed action, recorded, never a crash
        ok, status, output, error = False, None, "", f"{type(exc).__name__}: {exc}"
    kept = variables.masked(output)[-OUTPUT_KEPT:]
    return ActionResult(started, time.time(), ok, status, kept, variables.masked(error) if error else None)


def run_command(action: FaultAction, variables: Variables) -> tuple[bool, int | None, str, str | None]:
    """The command to its end; at its timeout it is killed with everything it started (its own session)."""
    argv = [variables.expand(arg) for arg in action.command]
    env = {**os.environ, **variables.values}
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)  # fmt: skip
    except OSError as exc:  # not found, not executable: masked by the caller like every error
        return False, None, "", f"command {argv[0]!r} could not start ({exc.strerror or exc})"
    try:
        output, _ = proc.communicate(timeout=action.timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:  # what it wrote before; a process that left the session may hold the pipe: not waited for
            output, _ = proc.communicate(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            output = b""
        proc.wait()
        return False, None, output.decode(errors="replace"), f"timed out after {action.timeout_s:g} s (stopped)"
    error = None if proc.returncode == 0 else f"exit status {proc.returncode}"
    return proc.returncode == 0, proc.returncode, output.decode(errors="replace"), error


def call_http(action: FaultAction, variables: Variables) -> tuple[bool, int | None, str, str | None]:
    """The HTTP call within its timeout on the wall clock: urllib's timeout holds per socket operation only (a
    server that answers a byte at a time would hold it for ever), so the call runs in a thread waited for that
    long; one still going is given up as failed."""
    answer: list[tuple[bool, int | None, str, str | None]] = []
    exchange = threading.Thread(target=lambda: answer.append(http_exchange(action, variables)), daemon=True,
                                name="swarmgate-fault-http")  # fmt: skip
    exchange.start()
    exchange.join(action.timeout_s)
    if not answer:
        return False, None, "", f"no complete answer within {action.timeout_s:g} s (given up)"
    return answer[0]


def http_exchange(action: FaultAction, variables: Variables) -> tuple[bool, int | None, str, str | None]:
    url = variables.expand(action.url)
    body = variables.expand(action.body).encode() if action.body is not None else None
    headers = {name: variables.expand(value) for name, value in action.headers}
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, headers=headers, method=action.method)
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))  # no proxy from the environment
    try:
        with opener.open(request, timeout=action.timeout_s) as response:
            return True, response.status, response.read(OUTPUT_KEPT).decode(errors="replace"), None
    except urllib.error.HTTPError as exc:
        return False, exc.code, exc.read(OUTPUT_KEPT).decode(errors="replace"), f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, None, "", f"no answer ({reason})"


PENDING, ACTING, ON, UNDOING, UNDONE = "pending", "acting", "on", "undoing", "undone"


@dataclass
class FaultState:
    """One fault's progress. Its lock is held for the whole of its action and of its undo, and the status only
    changes under it: whoever takes the lock next (the schedule or `finish`) sees the outcome, never a half."""

    phase: FaultPhase
    action: ActionResult | None = None
    undo: ActionResult | None = None
    status: str = PENDING  # pending -> acting -> on -> undoing -> undone
    not_run: str | None = None  # why the action never ran (the run ended first, Locust never started)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def left_on(self) -> bool:
        """The fault may be in effect: its action started and no undo has succeeded (the pending record's list)."""
        return self.status in (ACTING, ON, UNDOING) or (self.undo is not None and not self.undo.ok)

    def record(self) -> dict:
        return {**self.phase.record(),
                "action": {**self.phase.action.record(), **(self.action.record() if self.action else {})},
                "undo": {**self.phase.undo.record(), **(self.undo.record() if self.undo else {})},
                "not_run": self.not_run, "window": self.window()}  # fmt: skip

    def window(self) -> dict | None:
        """When the fault was in effect: from its action's start to its undo's end (None if the undo failed)."""
        if self.action is None or not self.action.ok:
            return None
        end = self.undo.ended if self.undo and self.undo.ok else None
        return {"start": iso(self.action.started), "end": iso(end) if end else None, "start_ts": self.action.started,
                "end_ts": end}  # fmt: skip


class FaultRunner:
    """Runs a scenario's fault phases on the run's clock in a thread; `finish` runs every undo still due.

    Exactly one undo per action that started: the schedule and `finish` each take the fault's lock and undo
    only a fault that is `on`; `finish` waits for an action or undo under way (each ends by its timeout).
    """

    def __init__(self, faults: tuple[FaultPhase, ...], variables: Variables, run_dir: Path,
                 clock: Callable[[], float | None], on_failure: Callable[[], None],
                 say: Callable[[str, bool], None],
                 load_running: Callable[[], bool] = lambda: True) -> None:  # fmt: skip
        self.states = [FaultState(f) for f in sorted(faults, key=lambda f: f.start_s)]
        self.variables, self.run_dir, self.clock = variables, run_dir, clock
        self.on_failure, self.say, self.load_running = on_failure, say, load_running
        self.stopping = threading.Event()
        self.pending_lock = threading.Lock()  # one writer of the pending record at a time
        self.failed: str | None = None  # an action that failed: the run could not be made as planned
        self.never_started: str | None = None  # the run's clock never appeared: no fault ran
        self.thread = threading.Thread(target=self.run, name="swarmgate-faults", daemon=True)

    def start(self) -> FaultRunner:
        self.thread.start()
        return self

    def events(self, started: float) -> list[tuple[float, str, FaultState]]:
        timeline = [(started + s.phase.start_s, "action", s) for s in self.states]
        timeline += [(started + s.phase.start_s + s.phase.duration_s, "undo", s) for s in self.states]
        return sorted(timeline, key=lambda event: (event[0], event[1] == "action"))

    def run(self) -> None:
        deadline = time.monotonic() + CLOCK_WAIT_S
        started = self.clock()
        while started is None and not self.stopping.wait(0.1) and time.monotonic() < deadline:
            started = self.clock()
        if started is None:
            if not self.stopping.is_set():
                self.never_started = f"Locust's start was not seen within {CLOCK_WAIT_S:g} s"
            return
        for due, side, state in self.events(started):
            if self.stopping.wait(max(0.0, due - time.time())):
                return
            if side == "action":
                self.start_fault(state)
            else:
                self.undo_if_on(state, "scheduled")
            if self.failed:
                return

    def start_fault(self, state: FaultState) -> None:
        with state.lock:
            if self.stopping.is_set() or not self.load_running():
                return  # the load has stopped: no fault starts after it (finish says why it never ran)
            state.status = ACTING
            if not self.write_pending():
                state.status = PENDING
                state.not_run = "its pending record could not be written (an undo could not be guaranteed)"
                self.failed = f"fault '{state.phase.name}': not started, {state.not_run}"
                self.on_failure()
                return
            state.action = run_action(state.phase.action, self.variables)
            state.status = ON
            self.tell(state, "action", state.action)
            if not state.action.ok:
                self.undo_locked(state, "action failed")
                undone = "its undo ran: ok" if state.undo.ok else "its undo FAILED: the system may be left broken"
                self.failed = f"fault '{state.phase.name}': its action failed ({state.action.error}); {undone}"
                self.on_failure()

    def undo_if_on(self, state: FaultState, reason: str, *, write: bool = True) -> None:
        with state.lock:  # an action or undo under way ends first
            if state.status == ON:
                self.undo_locked(state, reason, write=write)

    def undo_locked(self, state: FaultState, reason: str, *, write: bool = True) -> None:
        state.status = UNDOING
        state.undo = run_action(state.phase.undo, self.variables)
        state.undo.reason = reason
        state.status = UNDONE
        self.tell(state, "undo", state.undo)
        if write:
            self.write_pending()

    def tell(self, state: FaultState, side: str, result: ActionResult) -> None:
        what = "started" if side == "action" else f"undone ({result.reason})"
        outcome = "ok" if result.ok else f"FAILED: {result.error}"
        loud = side == "undo" and not result.ok
        suffix = "; the system under test may be left broken" if loud else ""
        self.say(f"swarmgate: fault '{state.phase.name}' {what}: {outcome} "
                 f"({result.ended - result.started:.2f} s){suffix}", loud)  # fmt: skip

    def finish(self, reason: str) -> list[dict]:
        """Stop the schedule, run every undo still due (reason: why now), then write the pending record
        (best effort); the records for run.json."""
        self.stopping.set()
        for state in self.states:
            self.undo_if_on(state, reason, write=False)
        for state in self.states:
            if state.status == PENDING and state.not_run is None:
                state.not_run = self.never_started or f"the run ended before it was due ({reason})"
        self.write_pending()
        return [state.record() for state in self.states]

    @property
    def undo_failed(self) -> bool:
        return any(s.undo is not None and not s.undo.ok for s in self.states)

    def write_pending(self) -> bool:
        """Name every fault that may be left on (in `.faults_pending.json`), or remove the file when none is;
        False, after one line on the console, when the disk refuses."""
        path = self.run_dir / PENDING_FILE
        with self.pending_lock:
            due = [s for s in self.states if s.left_on]
            try:
                if not due:
                    path.unlink(missing_ok=True)
                    return True
                pending = [{"name": s.phase.name, "undo": s.phase.undo.record(),
                            "undo_error": s.undo.error if s.undo else None} for s in due]  # fmt: skip
                write_atomic(path, json.dumps({"pid": os.getpid(), "pid_started": process_started(os.getpid()),
                                               "run_dir": str(self.run_dir), "faults": pending}) + "\n")  # fmt: skip
            except (OSError, OutputError) as exc:  # a full disk must not cost an undo, nor the thread
                self.say(f"swarmgate: {exc}", True)
                return False
        return True


def pending_undos(results_root: Path) -> list[str]:
    """Sentences for every fault a run left on: its swarmgate was killed before the undo, or the undo failed."""
    found = []
    for path in sorted(results_root.glob(f"*/*/{PENDING_FILE}"))[:100]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            started = process_started(int(record["pid"]))
            if started is not None and started == record.get("pid_started"):
                continue  # the run that wrote it is going on now (the same pid and start: not a reused pid)
            for fault in record["faults"]:
                undo = fault["undo"]
                how = " ".join(undo["command"]) if undo["kind"] == "command" else f"{undo['method']} {undo['url']}"
                why = (f"its undo failed ({fault['undo_error']})" if fault.get("undo_error")
                       else "was never undone (swarmgate was killed)")  # fmt: skip
                found.append(f"fault '{fault['name']}' of {path.parent} {why}: the system under test may still be "
                             f"broken; run its undo by hand ({how}), then delete {path}")  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            found.append(f"{path}: a fault may have been left on by a killed run (unreadable record); check the "
                         "system under test, then delete the file")  # fmt: skip
    return found


def process_started(pid: int) -> float | None:
    """When the process `pid` started (None: there is none); with the pid, it names one process, even once
    the pid is reused."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, ValueError):
        return None
