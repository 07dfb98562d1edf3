"""The `swarmgate` command: one console script, subcommands for each job."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from analysis.errors import InputError
from demo.faults import Faults, FaultSpecError, parse_route_value
from swarmgate.errors import EXIT_FAIL, EXIT_USAGE, BadInput, SwarmgateError

DEMO_KNOBS: list[tuple[str, dict]] = [
    (
        "--latency",
        {
            "multiple": True,
            "metavar": "ROUTE=MS",
            "help": "extra latency per route, e.g. 'GET /api/workspaces=200' or '*=20'",
        },
    ),
    ("--error-ratio", {"multiple": True, "metavar": "ROUTE=R", "help": "share of requests answered with 500"}),
    (
        "--bad-body-ratio",
        {"multiple": True, "metavar": "ROUTE=R", "help": "share of 2xx answers with a body of the wrong shape"},
    ),
    (
        "--max-concurrency",
        {
            "type": int,
            "default": 0,
            "metavar": "N",
            "help": "requests handled at once; more wait in a queue (0: no limit)",
        },
    ),
    (
        "--leak-kb-per-request",
        {"type": float, "default": 0.0, "metavar": "KB", "help": "memory kept forever per request: a known leak"},
    ),
    ("--seed", {"type": int, "default": None, "help": "seed for the random fault knobs"}),
]


def demo_knob_options(prefix: str) -> Callable:
    """The demo's fault knobs, as `--latency` on `swarmgate demo` and `--demo-latency` on `swarmgate run`."""

    def decorate(func: Callable) -> Callable:
        for flag, kwargs in reversed(DEMO_KNOBS):
            func = click.option(f"--{prefix}{flag[2:]}" if prefix else flag, **kwargs)(func)
        return func

    return decorate


def faults_from_knobs(values: dict, prefix: str) -> Faults:
    """Parse the knobs into the demo's Faults; a bad knob is one line and exit 2."""
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
            seed=values[f"{key}seed"],
        )
    except FaultSpecError as exc:
        raise BadInput(str(exc)) from None


def demo_args_from(values: dict, prefix: str) -> list[str]:
    """Turn parsed knob values back into `python -m demo` arguments (no shell is involved)."""
    args: list[str] = []
    for flag, kwargs in DEMO_KNOBS:
        value = values.get(f"{prefix}{flag[2:]}".replace("-", "_"))
        if kwargs.get("multiple"):
            for item in value or ():
                args += [flag, item]
        elif value not in (None, 0, 0.0):
            args += [flag, str(value)]
    return args


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="swarmgate")
def cli() -> None:
    """swarmgate: load tests with verdicts. Start with `swarmgate run` (the smoke scenario on the demo)."""


@cli.command()
@click.argument("scenarios", nargs=-1)
@click.option(
    "--host",
    default=None,
    metavar="URL",
    help="the API to test; without it the embedded demo target is started on 127.0.0.1",
)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="where run directories are written",
)
@click.option(
    "--slow-threshold-ms",
    type=click.FloatRange(min=1),
    default=1000.0,
    show_default=True,
    help="requests slower than this are listed in slow_requests.csv",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001, max=100),
    default=1.0,
    show_default=True,
    help="multiply every duration by this (e.g. 0.1 for a quick try); recorded in run.json",
)
@click.option(
    "--locustfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="your own locustfile instead of locustfiles/locustfile.py (import locustfiles.recorders in it)",
)
@click.option("--sla", "sla_path", type=click.Path(path_type=Path), default=None,
              help="SLA tables each run is judged by; default: sla.toml")  # fmt: skip
@click.option("--quiet", is_flag=True, help="print only the results path")
@demo_knob_options("demo-")
def run(
    scenarios: tuple[str, ...],
    host: str | None,
    results_dir: Path,
    slow_threshold_ms: float,
    time_scale: float,
    locustfile: Path | None,
    sla_path: Path | None,
    quiet: bool,
    **knobs,
) -> None:
    """Run SCENARIOS in order (default: smoke) and print where the results are."""
    from analysis.analyze import analyze as analyze_run
    from analysis.sla import DEFAULT_SLA, load_sla
    from swarmgate.run import DEFAULT_LOCUSTFILE, RunOptions, run_scenario
    from swarmgate.scenarios import load_scenario

    loaded = [load_scenario(name) for name in (scenarios or ("smoke",))]  # all refused before any runs
    faults_from_knobs(knobs, "demo-")  # bad knobs are refused now, not by the demo process later
    load_sla(sla_path or DEFAULT_SLA)  # and a bad SLA file before any load is made
    options = RunOptions(
        host=host,
        results_root=results_dir,
        demo_args=demo_args_from(knobs, "demo-"),
        slow_threshold_ms=slow_threshold_ms,
        quiet=quiet,
        locustfile=(locustfile or DEFAULT_LOCUSTFILE).resolve(),
    )
    worst = 0
    for index, scenario in enumerate(loaded, 1):
        label = f"{scenario.name} {index}/{len(loaded)}"
        if len(loaded) > 1 and not quiet:
            click.echo(f"swarmgate: scenario {index} of {len(loaded)}: {scenario.name}", err=True)
        outcome = run_scenario(scenario.scaled(time_scale), options, label)
        classes = ", ".join(f"{name} {count}" for name, count in sorted(outcome.by_user_class.items()))
        if not quiet:
            click.echo(
                f"swarmgate: {outcome.requests} requests ({classes or 'no user classes'}), "
                f"{outcome.failures} failures{' — PARTIAL run' if outcome.partial else ''}",
                err=True,
            )
        if outcome.arrival_rate and not quiet:
            rate = outcome.arrival_rate
            kept = "kept up" if rate["kept_up"] else "COULD NOT KEEP UP"
            click.echo(f"swarmgate: arrival rate {rate['achieved_per_s']}/s of {rate['target_per_s']:g}/s intended "
                       f"({kept}: {rate['late']} late starts, {rate['dropped']} dropped)", err=True)  # fmt: skip
        if outcome.exceptions:
            click.echo(f"swarmgate: warning: {outcome.exceptions} exceptions in user code; "
                       f"see {outcome.run_dir / 'locust_exceptions.csv'}", err=True)  # fmt: skip
        click.echo(f"results: {outcome.run_dir}")
        summary, folder = analyze_run(outcome.run_dir, sla_path or DEFAULT_SLA, baseline="auto",
                                      results_root=results_dir, history=results_dir / "history.sqlite")  # fmt: skip
        report_verdict(summary, folder)
        verdict_code = EXIT_FAIL if summary["verdict"] == "fail" else 0
        worst = max(worst, outcome.exit_code, verdict_code)
        if outcome.exit_code >= 130:
            break
    sys.exit(worst)


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--sla", "sla_path", type=click.Path(path_type=Path), default=None,
              help="SLA tables (TOML); default: sla.toml")  # fmt: skip
@click.option("--profile", default=None, help="SLA profile (default: the scenario's `sla`, else its name)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write summary.json, junit.xml, summary.md and report.html here, not next to the run")  # fmt: skip
@click.option("--baseline", default=None, metavar="auto|RUN",
              help="compare with the scenario's promoted baseline (auto) or with another run")  # fmt: skip
@click.option("--force", is_flag=True, help="compare even when the runs are not comparable (said in the summary)")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="where baselines (results/baselines/) and history.sqlite live")  # fmt: skip
def analyze(run_path: Path, sla_path: Path | None, profile: str | None, out_dir: Path | None, baseline: str | None,
            force: bool, results_dir: Path) -> None:  # fmt: skip
    """Judge RUN (a results dir, or a stock Locust --csv PREFIX) against the SLA; exit 1 on a fail."""
    from analysis.analyze import analyze as analyze_run
    from analysis.sla import DEFAULT_SLA

    summary, folder = analyze_run(run_path, sla_path or DEFAULT_SLA, out_dir, profile, baseline, force, results_dir,
                                  results_dir / "history.sqlite")  # fmt: skip
    report_verdict(summary, folder)
    sys.exit(EXIT_FAIL if summary["verdict"] == "fail" else 0)


def report_verdict(summary: dict, folder: Path) -> None:
    checks = summary["checks"]
    worst = [c for c in checks if c["status"] == summary["verdict"] and c["status"] != "pass"]
    why = f": {worst[0]['message']}" + (f" (and {len(worst) - 1} more)" if len(worst) > 1 else "") if worst else ""
    click.echo(f"verdict: {summary['verdict'].upper()} ({len(checks)} checks){why}")
    for note in summary["not_computed"]:
        click.echo(f"  not computed: {note}", err=True)
    if summary.get("baseline"):
        base = summary["baseline"]
        click.echo(f"baseline: {base['run_id']}: {base['regressions']} regression(s)")
        for note in base["notes"]:
            click.echo(f"  note: {note}", err=True)
    click.echo(f"summary: {folder / 'summary.json'}")
    click.echo(f"report: {folder / 'report.html'}")


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the report here (default: report.html in the run dir)")  # fmt: skip
def report(run_path: Path, out: Path | None) -> None:
    """Render report.html again from an analyzed RUN's own files (no network, no history needed)."""
    from analysis.analyze import render_report

    click.echo(f"report: {render_report(run_path, out)}")


@cli.command()
@click.option("--scenario", default=None, help="only this scenario (default: every scenario in the history)")
@click.option("--last", type=click.IntRange(min=1), default=None, help="only the last N runs of each scenario")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="where history.sqlite and baselines/ live")  # fmt: skip
@click.option("--sla", "sla_path", type=click.Path(path_type=Path), default=None,
              help="SLA tables whose [regression] minimums bound the noise band; default: sla.toml")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the trend report here (default: trend.html in the results dir)")  # fmt: skip
def trend(scenario: str | None, last: int | None, results_dir: Path, sla_path: Path | None, out: Path | None) -> None:
    """Render trend.html: per-endpoint p95, error ratio and rps across the runs in the history."""
    from analysis.analyze import write_atomically
    from analysis.sla import DEFAULT_SLA, load_sla
    from analysis.trend import trend as trend_of
    from reports.html import trend_html

    history = results_dir / "history.sqlite"
    if not history.is_file():
        raise InputError(history, "does not exist", "analyze a run first (`swarmgate run` or `swarmgate analyze`)")
    rules = load_sla(sla_path or DEFAULT_SLA).regression
    found = trend_of(history, scenario, last, results_dir, rules)
    if scenario is not None and not found["scenarios"]:
        raise InputError(history, f"holds no runs of scenario '{scenario}'", "check the name, or leave out --scenario")
    path = out or results_dir / "trend.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, trend_html(found))
    runs = sum(len(s["runs"]) for s in found["scenarios"])
    flagged = sum(s["flagged"] for s in found["scenarios"])
    click.echo(
        f"trend: {len(found['scenarios'])} scenario(s), {runs} run(s), {flagged} change(s) beyond the noise band"
    )
    click.echo(f"report: {path}")


@cli.group()
def baseline() -> None:
    """Promoted baselines: the reference run each scenario is compared with."""


@baseline.command("promote")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="replace the scenario's current baseline (never done silently)")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="baselines go to results/baselines/<scenario>")  # fmt: skip
def promote(run_path: Path, replace: bool, results_dir: Path) -> None:
    """Store RUN as its scenario's baseline."""
    from analysis.baseline import promote as promote_run

    target = promote_run(run_path, results_dir, replace)
    click.echo(f"baseline: {target}")


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="port to listen on (0: a free one, written to --port-file)",
)
@click.option("--bind", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("results/demo/demo.sqlite"),
    show_default=True,
    help="the SQLite database file",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the port here once listening",
)
@demo_knob_options("")
def demo(port: int, bind: str, db: Path, port_file: Path | None, **knobs) -> None:
    """Serve the embedded demo API until Ctrl-C (accounts: demo / admin, passwords from the environment)."""
    from demo.server import serve

    faults = faults_from_knobs(knobs, "")
    try:
        serve(port, db, faults, bind=bind, port_file=port_file)
    except OSError as exc:
        raise BadInput(
            f"swarmgate demo: cannot listen on {bind}:{port} ({exc.strerror}); pick another --port (0 picks a free one)"
        ) from None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors and our own errors become one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
    try:
        cli.main(args=args, prog_name="swarmgate", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("swarmgate: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see: swarmgate {exc.ctx.info_name if exc.ctx else ''} --help)".replace("  ", " ")
        click.echo(f"swarmgate: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"swarmgate: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except SwarmgateError as exc:
        if debug:
            raise
        click.echo(f"swarmgate: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except InputError as exc:
        if debug:
            raise
        click.echo(f"swarmgate: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
