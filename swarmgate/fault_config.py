"""A scenario's fault phases (`[[faults]]`): when a fault starts, how long it lasts, what starts and undoes it.

An action is either a command (an argument list, run without a shell, with a timeout) or an HTTP call
(method, URL, headers, body, timeout). `${NAME}` in any of their texts is an environment variable read
when the run starts: that is how secrets reach an action (a token in a header, a kubeconfig path),
and why the records keep the text as written, never the value put in. Validated with the rest of the
scenario file: every problem in one line, exit 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from swarmgate.core.config import MAX_ITEMS, printable, shown
from swarmgate.core.plan import Stage

FAULT_KEYS = {"name", "start", "stage", "duration", "recovery_hold", "action", "undo"}
COMMAND_KEYS = {"command", "timeout"}
HTTP_KEYS = {"url", "method", "headers", "body", "timeout"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,100})\}")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}")  # an HTTP token (RFC 9110)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a header value may hold tabs, nothing else below space
CREDENTIAL_HEADER = re.compile(r"^(authorization|proxy-authorization|cookie)$|(^|-)(api-key|token)$", re.IGNORECASE)
MAX_TIMEOUT_S = 600.0
DEFAULT_TIMEOUT_S = {"command": 60.0, "http": 10.0}
DEFAULT_HOLD_S = 3.0
MAX_FAULTS = 20
FAULT_EXAMPLE = '[[faults]] tables, each with start = "30s", duration = "15s", action = {...} and undo = {...}'
MAX_TEXT = 10_000


class Fields(Protocol):
    """The scenario loader's table reader (swarmgate.scenarios.Fields): it collects every problem of a file."""

    table: dict
    where: str
    problems: list[str]

    def problem(self, key: str, text: str) -> None: ...
    def unknown(self, allowed: set[str]) -> None: ...
    def duration(self, key: str, default: Any = None) -> float: ...


@dataclass(frozen=True)
class FaultAction:
    """One side of a fault: start it (`action`) or end it (`undo`). Texts keep their `${VAR}` references."""

    kind: str  # "command" or "http"
    timeout_s: float
    command: tuple[str, ...] = ()
    method: str = "POST"
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None

    @property
    def variables(self) -> set[str]:
        texts = [*self.command, self.url, *(v for _, v in self.headers), self.body or ""]
        return {name for text in texts for name in VARIABLE.findall(text)}

    def record(self) -> dict:
        """As written in the scenario (variables not expanded): safe for run.json and the history."""
        if self.kind == "command":
            return {"kind": "command", "command": list(self.command), "timeout_s": self.timeout_s}
        return {"kind": "http", "method": self.method, "url": self.url, "headers": dict(self.headers),
                "timeout_s": self.timeout_s}  # fmt: skip


@dataclass(frozen=True)
class FaultPhase:
    name: str
    start_s: float  # on the run's clock (time-scaled with the plan)
    duration_s: float
    action: FaultAction
    undo: FaultAction
    recovery_hold_s: float = DEFAULT_HOLD_S  # not time-scaled: a measurement's hold, not a part of the plan
    stage: str | None = None

    def scaled(self, factor: float) -> FaultPhase:
        return replace(self, start_s=self.start_s * factor, duration_s=self.duration_s * factor)

    def record(self) -> dict:
        return {"name": self.name, "planned_start_s": round(self.start_s, 3), "stage": self.stage,
                "planned_duration_s": round(self.duration_s, 3), "recovery_hold_s": self.recovery_hold_s}  # fmt: skip


def text(table: Fields, key: str, value: object) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        table.problem(key, f"must be a text of 1 to {MAX_TEXT:,} characters, got {shown(value)}")
        return None
    return value


def action_of(table: Fields, key: str) -> FaultAction | None:
    """`action = { command = [...] }` or `action = { url = "...", method = "PUT", ... }`."""
    raw = table.table.get(key)
    if not isinstance(raw, dict) or ("command" in raw) == ("url" in raw):
        table.problem(key, 'must be a table with either command = ["prog", "arg", ...] or url = "https://..."'
                           f", got {shown(raw)}")  # fmt: skip
        return None
    action = type(table)(raw, f"{table.where}{key}.", table.problems)  # the scenario loader's reader
    kind = "command" if "command" in raw else "http"
    action.unknown(COMMAND_KEYS if kind == "command" else HTTP_KEYS)
    timeout = action.duration("timeout", DEFAULT_TIMEOUT_S[kind])
    if timeout > MAX_TIMEOUT_S:
        action.problem("timeout", f"must be at most {MAX_TIMEOUT_S:g} s")
    if kind == "command":
        command = raw["command"]
        if (not isinstance(command, list) or not 0 < len(command) <= MAX_ITEMS
                or not all(isinstance(a, str) and 0 < len(a) <= MAX_TEXT for a in command)):  # fmt: skip
            action.problem("command", f'must be a list of arguments, e.g. ["docker", "stop", "db"] (no shell), '
                                      f"got {shown(command)}")  # fmt: skip
            return None
        return FaultAction("command", timeout, command=tuple(command))
    url = text(action, "url", raw["url"])
    if url is not None and not re.match(r"^(https?://|\$\{)", url):
        action.problem("url", f"must start with http:// or https:// (or a ${{VARIABLE}} holding one), got {shown(url)}")
    elif url is not None and "@" in urlsplit(url).netloc:
        action.problem("url", "holds credentials; send them in a header from an environment variable, e.g. "
                              'headers = { Authorization = "Bearer ${API_TOKEN}" }')  # fmt: skip
    method = raw.get("method", "POST")
    if method not in METHODS:
        action.problem("method", f"must be one of {', '.join(METHODS)}, got {shown(method)}")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in headers.values()):
        action.problem("headers", 'must be a table of texts, e.g. { Authorization = "Bearer ${API_TOKEN}" }')
        headers = {}
    for name, value in headers.items():
        header_problem(action, name, value)
    body = text(action, "body", raw["body"]) if "body" in raw else None
    return FaultAction("http", timeout, method=str(method), url=url or "", headers=tuple(headers.items()), body=body)


def header_problem(action: Fields, name: str, value: str) -> None:
    """A header is sent as written: a name HTTP allows, a value with no line break (nothing smuggled into the
    request), and a credential only from an environment variable (the scenario file is shared and kept)."""
    if not HEADER_NAME.fullmatch(name):
        action.problem("headers", f"{shown(name)} is not a header name (letters, digits, - and "
                                  "!#$%&'*+.^_`|~ only)")  # fmt: skip
    elif CONTROL.search(value):
        action.problem(f"headers.{name}", "holds a line break or control character; write the value on one line")
    elif CREDENTIAL_HEADER.search(name) and not VARIABLE.search(value):
        action.problem(f"headers.{name}", "a credential written into the scenario file; put it in an environment "
                                          f'variable and name it, e.g. {name} = "Bearer ${{API_TOKEN}}"')  # fmt: skip


def stage_starts(plan: list[Stage]) -> dict[str, float]:
    """Each stage's start on the run's clock (the first stage of a name wins)."""
    starts, clock = {}, 0.0
    for stage in plan:
        starts.setdefault(stage.name, clock)
        clock += stage.duration_s
    return starts


def fault_of(table: Fields, index: int, plan: list[Stage]) -> FaultPhase | None:
    table.unknown(FAULT_KEYS)
    name = table.table.get("name", f"fault-{index}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        table.problem("name", f"must be 1 to 64 letters, digits, _ . -, got {shown(name)}")
    start, stage = None, table.table.get("stage")
    if ("start" in table.table) == (stage is not None):
        table.problem("start", 'give either start = "30s" (on the run\'s clock) or stage = "NAME" (its start)')
    elif stage is not None:
        start = stage_starts(plan).get(stage) if isinstance(stage, str) else None
        if start is None:
            known = ", ".join(stage_starts(plan)) or "none"
            table.problem("stage", f"{printable(shown(stage))} is not a stage of this scenario's plan; "
                                   f"its stages: {known}")  # fmt: skip
    else:
        start = table.duration("start")
    duration = table.duration("duration")
    hold = table.duration("recovery_hold", DEFAULT_HOLD_S)
    action, undo = action_of(table, "action"), action_of(table, "undo")
    if start is not None and start <= 0:
        table.problem("stage" if stage is not None else "start", "a fault at 0 s leaves no load before it to "
                      "measure the pre-fault level by; start it after a steady stage")  # fmt: skip
        return None
    if start is None or action is None or undo is None or not isinstance(name, str):
        return None
    fault = FaultPhase(name, start, duration, action, undo, hold, stage if isinstance(stage, str) else None)
    late = past_the_plan(fault, sum(s.duration_s for s in plan))
    if late:
        table.problem("duration", late)
    return fault


def past_the_plan(fault: FaultPhase, planned_s: float) -> str | None:
    """A fault whose end and recovery hold do not fit in the plan (its recovery could not be seen), or None.
    Checked as written and again once a run's --time-scale has shortened the fault but not its hold."""
    end = fault.start_s + fault.duration_s
    if end + fault.recovery_hold_s < planned_s:
        return None
    return (f"fault '{fault.name}' ends at {end:g} s and its recovery hold ({fault.recovery_hold_s:g} s) needs the "
            f"run until {end + fault.recovery_hold_s:g} s, past the plan's end ({planned_s:g} s); end it earlier, "
            "shorten recovery_hold or lengthen the last stage")  # fmt: skip


def overlap(faults: list[FaultPhase]) -> str | None:
    """Two faults in effect at once cannot be told apart in the measurements: refused."""
    ordered = sorted(faults, key=lambda f: f.start_s)
    for first, second in zip(ordered, ordered[1:], strict=False):
        if second.start_s < first.start_s + first.duration_s:
            return (f"faults: '{second.name}' starts at {second.start_s:g} s, before '{first.name}' ends "
                    f"({first.start_s + first.duration_s:g} s); fault phases must not overlap")  # fmt: skip
    return None


def faults_of(tables: list[Fields], plan: list[Stage]) -> tuple[FaultPhase, ...]:
    faults = [fault_of(table, index, plan) for index, table in enumerate(tables, 1)]
    names = [f.name for f in faults if f is not None]
    if len(set(names)) < len(names):
        tables[0].problems.append("faults: two fault phases have the same name; name each one differently")
    overlapping = overlap([f for f in faults if f is not None])
    if overlapping:
        tables[0].problems.append(overlapping)
    return tuple(f for f in faults if f is not None)
