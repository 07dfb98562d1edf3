"""Option groups several commands share, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click


def results_dir_option(help_text: str) -> Callable:
    return click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                        show_default=True, help=help_text)  # fmt: skip


def sla_option(help_text: str) -> Callable:
    return click.option("--sla", "sla_path", type=click.Path(path_type=Path), default=None,
                        help=f"{help_text}; default: ./sla.toml, else the packaged one")  # fmt: skip


def host_option(help_text: str) -> Callable:
    return click.option("--host", default=None, metavar="URL", help=help_text)


locustfile_option = click.option(
    "--locustfile", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="your own locustfile (any Locust locustfile) instead of swarmgate's four demo users",
)  # fmt: skip


def run_options(func: Callable) -> Callable:
    """Settings that act where requests are made: on a run, and on each worker."""
    func = click.option("--request-timeout", "request_timeout_s", type=click.FloatRange(min=0.1, max=600),
                        default=10.0, show_default=True,
                        help="seconds before a request fails as timed out (a hanging target)")(func)  # fmt: skip
    return click.option("--slow-threshold-ms", type=click.FloatRange(min=1), default=1000.0, show_default=True,
                        help="requests slower than this are listed in slow_requests.csv")(func)  # fmt: skip


def metrics_options(func: Callable) -> Callable:
    """The run's live metrics for Prometheus, served by the master (or the single process), never a worker."""
    func = click.option("--metrics-host", default="127.0.0.1", show_default=True, metavar="ADDR",
                        help="the address --metrics-port listens on (elsewhere than loopback, anyone who reaches "
                             "it reads the metrics: there is no login)")(func)  # fmt: skip
    return click.option("--metrics-port", type=click.IntRange(min=0, max=65535), default=0, show_default=True,
                        metavar="PORT", help="serve the run's live metrics for Prometheus at "
                        "http://ADDR:PORT/metrics (0: off)")(func)  # fmt: skip
