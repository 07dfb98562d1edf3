"""A fault phase's actions: the `${NAME}` variables they use (and which values are secret), what can be
checked before load is applied, and running one action, a command or an HTTP call, to its end or its timeout.

Commands run without a shell, with a timeout after which they are killed with everything they started;
their output is kept with secrets (every variable's value but the demo's URL) masked. HTTP calls follow no
redirect, use no proxy from the environment (a header holding a token goes only to the URL written) and
are given up at their timeout on the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from swarmgate.core.errors import BadInput, RunFailed
from swarmgate.core.files import iso
from swarmgate.core.redact import mask, strip_credentials
from swarmgate.fault_config import VARIABLE, FaultAction, FaultPhase

OUTPUT_KEPT = 4000  # characters of an action's output kept (its end, where errors are)
SECRET_NAME = ("TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL", "AUTH")
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
