"""What a headless run shows while it goes: a live panel updated in place on a terminal (rich), plain
lines every 10 s when standard error is not a terminal (a CI log), nothing with --quiet.

The numbers come from the run's `.progress.json`, which the recorders rewrite each second: the stage,
users, requests per second and p95 over Locust's last ~10 s, requests and failures so far, elapsed
and planned seconds, the live SLA checks beyond target so far and any abort gate counting down.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

PLAIN_EVERY_S = 10.0
LIVE_EVERY_S = 1.0


def read_progress(run_dir: Path) -> dict:
    try:
        progress = json.loads((run_dir / ".progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return progress if isinstance(progress, dict) else {}


def figures(progress: dict, planned_s: float, elapsed_s: float) -> dict[str, str]:
    """The shown values, as text: the same for the panel and the plain line."""
    planned = progress.get("planned_s") or planned_s
    elapsed = progress.get("elapsed_s", elapsed_s)
    p95 = progress.get("p95_ms")
    return {
        "stage": str(progress.get("stage") or "starting"),
        "users": f"{progress.get('users', 0)}",
        "rps": f"{progress.get('rps', 0):.1f}",
        "p95": f"{p95:g} ms" if p95 else "-",
        "failures": f"{progress.get('failures', 0)} of {progress.get('requests', 0)}",
        "elapsed": f"{elapsed:.0f} s",
        "left": f"{max(0.0, planned - elapsed):.0f} s",
        "checks": f"{progress['beyond_target']} of {progress['checks']}" if "checks" in progress else "-",
        "gates": gate_text(progress),
        "journeys": journey_text(progress),
    }


def journey_text(progress: dict, most: int = 3) -> str:
    """The journeys completing least so far ('run workflow 76 %'), at most `most`; '-' without any."""
    journeys = sorted(progress.get("journeys") or [], key=lambda j: (j["completion_ratio"], j["name"]))
    return ", ".join(f"{j['name']} {j['completion_ratio'] * 100:.0f} %" for j in journeys[:most]) or "-"


def gate_text(progress: dict) -> str:
    """The abort gates counting down ('GET /x p95_ms: stops in 6 s'), or how the run was stopped."""
    if progress.get("aborted"):
        return str(progress["aborted"])
    gates = progress.get("gates") or []
    return "; ".join(f"{g['what']} {g['metric']}: stops in {g['left_s']:.0f} s" for g in gates) or "-"


def progress_line(label: str, shown: dict[str, str]) -> str:
    """`  [smoke 1/1] steady · 12 users · 40.2 req/s · p95 12 ms · 0 of 402 failed · 20 s elapsed, 10 s left`"""
    line = (f"  [{label}] {shown['stage']} · {shown['users']} users · {shown['rps']} req/s · p95 {shown['p95']} · "
            f"{shown['failures']} failed · {shown['elapsed']} elapsed, {shown['left']} left")  # fmt: skip
    if shown["checks"] != "-":
        line += f" · {shown['checks']} checks beyond target"
    if shown["journeys"] != "-":
        line += f" · journeys completed: {shown['journeys']}"
    return line + (f" · gates: {shown['gates']}" if shown["gates"] != "-" else "")


def panel(label: str, shown: dict[str, str]) -> Table:
    table = Table(title=Text(f"swarmgate: {label} · {shown['elapsed']} elapsed"), title_justify="left", expand=False)
    headers = ("stage", "users", "req/s", "p95 (10 s)", "failed", "beyond target", "left")
    for header in headers:
        table.add_column(header, justify="left" if header == "stage" else "right")
    keys = ("stage", "users", "rps", "p95", "failures", "checks", "left")
    table.add_row(*(Text(shown[key]) for key in keys))  # Text: names like /items?id=[id] are not markup
    if shown["journeys"] != "-":
        table.caption = Text(f"journeys completed: {shown['journeys']}")
    if shown["gates"] != "-":
        table.caption = Text(f"abort gates: {shown['gates']}")
        table.caption_style = "bold red"
    return table


class RunConsole:
    """Use as a context manager around the wait for Locust; `show()` is called every `every_s` seconds."""

    def __init__(self, label: str, run_dir: Path, planned_s: float, quiet: bool, stream: TextIO | None = None):
        self.label, self.run_dir, self.planned_s, self.quiet = label, run_dir, planned_s, quiet
        self.stream = stream or sys.stderr
        self.interactive = not quiet and self.stream.isatty()
        self.every_s = LIVE_EVERY_S if self.interactive else PLAIN_EVERY_S
        self.live: Live | None = None

    def __enter__(self) -> RunConsole:
        if self.interactive:
            shown = figures({}, self.planned_s, 0.0)
            self.live = Live(panel(self.label, shown), console=Console(file=self.stream), auto_refresh=False)
            self.live.start()
        return self

    def show(self, elapsed_s: float) -> None:
        if self.quiet:
            return
        shown = figures(read_progress(self.run_dir), self.planned_s, elapsed_s)
        if self.live is not None:
            self.live.update(panel(self.label, shown), refresh=True)
        else:
            print(progress_line(self.label, shown), file=self.stream, flush=True)

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()
