"""Fault phases during a run: each action at its time on the run's clock, and an undo that always runs.

The orchestrator (never the Locust process) runs them, in one thread beside the wait for Locust. How
the undo is guaranteed:

- at its time, by that thread;
- on Ctrl-C or SIGTERM, an abort gate or a crash of Locust: each ends the wait for Locust, and
  `FaultRunner.finish` (called from a `finally`) runs every undo whose action started and whose undo
  has not run yet; the signal handlers of the supervisor only stop Locust, so this code still runs;
- on SIGKILL (no code of ours runs): before an action starts, `.faults_pending.json` in the run
  directory names it and its undo; it is removed once every undo ran, so the next `swarmgate run`
  finds one left behind and says loudly which undo never ran (`pending_undos`).

Commands run without a shell, with a timeout, their output kept with secrets masked; HTTP calls
follow no redirect and use no proxy from the environment (a header holding a token goes only to the
URL written).
"""

from __future__ import annotations

import json
import os
import shutil
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

from swarmgate.core.errors import BadInput, RunFailed
from swarmgate.core.files import iso, write_atomic
from swarmgate.core.redact import mask, strip_credentials
from swarmgate.fault_config import VARIABLE, FaultAction, FaultPhase

PENDING_FILE = ".faults_pending.json"
OUTPUT_KEPT = 4000  # characters of an action's output kept (its end, where errors are)
SECRET_NAME = ("TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL", "AUTH")
CLOCK_WAIT_S = 120.0  # how long the thread waits for the run's clock (Locust's start) before giving up
PREFLIGHT_TIMEOUT_S = 5.0


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
    secrets = {values[n] for a in actions for n in a.header_variables if values[n]}
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
                    raise RunFailed(f"{where}: command {program!r} not found or not executable; nothing was run")
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
    argv = [variables.expand(arg) for arg in action.command]
    env = {**os.environ, **variables.values}
    try:
        done = subprocess.run(argv, capture_output=True, timeout=action.timeout_s, stdin=subprocess.DEVNULL,
                              env=env, check=False, start_new_session=True)  # fmt: skip
    except FileNotFoundError:
        return False, None, "", f"command {argv[0]!r} not found"
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"") + (exc.stderr or b"")
        return False, None, output.decode(errors="replace"), f"timed out after {action.timeout_s:g} s (stopped)"
    output = (done.stdout + done.stderr).decode(errors="replace")
    error = None if done.returncode == 0 else f"exit status {done.returncode}"
    return done.returncode == 0, done.returncode, output, error


def call_http(action: FaultAction, variables: Variables) -> tuple[bool, int | None, str, str | None]:
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
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, None, "", f"no answer ({reason})"


@dataclass
class FaultState:
    phase: FaultPhase
    action: ActionResult | None = None
    undo: ActionResult | None = None

    @property
    def needs_undo(self) -> bool:
        return self.action is not None and self.undo is None

    def record(self, variables: Variables) -> dict:
        return {**self.phase.record(),
                "action": {**self.phase.action.record(), **(self.action.record() if self.action else {})},
                "undo": {**self.phase.undo.record(), **(self.undo.record() if self.undo else {})},
                "window": self.window()}  # fmt: skip

    def window(self) -> dict | None:
        """When the fault was in effect: from its action's start to its undo's end (None if the undo failed)."""
        if self.action is None or not self.action.ok:
            return None
        end = self.undo.ended if self.undo and self.undo.ok else None
        return {"start": iso(self.action.started), "end": iso(end) if end else None, "start_ts": self.action.started,
                "end_ts": end}  # fmt: skip


class FaultRunner:
    """Runs a scenario's fault phases on the run's clock in a thread; `finish` runs every undo still due."""

    def __init__(self, faults: tuple[FaultPhase, ...], variables: Variables, run_dir: Path,
                 clock: Callable[[], float | None], on_failure: Callable[[], None],
                 say: Callable[[str, bool], None]) -> None:  # fmt: skip
        self.states = [FaultState(f) for f in sorted(faults, key=lambda f: f.start_s)]
        self.variables, self.run_dir, self.clock = variables, run_dir, clock
        self.on_failure, self.say = on_failure, say
        self.stopping = threading.Event()
        self.failed: str | None = None  # an action that failed: the run could not be made as planned
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
            return
        for due, side, state in self.events(started):
            if self.stopping.wait(max(0.0, due - time.time())):
                return
            if side == "action":
                self.start_fault(state)
            elif state.needs_undo:
                self.undo(state, "scheduled")
            if self.failed:
                return

    def start_fault(self, state: FaultState) -> None:
        self.write_pending([*(s for s in self.states if s.needs_undo), state])
        state.action = run_action(state.phase.action, self.variables)
        self.tell(state, "action", state.action)
        if not state.action.ok:
            self.failed = f"fault '{state.phase.name}': its action failed ({state.action.error})"
            self.undo(state, "action failed")
            self.on_failure()

    def undo(self, state: FaultState, reason: str) -> None:
        state.undo = run_action(state.phase.undo, self.variables)
        state.undo.reason = reason
        self.tell(state, "undo", state.undo)
        self.write_pending([s for s in self.states if s.needs_undo])

    def tell(self, state: FaultState, side: str, result: ActionResult) -> None:
        what = "started" if side == "action" else f"undone ({result.reason})"
        outcome = "ok" if result.ok else f"FAILED: {result.error}"
        loud = side == "undo" and not result.ok
        suffix = "; the system under test may be left broken" if loud else ""
        self.say(f"swarmgate: fault '{state.phase.name}' {what}: {outcome} "
                 f"({result.ended - result.started:.2f} s){suffix}", loud)  # fmt: skip

    def finish(self, reason: str) -> list[dict]:
        """Stop the schedule, run every undo still due (reason: why now), and return the records for run.json."""
        self.stopping.set()
        if self.thread.is_alive():  # an action under way ends by its timeout at the latest
            longest = max((max(s.phase.action.timeout_s, s.phase.undo.timeout_s) for s in self.states), default=0)
            self.thread.join(timeout=longest + 5)
        for state in self.states:
            if state.needs_undo:
                self.undo(state, reason)
        return [state.record(self.variables) for state in self.states]

    @property
    def undo_failed(self) -> bool:
        return any(s.undo is not None and not s.undo.ok for s in self.states)

    def write_pending(self, due: list[FaultState]) -> None:
        path = self.run_dir / PENDING_FILE
        if not due:
            path.unlink(missing_ok=True)
            return
        pending = [{"name": s.phase.name, "undo": s.phase.undo.record()} for s in due]
        write_atomic(path, json.dumps({"pid": os.getpid(), "run_dir": str(self.run_dir), "faults": pending}) + "\n")


def pending_undos(results_root: Path) -> list[str]:
    """Sentences for every fault left on by a swarmgate that was killed (its undo never ran)."""
    found = []
    for path in sorted(results_root.glob(f"*/*/{PENDING_FILE}"))[:100]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if process_alive(int(record["pid"])):
                continue  # a run going on now
            for fault in record["faults"]:
                undo = fault["undo"]
                how = " ".join(undo["command"]) if undo["kind"] == "command" else f"{undo['method']} {undo['url']}"
                found.append(f"fault '{fault['name']}' of {path.parent} was never undone (swarmgate was killed): "
                             f"the system under test may still be broken; run its undo by hand ({how}), "
                             f"then delete {path}")  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            found.append(f"{path}: a fault may have been left on by a killed run (unreadable record); check the "
                         "system under test, then delete the file")  # fmt: skip
    return found


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
