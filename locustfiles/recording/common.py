"""Small things every recorder needs: which node this is, where to write, how to write safely."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, WorkerRunner

from swarmgate.core.files import iso, write_atomic  # noqa: F401  (re-exported for the recorders)


def node_role(environment: Environment) -> str:
    """'master', 'worker' or 'local' (a single-process run)."""
    if isinstance(environment.runner, MasterRunner):
        return "master"
    if isinstance(environment.runner, WorkerRunner):
        return "worker"
    return "local"


def results_dir(environment: Environment) -> Path | None:
    """--results-dir, else the folder of --csv PREFIX, else None (recorders that write stay idle)."""
    options = environment.parsed_options
    explicit = getattr(options, "results_dir", None) if options else None
    if explicit:
        return Path(explicit)
    prefix = getattr(options, "csv_prefix", None) if options else None
    return Path(prefix).resolve().parent if prefix else None


def ended_in_web_ui(environment: Environment) -> bool:
    """Whether a test that just stopped ran from the web UI: its files are written now, not at quit,
    so the UI can show that test's report (the process serves the next test)."""
    options = environment.parsed_options
    return environment.web_ui is not None and not getattr(options, "headless", False)


def listen(events: Events, **handlers: Callable) -> None:
    """Subscribe each handler to the Locust event of its keyword's name, e.g. listen(events, quit=self.on_quit)."""
    for event, handler in handlers.items():
        getattr(events, event).add_listener(handler)


def write_json(path: Path, document: Any) -> None:
    write_atomic(path, json.dumps(document, indent=2, sort_keys=False) + "\n")
