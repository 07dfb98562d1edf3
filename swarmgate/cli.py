"""The `swarmgate` command: commands parse their options, call a job, and print. Nothing else."""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path

import click
from click.exceptions import NoArgsIsHelpError

from swarmgate.core.errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_RUN, EXIT_USAGE, SwarmgateError
from swarmgate.demo.cli import demo, demo_args_from, demo_knob_options, faults_from_knobs
from swarmgate.options import (
    host_option,
    locustfile_option,
    metrics_options,
    results_dir_option,
    run_options,
    sla_option,
)

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SPACE_OR_PERMISSION = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="swarmgate")
@click.option("--debug", is_flag=True, envvar="SWARMGATE_DEBUG", help="show the traceback of an error")
def cli(debug: bool) -> None:
    """swarmgate: load tests with verdicts. Start with `swarmgate run` (the smoke scenario on the demo)."""


@cli.command()
@click.argument("scenarios", nargs=-1)
@host_option("the API to test; without it the embedded demo target is started on 127.0.0.1")
@results_dir_option("where run directories are written")
@run_options
@click.option("--time-scale", type=click.FloatRange(min=0.001, max=100), default=1.0, show_default=True,
              help="multiply every duration by this (e.g. 0.1 for a quick try); recorded in run.json")  # fmt: skip
@locustfile_option
@sla_option("SLA tables each run is judged by (live too: checks and abort gates)")
@click.option("--no-abort", is_flag=True, help="never stop a run early: the SLA file's abort_after gates only judge")
@click.option("--quiet", is_flag=True, help="print only the results path")
@click.option("--workers", type=click.IntRange(min=0, max=64), default=0, show_default=True,
              help="run a local master with this many worker processes (0: one process)")  # fmt: skip
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
@metrics_options
@click.option("--prometheus", default=None, metavar="URL",
              help="read the [[server]] queries of the SLA file from this Prometheus server over the run "
                   "(bearer token: SWARMGATE_METRICS_TOKEN or _FILE)")  # fmt: skip
@click.option("--prometheus-step", "prometheus_step_s", type=click.FloatRange(min=1, max=3600), default=5.0,
              show_default=True, help="with --prometheus: seconds between the values asked for")  # fmt: skip
@click.option("--scrape", default=None, metavar="URL",
              help="read the target's /metrics every second during the run (default: the demo's)")  # fmt: skip
@demo_knob_options("demo-")
def run(scenarios: tuple[str, ...], host: str | None, results_dir: Path, slow_threshold_ms: float,
        request_timeout_s: float, time_scale: float, locustfile: Path | None, sla_path: Path | None,
        no_abort: bool, quiet: bool, workers: int, insecure: bool, as_master: bool, expect_workers: int,
        master_bind: str, master_port: int, as_worker: bool, master_host: str | None, metrics_port: int,
        metrics_host: str, prometheus: str | None, prometheus_step_s: float, scrape: str | None,
        **knobs) -> None:  # fmt: skip
    """Run SCENARIOS in order (default: smoke) and print where the results are."""
    from swarmgate import jobs
    from swarmgate.analysis.sla import load_sla
    from swarmgate.core.defaults import default_file
    from swarmgate.locustfile import bind
    from swarmgate.run import RunOptions, check_metrics_port
    from swarmgate.scenarios import load_scenario

    jobs.check_secret_files()
    if insecure and (as_master or as_worker):
        raise click.UsageError("--insecure is for runs on one host (one process or --workers), where the report can "
                               "say so; on several hosts keep TLS verification on")  # fmt: skip
    if as_worker:
        if not master_host:
            raise click.UsageError("--worker needs --master-host HOST (where `swarmgate run --master` runs)")
        if scenarios or workers or as_master:
            raise click.UsageError("--worker takes no scenarios, --workers or --master: the master decides what runs")
        if metrics_port:
            raise click.UsageError("--metrics-port is for the master: it serves the whole run's metrics, a worker none")
        options = RunOptions(request_timeout_s=request_timeout_s, slow_threshold_ms=slow_threshold_ms)
        sys.exit(jobs.worker_only(master_host, master_port, locustfile, results_dir, options))
    check_metrics_port(metrics_host, metrics_port)
    if as_master and len(scenarios) > 1:
        raise click.UsageError("--master runs one scenario: its workers end with that run; start one master each")
    if as_master and workers:
        raise click.UsageError("--master waits for workers on other hosts; --workers starts local ones: give one")
    if as_master and not host:
        raise click.UsageError("--master needs --host: workers on other hosts cannot reach a demo on this loopback")
    if master_host:
        raise click.UsageError("--master-host is for --worker; the master binds with --master-bind")
    loaded = [load_scenario(name) for name in (scenarios or ("smoke",))]  # all refused before any runs
    faults_from_knobs(knobs, "demo-")  # bad knobs are refused now, not by the demo process later
    sla_file = default_file("sla.toml", sla_path)
    sla = load_sla(sla_file)  # and a bad SLA file before any load is made
    loaded = [bind(scenario, locustfile) for scenario in loaded]  # unknown classes, a broken locustfile
    if insecure:
        click.echo("swarmgate: warning: TLS certificates are NOT verified in this run (--insecure)", err=True)
    options = RunOptions(host=host, results_root=results_dir, demo_args=demo_args_from(knobs, "demo-"),
                         slow_threshold_ms=slow_threshold_ms, quiet=quiet, locustfile=locustfile,
                         workers=workers, insecure=insecure, request_timeout_s=request_timeout_s,
                         remote_workers=expect_workers if as_master else 0, master_bind=master_bind,
                         master_port=master_port, sla_file=sla_file, abort=not no_abort, metrics_port=metrics_port,
                         metrics_host=metrics_host, prometheus=prometheus, prometheus_step_s=prometheus_step_s,
                         scrape=scrape, server_rules=sla.server)  # fmt: skip
    sys.exit(jobs.run_and_judge(loaded, options, time_scale, sla_path, quiet))


@cli.command()
@host_option("the API to test; without it the demo target is started")
@click.option("--web-host", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="address of the web UI; other than loopback only with --web-login")  # fmt: skip
@click.option("--web-port", type=click.IntRange(min=1, max=65535), default=8089, show_default=True)
@click.option("--web-login", is_flag=True,
              help="require a login (user SWARMGATE_WEB_USER, password SWARMGATE_WEB_PASSWORD[_FILE])")  # fmt: skip
@results_dir_option("the session's files go to results/web/<run-id>")
@locustfile_option
@sla_option("SLA tables of the live tab, the abort gates and each test's report")
@click.option("--no-abort", is_flag=True, help="never stop a test early: the SLA file's abort_after gates only judge")
@metrics_options
@demo_knob_options("demo-")
def web(host: str | None, web_host: str, web_port: int, web_login: bool, results_dir: Path, locustfile: Path | None,
        sla_path: Path | None, no_abort: bool, metrics_port: int, metrics_host: str, **knobs) -> None:  # fmt: skip
    """Locust's web UI with swarmgate's users and shapes (class picker), bound to 127.0.0.1 by default."""
    from swarmgate.analysis.sla import load_sla
    from swarmgate.core.defaults import default_file
    from swarmgate.jobs import check_secret_files
    from swarmgate.run import RunOptions
    from swarmgate.web import serve

    faults_from_knobs(knobs, "demo-")
    check_secret_files()
    sla_file = default_file("sla.toml", sla_path)
    load_sla(sla_file)  # a bad SLA file is refused before the UI starts
    options = RunOptions(host=host, results_root=results_dir, demo_args=demo_args_from(knobs, "demo-"),
                         locustfile=locustfile, sla_file=sla_file, abort=not no_abort, metrics_port=metrics_port,
                         metrics_host=metrics_host)  # fmt: skip
    sys.exit(serve(options, web_host, web_port, web_login))


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the weekly job's configuration (default: ./weekly.toml, else the packaged one)")  # fmt: skip
@results_dir_option("run dirs, baselines, history.sqlite and trend.html")
@click.option("--time-scale", type=click.FloatRange(min=0.001, max=100), default=None,
              help="multiply every duration by this (default: the config's time_scale)")  # fmt: skip
@sla_option("SLA tables each run is judged by")
@click.option("--quiet", is_flag=True, help="print only results paths and verdicts")
def weekly(config_path: Path | None, results_dir: Path, time_scale: float | None, sla_path: Path | None,
           quiet: bool) -> None:  # fmt: skip
    """The scheduled job: run the configured scenarios against their baselines, record them in the
    history, render trend.html, prune old run dirs; exit with the worst verdict. One at a time."""
    from swarmgate.jobs import weekly_job
    from swarmgate.run import RunOptions

    options = RunOptions(results_root=results_dir, quiet=quiet, locustfile=None)
    sys.exit(weekly_job(config_path, options, time_scale, sla_path))


@cli.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Write a starter project for your API into DIRECTORY (default: here): a locustfile, scenarios,
    sla.toml, weekly.toml and a CI workflow. Overwrites nothing."""
    from swarmgate.init_project import init_project

    for path in init_project(directory):
        click.echo(f"wrote {path}")
    where = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"next: {where}swarmgate run smoke --host https://your-api.example  (edit locustfile.py first; "
               "set min_rps in sla.toml)")  # fmt: skip
    if directory != Path("."):
        click.echo(f"CI: move {directory / '.github'} to your repository's root (GitHub runs workflows from there "
                   "only) and check LOAD_TEST_DIR in it")  # fmt: skip


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@sla_option("SLA tables (TOML)")
@click.option("--profile", default=None, help="SLA profile (default: the scenario's `sla`, else its name)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write summary.json, junit.xml, summary.md and report.html here, not next to the run")  # fmt: skip
@click.option("--baseline", default=None, metavar="auto|RUN",
              help="compare with the scenario's promoted baseline (auto) or with another run")  # fmt: skip
@click.option("--force", is_flag=True, help="compare even when the runs are not comparable (said in the summary)")
@results_dir_option("where baselines (results/baselines/) and history.sqlite live")
def analyze(run_path: Path, sla_path: Path | None, profile: str | None, out_dir: Path | None, baseline: str | None,
            force: bool, results_dir: Path) -> None:  # fmt: skip
    """Judge RUN (a results dir, or a stock Locust --csv PREFIX) against the SLA; exit 1 on a fail."""
    from swarmgate.jobs import report_verdict
    from swarmgate.pipeline import analyze_and_write

    summary, folder = analyze_and_write(run_path, sla_path, out_dir, profile, baseline, force, results_dir,
                                        results_dir / "history.sqlite")  # fmt: skip
    report_verdict(summary, folder)
    sys.exit(EXIT_FAIL if summary["verdict"] == "fail" else 0)


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the report here (default: report.html in the run dir)")  # fmt: skip
def report(run_path: Path, out: Path | None) -> None:
    """Render report.html again from an analyzed RUN's own files (no network, no history needed)."""
    from swarmgate.pipeline import render_report

    click.echo(f"report: {render_report(run_path, out)}")


@cli.command()
@click.option("--scenario", default=None, help="only this scenario (default: every scenario in the history)")
@click.option("--last", type=click.IntRange(min=1), default=None, help="only the last N runs of each scenario")
@results_dir_option("where history.sqlite and baselines/ live")
@sla_option("SLA tables whose [regression] minimums bound the noise band")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the trend report here (default: trend.html in the results dir)")  # fmt: skip
def trend(scenario: str | None, last: int | None, results_dir: Path, sla_path: Path | None, out: Path | None) -> None:
    """Render trend.html: per-endpoint p95, error ratio and rps across the runs in the history."""
    from swarmgate.jobs import write_trend

    path, found = write_trend(results_dir, scenario, last, sla_path, out)
    runs = sum(len(s["runs"]) for s in found["scenarios"])
    flagged = sum(s["flagged"] for s in found["scenarios"])
    click.echo(f"trend: {len(found['scenarios'])} scenario(s), {runs} run(s), {flagged} change(s) beyond the noise "
               "band")  # fmt: skip
    click.echo(f"report: {path}")


@cli.group()
def baseline() -> None:
    """Promoted baselines: the reference run each scenario is compared with."""


@baseline.command("promote")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="replace the scenario's current baseline (never done silently)")
@results_dir_option("baselines go to results/baselines/<scenario>")
def promote(run_path: Path, replace: bool, results_dir: Path) -> None:
    """Store RUN as its scenario's baseline."""
    from swarmgate.analysis.baseline import promote as promote_run

    click.echo(f"baseline: {promote_run(run_path, results_dir, replace)}")


cli.add_command(demo)


def say_error(message: str, *, loud: bool = False) -> None:
    """One line on stderr, whatever the message holds (control characters from a file name are escaped);
    loud: in red (the system under test may be left broken)."""
    line = "swarmgate: " + CONTROL.sub(lambda found: repr(found.group())[1:-1], message)
    click.secho(line, err=True, fg="red" if loud else None, bold=loud)


def os_error_line(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    fix = "; free some space or check permissions" if exc.errno in SPACE_OR_PERMISSION else ""
    return f"{where}{exc.strerror or exc}{fix}"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors and our own errors become one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = False
    try:
        with cli.make_context("swarmgate", list(args)) as ctx:
            debug = ctx.params.get("debug", False)
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        say_error("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except NoArgsIsHelpError as exc:  # `swarmgate` or `swarmgate baseline` alone: the help, as --help gives it
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.UsageError as exc:
        say_error(f"{exc.format_message()} (see: {exc.ctx.command_path if exc.ctx else 'swarmgate'} --help)")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        say_error(exc.format_message())
        sys.exit(exc.exit_code)
    except SwarmgateError as exc:
        if debug:
            raise
        say_error(exc.message, loud=getattr(exc, "loud", False))
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # e.g. `swarmgate run | head -1`: the reader left; nothing to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error while exiting
        sys.exit(EXIT_RUN)
    except OSError as exc:  # an output that could not be written, wherever: one line, exit 3
        if debug:
            raise
        say_error(os_error_line(exc))
        sys.exit(EXIT_RUN)
