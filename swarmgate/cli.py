"""The `swarmgate` command: one console script, subcommands for each job."""

from __future__ import annotations

import os
import socket
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
@click.option("--workers", type=click.IntRange(min=0, max=64), default=0, show_default=True,
              help="run a local master with this many worker processes (0: one process)")  # fmt: skip
@click.option("--request-timeout", "request_timeout_s", type=click.FloatRange(min=0.1, max=600), default=10.0,
              show_default=True, help="seconds before a request fails as timed out (a hanging target)")  # fmt: skip
@click.option("--insecure", is_flag=True,
              help="skip TLS certificate checks for this run only (run.json and the report say so)")  # fmt: skip
@click.option("--master", "as_master", is_flag=True,
              help="multi-host: run the master only; wait for --expect-workers workers from other hosts")  # fmt: skip
@click.option("--expect-workers", type=click.IntRange(min=1, max=1000), default=1, show_default=True,
              help="with --master: how many workers to wait for (up to 60 s)")  # fmt: skip
@click.option("--master-bind", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="with --master: the address workers connect to (the port has no authentication)")  # fmt: skip
@click.option("--master-port", type=click.IntRange(min=1, max=65535), default=5557, show_default=True,
              help="with --master or --worker: the master's port")  # fmt: skip
@click.option("--worker", "as_worker", is_flag=True,
              help="multi-host: run one worker for the master at --master-host (until that run ends)")  # fmt: skip
@click.option("--master-host", default=None, metavar="HOST", help="with --worker: where the master runs")
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
    workers: int,
    request_timeout_s: float,
    insecure: bool,
    as_master: bool,
    expect_workers: int,
    master_bind: str,
    master_port: int,
    as_worker: bool,
    master_host: str | None,
    **knobs,
) -> None:
    """Run SCENARIOS in order (default: smoke) and print where the results are."""
    from analysis.sla import DEFAULT_SLA, load_sla
    from swarmgate.run import DEFAULT_LOCUSTFILE, RunOptions
    from swarmgate.scenarios import load_scenario

    check_secret_files()
    if insecure and (as_master or as_worker):
        raise BadInput("--insecure is for runs on one host (one process or --workers), where the report can say "
                       "so; on several hosts keep TLS verification on")  # fmt: skip
    if as_worker:
        sys.exit(worker_only(master_host, master_port, locustfile, results_dir, scenarios, workers, as_master,
                             request_timeout_s, slow_threshold_ms))  # fmt: skip
    if as_master and len(scenarios) > 1:
        raise BadInput("--master runs one scenario: its workers end with that run; start one master per scenario")
    if as_master and workers:
        raise BadInput("--master waits for workers on other hosts; --workers starts local ones: give one of them")
    if as_master and not host:
        raise BadInput("--master needs --host: workers on other hosts cannot reach a demo on this host's loopback")
    if master_host:
        raise BadInput("--master-host is for --worker; the master binds with --master-bind")
    loaded = [load_scenario(name) for name in (scenarios or ("smoke",))]  # all refused before any runs
    if insecure:
        click.echo("swarmgate: warning: TLS certificates are NOT verified in this run (--insecure)", err=True)
    faults_from_knobs(knobs, "demo-")  # bad knobs are refused now, not by the demo process later
    load_sla(sla_path or DEFAULT_SLA)  # and a bad SLA file before any load is made
    options = RunOptions(
        host=host,
        results_root=results_dir,
        demo_args=demo_args_from(knobs, "demo-"),
        slow_threshold_ms=slow_threshold_ms,
        quiet=quiet,
        locustfile=(locustfile or DEFAULT_LOCUSTFILE).resolve(),
        workers=workers,
        insecure=insecure,
        request_timeout_s=request_timeout_s,
        remote_workers=expect_workers if as_master else 0,
        master_bind=master_bind,
        master_port=master_port,
    )
    sys.exit(run_and_judge(loaded, options, time_scale, sla_path, quiet))


@cli.command()
@click.option("--host", default=None, metavar="URL", help="the API to test; without it the demo target is started")
@click.option("--web-host", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="address of the web UI; other than loopback only with --web-login")  # fmt: skip
@click.option("--web-port", type=click.IntRange(min=1, max=65535), default=8089, show_default=True)
@click.option("--web-login", is_flag=True,
              help="require a login (user SWARMGATE_WEB_USER, password SWARMGATE_WEB_PASSWORD[_FILE])")  # fmt: skip
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="the session's files go to results/web/<run-id>")  # fmt: skip
@click.option("--locustfile", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="your own locustfile instead of locustfiles/locustfile.py")  # fmt: skip
@demo_knob_options("demo-")
def web(host: str | None, web_host: str, web_port: int, web_login: bool, results_dir: Path, locustfile: Path | None,
        **knobs) -> None:  # fmt: skip
    """Locust's web UI with swarmgate's users and shapes (class picker), bound to 127.0.0.1 by default."""
    from swarmgate.run import DEFAULT_LOCUSTFILE, RunOptions
    from swarmgate.web import serve

    faults_from_knobs(knobs, "demo-")
    check_secret_files()
    options = RunOptions(host=host, results_root=results_dir, demo_args=demo_args_from(knobs, "demo-"),
                         locustfile=(locustfile or DEFAULT_LOCUSTFILE).resolve())  # fmt: skip
    sys.exit(serve(options, web_host, web_port, web_login))


def check_secret_files() -> None:
    """A secret named by VAR_FILE must be readable now, not fail later in every user."""
    from locustfiles.auth import SECRET_VARIABLES, from_env

    for name in SECRET_VARIABLES:
        if os.environ.get(f"{name}_FILE") and not os.environ.get(name):
            try:
                if not from_env(name):
                    raise BadInput(f"{name}_FILE={os.environ[f'{name}_FILE']}: the file is empty; put the secret "
                                   "on its first line")  # fmt: skip
            except OSError as exc:
                raise BadInput(f"{name}_FILE: cannot read {os.environ[f'{name}_FILE']} ({exc.strerror}); "
                               "point it at the file holding the secret") from None  # fmt: skip


def worker_only(master_host: str | None, master_port: int, locustfile: Path | None, results_dir: Path,
                scenarios: tuple[str, ...], workers: int, as_master: bool, request_timeout_s: float,
                slow_threshold_ms: float) -> int:  # fmt: skip
    from swarmgate.run import DEFAULT_LOCUSTFILE, RunOptions, run_worker

    if not master_host:
        raise BadInput("--worker needs --master-host HOST (where `swarmgate run --master` runs)")
    if scenarios or workers or as_master:
        raise BadInput("--worker takes no scenarios, --workers or --master: the master decides what runs")
    log_dir = results_dir / "workers" / f"{socket.gethostname()}-{os.getpid()}"
    click.echo(f"swarmgate: worker for {master_host}:{master_port}; logs in {log_dir}", err=True)
    options = RunOptions(request_timeout_s=request_timeout_s, slow_threshold_ms=slow_threshold_ms)
    code = run_worker((locustfile or DEFAULT_LOCUSTFILE).resolve(), master_host, master_port, log_dir, options)
    click.echo(f"swarmgate: worker ended (exit code {code})", err=True)
    return code


def run_and_judge(loaded: list, options, time_scale: float, sla_path: Path | None, quiet: bool) -> int:
    """Run each scenario, analyze it against its baseline into the history; the worst exit code."""
    from analysis.analyze import analyze as analyze_run
    from analysis.sla import DEFAULT_SLA
    from swarmgate.run import run_scenario

    results_dir = options.results_root
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
        if outcome.partial and not outcome.requests:  # interrupted before Locust made (or wrote) anything
            click.echo("swarmgate: the run was interrupted before any request was made; nothing to analyze", err=True)
            worst = max(worst, outcome.exit_code)
            break
        summary, folder = analyze_run(outcome.run_dir, sla_path or DEFAULT_SLA, baseline="auto",
                                      results_root=results_dir, history=results_dir / "history.sqlite")  # fmt: skip
        report_verdict(summary, folder)
        verdict_code = EXIT_FAIL if summary["verdict"] == "fail" else 0
        worst = max(worst, outcome.exit_code, verdict_code)
        if outcome.exit_code >= 130:
            break
    return worst


def write_trend(results_dir: Path, scenario: str | None, last: int | None, sla_path: Path | None,
                out: Path | None) -> tuple[Path, dict]:  # fmt: skip
    from analysis.sla import DEFAULT_SLA, load_sla
    from analysis.trend import trend as trend_of
    from reports.html import trend_html
    from swarmgate.files import write_atomic

    history = results_dir / "history.sqlite"
    if not history.is_file():
        raise InputError(history, "does not exist", "analyze a run first (`swarmgate run` or `swarmgate analyze`)")
    rules = load_sla(sla_path or DEFAULT_SLA).regression
    found = trend_of(history, scenario, last, results_dir, rules)
    if scenario is not None and not found["scenarios"]:
        raise InputError(history, f"holds no runs of scenario '{scenario}'", "check the name, or leave out --scenario")
    path = out or results_dir / "trend.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, trend_html(found))
    return path, found


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the weekly job's configuration (default: weekly.toml)")  # fmt: skip
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="run dirs, baselines, history.sqlite and trend.html")  # fmt: skip
@click.option("--time-scale", type=click.FloatRange(min=0.001, max=100), default=None,
              help="multiply every duration by this (default: the config's time_scale)")  # fmt: skip
@click.option("--sla", "sla_path", type=click.Path(path_type=Path), default=None,
              help="SLA tables each run is judged by; default: sla.toml")  # fmt: skip
@click.option("--quiet", is_flag=True, help="print only results paths and verdicts")
def weekly(config_path: Path | None, results_dir: Path, time_scale: float | None, sla_path: Path | None,
           quiet: bool) -> None:  # fmt: skip
    """The scheduled job: run the configured scenarios against their baselines, record them in the
    history, render trend.html, prune old run dirs; exit with the worst verdict. One at a time."""
    from analysis.sla import DEFAULT_SLA, load_sla
    from swarmgate.run import DEFAULT_LOCUSTFILE, RunOptions
    from swarmgate.scenarios import load_scenario
    from swarmgate.weekly import DEFAULT_CONFIG, WeeklyLock, load_config, prune

    check_secret_files()
    config = load_config(config_path or DEFAULT_CONFIG)
    loaded = [load_scenario(name) for name in config.scenarios]  # all refused before any runs
    load_sla(sla_path or DEFAULT_SLA)
    options = RunOptions(host=config.host, results_root=results_dir, quiet=quiet, workers=config.workers,
                         locustfile=DEFAULT_LOCUSTFILE)  # fmt: skip
    worst = 0
    with WeeklyLock(results_dir):
        for index, scenario in enumerate(loaded, 1):
            if not quiet:
                click.echo(f"swarmgate weekly: scenario {index} of {len(loaded)}: {scenario.name}", err=True)
            try:
                code = run_and_judge([scenario], options, time_scale or config.time_scale, sla_path, quiet)
            except (SwarmgateError, InputError) as exc:  # e.g. a damaged baseline: said; the others still run
                click.echo(f"swarmgate: {exc.message}", err=True)
                code = exc.exit_code
            worst = max(worst, code)
            if code >= 130:
                break
        if (results_dir / "history.sqlite").is_file():
            path, found = write_trend(results_dir, None, None, sla_path, None)
            click.echo(f"trend: {path} ({sum(len(s['runs']) for s in found['scenarios'])} runs in the history)")
        removed = prune(results_dir, config.keep_runs, config.keep_days)
        click.echo(f"pruned: {len(removed)} run dir(s) beyond the newest {config.keep_runs} per scenario and older "
                   f"than {config.keep_days:g} days (history rows and baselines kept)")  # fmt: skip
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
    path, found = write_trend(results_dir, scenario, last, sla_path, out)
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
    except (SwarmgateError, InputError) as exc:
        if debug:
            raise
        click.echo(f"swarmgate: {exc.message}", err=True)
        sys.exit(exc.exit_code)
