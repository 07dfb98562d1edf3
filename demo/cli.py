"""The demo's command line: `swarmgate demo` and `python -m swarmgate.demo`, and its fault knobs,
which `swarmgate run` and `swarmgate web` also offer as `--demo-*` options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from swarmgate.core.net import LOOPBACK
from swarmgate.demo.faults import Faults, FaultSpecError, parse_route_value

DEMO_KNOBS: list[tuple[str, dict]] = [
    ("--latency", {"multiple": True, "metavar": "ROUTE=MS",
                   "help": "extra latency per route, e.g. 'GET /api/workspaces=200' or '*=20'"}),
    ("--error-ratio", {"multiple": True, "metavar": "ROUTE=R", "help": "share of requests answered with 500"}),
    ("--bad-body-ratio", {"multiple": True, "metavar": "ROUTE=R",
                          "help": "share of 2xx answers with a body of the wrong shape"}),
    ("--max-concurrency", {"type": click.IntRange(min=0), "default": 0, "metavar": "N",
                           "help": "requests handled at once; more wait in a queue (0: no limit)"}),
    ("--leak-kb-per-request", {"type": click.FloatRange(min=0), "default": 0.0, "metavar": "KB",
                               "help": "memory kept forever per request: a known leak"}),
    ("--cache-size", {"type": click.IntRange(min=0, max=10_000_000), "default": 1024, "metavar": "N",
                      "help": "sessions the demo's cache holds (fewer than the users lowers its hit ratio; 0: none)"}),
    ("--memory-limit-mb", {"type": click.FloatRange(min=1, max=1_000_000), "default": 512.0, "metavar": "MB",
                           "help": "the memory limit its /metrics reports usage against (like a container's)"}),
    ("--stuck-execution-ratio", {"type": click.FloatRange(0, 1), "default": 0.0, "metavar": "R",
                                 "help": "share of executions that never finish (every request still answers 200)"}),
    ("--seed", {"type": int, "default": None, "help": "seed for the random fault knobs"}),
]  # fmt: skip


def demo_knob_options(prefix: str) -> Callable:
    """The knobs as options: `--latency` on `swarmgate demo`, `--demo-latency` with prefix 'demo-'."""

    def decorate(func: Callable) -> Callable:
        for flag, kwargs in reversed(DEMO_KNOBS):
            func = click.option(f"--{prefix}{flag[2:]}", **kwargs)(func)
        return func

    return decorate


def faults_from_knobs(values: dict, prefix: str) -> Faults:
    """Parse the knobs into the demo's Faults; a bad knob is a usage error (one line, exit 2)."""
    key = prefix.replace("-", "_")
    try:
        return Faults(
            latency_ms=[parse_route_value(s, kind=f"--{prefix}latency") for s in values[f"{key}latency"]],
            error_ratio=[
                parse_route_value(s, kind=f"--{prefix}error-ratio", upper=1) for s in values[f"{key}error_ratio"]
            ],
            bad_body_ratio=[
                parse_route_value(s, kind=f"--{prefix}bad-body-ratio", upper=1) for s in values[f"{key}bad_body_ratio"]
            ],
            max_concurrency=values[f"{key}max_concurrency"],
            leak_kb_per_request=values[f"{key}leak_kb_per_request"],
            cache_size=values[f"{key}cache_size"],
            memory_limit_mb=values[f"{key}memory_limit_mb"],
            stuck_execution_ratio=values[f"{key}stuck_execution_ratio"],
            seed=values[f"{key}seed"],
        )
    except FaultSpecError as exc:
        raise click.UsageError(str(exc)) from None


def demo_args_from(values: dict, prefix: str) -> list[str]:
    """Turn parsed knob values back into `python -m swarmgate.demo` arguments (no shell is involved)."""
    args: list[str] = []
    for flag, kwargs in DEMO_KNOBS:
        value = values.get(f"{prefix}{flag[2:]}".replace("-", "_"))
        if kwargs.get("multiple"):
            for item in value or ():
                args.append(f"{flag}={item}")
        elif value is not None and value != kwargs.get("default"):
            args.append(f"{flag}={value}")
    return args


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="port to listen on (0: a free one, written to --port-file)")  # fmt: skip
@click.option("--bind", default=LOOPBACK, show_default=True, help="address to listen on")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("results/demo/demo.sqlite"),
              show_default=True, help="the SQLite database file")  # fmt: skip
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the port here once listening")  # fmt: skip
@demo_knob_options("")
def demo(port: int, bind: str, db: Path, port_file: Path | None, **knobs) -> None:
    """Serve the embedded demo API until Ctrl-C (accounts: demo / admin, passwords from the environment)."""
    from swarmgate.demo.server import serve

    faults = faults_from_knobs(knobs, "")
    try:
        serve(port, db, faults, bind=bind, port_file=port_file)
    except OSError as exc:
        raise click.UsageError(
            f"cannot listen on {bind}:{port} ({exc.strerror}); pick another --port (0 picks a free one)"
        ) from None
