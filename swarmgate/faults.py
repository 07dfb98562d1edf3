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

Running one action, its variables and their secrets: `swarmgate.fault_actions`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from swarmgate.core.errors import OutputError
from swarmgate.core.files import iso, write_atomic
from swarmgate.fault_actions import ActionResult, Variables, run_action
from swarmgate.fault_config import FaultPhase

PENDING_FILE = ".faults_pending.json"
CLOCK_WAIT_S = 120.0  # how long the thread waits for the run's clock (Locust's start) before giving up


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
                 say: Callable[[str, bool], None], load_running: Callable[[], bool] = lambda: True,
                 clock_wait_s: float = CLOCK_WAIT_S) -> None:  # fmt: skip
        self.states = [FaultState(f) for f in sorted(faults, key=lambda f: f.start_s)]
        self.variables, self.run_dir, self.clock = variables, run_dir, clock
        self.on_failure, self.say, self.load_running = on_failure, say, load_running
        self.clock_wait_s = clock_wait_s
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
        deadline = time.monotonic() + self.clock_wait_s
        started = self.clock()
        while started is None and not self.stopping.wait(0.1) and time.monotonic() < deadline:
            started = self.clock()
        if started is None:
            if not self.stopping.is_set():
                self.never_started = f"Locust's start was not seen within {self.clock_wait_s:g} s"
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
