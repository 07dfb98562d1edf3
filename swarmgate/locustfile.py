"""Which locustfile a run uses, and which user classes it has.

The demo's locustfile (the four users) is the default. A team's own locustfile (`--locustfile`, or a
scenario's `locustfile` key) is any Locust locustfile: its classes are listed by Locust's own loader
in a child process (`swarmgate.list_classes`), so this process never imports team code,
and a file that cannot be imported is refused before a run dir exists.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from swarmgate.core.config import printable
from swarmgate.core.defaults import package_file
from swarmgate.core.errors import BadInput
from swarmgate.list_classes import MARK
from swarmgate.scenarios import Scenario, with_users
from swarmgate.supervisor import child_env, python_command

DEFAULT_LOCUSTFILE = package_file("swarmgate.locustfiles", "locustfile.py")
ATTACH_RECORDERS = package_file("swarmgate.locustfiles", "swarmgate_recorders.py")  # the extra `-f` module
LIST_TIMEOUT_S = 120.0
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


@dataclass(frozen=True)
class Locustfile:
    path: Path
    classes: dict[str, int] | None  # user class -> weight; None: the demo's locustfile (its four users)
    shapes: tuple[str, ...] = ()


def locust_files(locustfile: Path, *extra: Path) -> str:
    """The value of Locust's `--locustfile`: the users' file, the recorders, and any extra module (a shape)."""
    return ",".join(str(path) for path in (locustfile, ATTACH_RECORDERS, *extra))


def import_problem(text: str) -> str | None:
    """`file, line N: Error: message` from the traceback printed when a locustfile failed to import.

    The message is what follows the last frame (its source line when shown), lines joined: an
    exception's message may span several.
    """
    if "Traceback" not in text:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    matched = [(i, m) for i, m in enumerate(map(FRAME.match, lines)) if m]
    at = [i for i, _ in matched]
    frames = [m for _, m in matched if "site-packages" not in m["file"] and not m["file"].startswith("<")]
    where = f"{frames[-1]['file']}, line {frames[-1]['line']}: " if frames else ""
    tail = lines[at[-1] + 1 :] if at else lines[-1:]
    if len(tail) > 1 and tail[0].startswith("    "):  # the frame's source line
        tail = tail[1:]
    message = " ".join(line.strip() for line in tail if not set(line.strip()) <= set("^~ "))
    return f"{where}{printable(message, 300)}"


def path_problem(path: Path) -> str | None:
    """Why Locust could not be handed this file, or None."""
    if path.suffix != ".py":
        return "is not a .py file (Locust loads locustfiles by that name)"
    if "," in str(path):
        return "has a comma in its path (Locust splits -f at commas); rename or move it"
    if path.stem in ("swarmgate", "locust", "gevent"):
        return f"is named {path.name}, like a package it needs; rename it"
    return None


_seen: dict[Path, Locustfile] = {}


def inspect_locustfile(path: Path | None) -> Locustfile:
    """The locustfile at `path` (None: the demo's) with its user classes; refused in one line if unusable."""
    path = (path or DEFAULT_LOCUSTFILE).resolve()
    if path == DEFAULT_LOCUSTFILE.resolve():
        return Locustfile(path, None)
    problem = path_problem(path)
    if problem:
        raise BadInput(f"the locustfile {printable(path, 300)} {problem}")
    if path not in _seen:
        _seen[path] = list_classes(path)
    return _seen[path]


def list_classes(path: Path) -> Locustfile:
    shown = printable(path, 300)
    try:
        done = subprocess.run(python_command("-m", "swarmgate.list_classes", str(path)),
                              capture_output=True, text=True, errors="replace", env=child_env({}),
                              timeout=LIST_TIMEOUT_S, stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BadInput(f"the locustfile {shown} did not finish importing in {LIST_TIMEOUT_S:g} s; "
                       "it should define classes, not do work at import") from None  # fmt: skip
    found = done.stdout.rpartition(MARK)[2].strip() if MARK in done.stdout else None
    if done.returncode != 0 or found is None:
        said = done.stderr.strip().splitlines()
        last = printable(said[-1], 300) if said else f"it exited with status {done.returncode} while imported"
        problem = import_problem(done.stderr) or f"{shown}: {last}"
        raise BadInput(f"the locustfile cannot be imported: {problem}; fix it and run again")
    listed = json.loads(found.splitlines()[0])
    if not listed["users"]:
        raise BadInput(f"the locustfile {shown} defines no user class (a subclass of HttpUser, FastHttpUser or User "
                       "that is not abstract); add one")  # fmt: skip
    weights = {name: int(user["weight"]) for name, user in listed["users"].items()}
    return Locustfile(path, weights, tuple(listed["shapes"]))


def bind(scenario: Scenario, locustfile: Path | None) -> Scenario:
    """The scenario with the locustfile it runs (the option's, else its own key's, else the demo's) and its mix.

    A locustfile with its own LoadTestShape is refused: in `swarmgate run` the scenario drives the load.
    """
    found = inspect_locustfile(locustfile or scenario.locustfile)
    if found.shapes:
        raise BadInput(f"the locustfile {printable(found.path, 300)} defines a LoadTestShape "
                       f"({', '.join(found.shapes)}); `swarmgate run` drives the load from the scenario: move the "
                       "shape to another file, or run it with plain `locust --csv PREFIX --csv-full-history "
                       "--json-file PREFIX` and judge it with `swarmgate analyze PREFIX`")  # fmt: skip
    return with_users(scenario, found.path, found.classes)
