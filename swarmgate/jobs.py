"""The jobs the commands start: run and judge scenarios, the weekly job, a worker, the trend page.

Console lines go to stderr; the paths a script wants (results, summary, report) go to stdout.
"""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import click

from swarmgate.analysis.sla import load_sla
from swarmgate.analysis.trend import trend as trend_of
from swarmgate.core.defaults import default_file
from swarmgate.core.errors import EXIT_FAIL, BadInput, InputError, SwarmgateError
from swarmgate.core.files import write_atomic
from swarmgate.faults import pending_undos
from swarmgate.locustfile import bind, inspect_locustfile
from swarmgate.locustfiles.auth import SECRET_VARIABLES, from_env
from swarmgate.pipeline import analyze_and_write
from swarmgate.reports.html import trend_html
from swarmgate.run import RunOptions, run_scenario, run_worker
from swarmgate.scenarios import Scenario, load_scenario
from swarmgate.weekly import WeeklyLock, load_config, prune


def check_secret_files() -> None:
    """A secret named by VAR_FILE must be readable now, not fail later in every user."""
    for name in SECRET_VARIABLES:
        if os.environ.get(f"{name}_FILE") and not os.environ.get(name):
            try:
                if not from_env(name):
                    raise BadInput(f"{name}_FILE={os.environ[f'{name}_FILE']}: the file is empty; put the secret "
                                   "on its first line")  # fmt: skip
            except OSError as exc:
                raise BadInput(f"{name}_FILE: cannot read {os.environ[f'{name}_FILE']} ({exc.strerror}); "
                               "point it at the file holding the secret") from None  # fmt: skip


def worker_only(master_host: str, master_port: int, locustfile: Path | None, results_dir: Path,
                options: RunOptions) -> int:  # fmt: skip
    """A worker for a master on another host; its logs go to results/workers/<host>-<pid>/."""
    locustfile = inspect_locustfile(locustfile).path  # one that cannot be imported is refused first
    log_dir = results_dir / "workers" / f"{socket.gethostname()}-{os.getpid()}"
    click.echo(f"swarmgate: worker for {master_host}:{master_port}; logs in {log_dir}", err=True)
    code = run_worker(locustfile, master_host, master_port, log_dir, options)
    click.echo(f"swarmgate: worker ended (exit code {code})", err=True)
    return code


def print_outcome(outcome, quiet: bool) -> None:
    if not quiet:
        classes = ", ".join(f"{name} {count}" for name, count in sorted(outcome.by_user_class.items()))
        ending = " — PARTIAL run" if outcome.partial else ""
        ending = " — stopped by an abort gate" if outcome.status == "aborted" else ending
        click.echo(f"swarmgate: {outcome.requests} requests ({classes or 'no user classes'}), "
                   f"{outcome.failures} failures{ending}", err=True)  # fmt: skip
    if outcome.arrival_rate and not quiet:
        rate = outcome.arrival_rate
        kept = "kept up" if rate["kept_up"] else "COULD NOT KEEP UP"
        click.echo(f"swarmgate: arrival rate {rate['achieved_per_s']}/s of {rate['target_per_s']:g}/s intended "
                   f"({kept}: {rate['late']} late starts, {rate['dropped']} dropped)", err=True)  # fmt: skip
    if outcome.exceptions:
        click.echo(f"swarmgate: warning: {outcome.exceptions} exceptions in user code; "
                   f"see {outcome.run_dir / 'locust_exceptions.csv'}", err=True)  # fmt: skip
    click.echo(f"results: {outcome.run_dir}")


def run_and_judge(loaded: list[Scenario], options: RunOptions, time_scale: float, sla_path: Path | None,
                  quiet: bool) -> int:  # fmt: skip
    """Run each scenario, analyze it against its baseline into the history; the worst exit code."""
    results_dir = options.results_root
    for line in pending_undos(results_dir):  # a fault a killed run left on: say it before anything else
        click.secho(f"swarmgate: WARNING: {line}", err=True, fg="red", bold=True)
    for scenario in loaded:  # refused before any of them runs
        scenario.scaled(time_scale).check_faults_fit()
    worst = 0
    for index, scenario in enumerate(loaded, 1):
        label = f"{scenario.name} {index}/{len(loaded)}"
        if len(loaded) > 1 and not quiet:
            click.echo(f"swarmgate: scenario {index} of {len(loaded)}: {scenario.name}", err=True)
        outcome = run_scenario(scenario.scaled(time_scale), options, label)
        print_outcome(outcome, quiet)
        if outcome.partial and not outcome.requests and outcome.status != "aborted":  # interrupted before any request
            click.echo("swarmgate: the run was interrupted before any request was made; nothing to analyze", err=True)
            worst = max(worst, outcome.exit_code)
            break
        summary, folder = analyze_and_write(outcome.run_dir, sla_path, baseline="auto", results_root=results_dir,
                                            history=results_dir / "history.sqlite")  # fmt: skip
        report_verdict(summary, folder)
        verdict_code = EXIT_FAIL if summary["verdict"] == "fail" else 0
        worst = max(worst, outcome.exit_code, verdict_code)
        if outcome.exit_code >= 130:
            break
    return worst


def report_verdict(summary: dict, folder: Path) -> None:
    checks = summary["checks"]
    worst = [c for c in checks if c["status"] == summary["verdict"] and c["status"] != "pass"]
    why = f": {worst[0]['message']}" + (f" (and {len(worst) - 1} more)" if len(worst) > 1 else "") if worst else ""
    click.echo(f"verdict: {summary['verdict'].upper()} ({len(checks)} checks){why}")
    for undo in (c for c in checks if c["kind"] == "resilience" and c["metric"] == "undo"):
        click.secho(f"  {undo['message']}", err=True, fg="red", bold=True)  # the system may be left broken
    for note in summary["not_computed"]:
        click.echo(f"  not computed: {note}", err=True)
    search = (summary.get("capacity") or {}).get("search")
    if search:
        click.echo(f"capacity: {capacity_found(search)}")
    if summary.get("baseline"):
        base = summary["baseline"]
        click.echo(f"baseline: {base['run_id']}: {base['regressions']} regression(s)")
        for note in base["notes"]:
            click.echo(f"  note: {note}", err=True)
    click.echo(f"summary: {folder / 'summary.json'}")
    click.echo(f"report: {folder / 'report.html'}")


def capacity_found(search: dict) -> str:
    """Where a capacity search ended, in one line: the limit it found, or that it found none."""
    steps, breaking, good = search.get("steps") or [], search.get("breaking_step"), search.get("last_good_step")
    if breaking is None:
        return f"no step breached the scenario's levels, up to {steps[-1]['users'] if steps else 0} users"
    last_good = f"; last good step {good['users']} users" if good else "; no step was good"
    return f"stopped at {breaking['users']} users ({breaking['why']}){last_good}"


def write_trend(results_dir: Path, scenario: str | None, last: int | None, sla_path: Path | None,
                out: Path | None) -> tuple[Path, dict]:  # fmt: skip
    """trend.html from the history; (its path, the trend data)."""
    history = results_dir / "history.sqlite"
    if not history.is_file():
        raise InputError(history, "does not exist", "analyze a run first (`swarmgate run` or `swarmgate analyze`)")
    rules = load_sla(default_file("sla.toml", sla_path)).regression
    found = trend_of(history, scenario, last, results_dir, rules)
    if scenario is not None and not found["scenarios"]:
        raise InputError(history, f"holds no runs of scenario '{scenario}'", "check the name, or leave out --scenario")
    path = out or results_dir / "trend.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, trend_html(found))
    return path, found


def weekly_job(config_path: Path | None, options: RunOptions, time_scale: float | None, sla_path: Path | None) -> int:
    """Run the configured scenarios against their baselines, one at a time; trend.html; prune."""
    check_secret_files()
    config = load_config(default_file("weekly.toml", config_path))
    loaded = [load_scenario(name) for name in config.scenarios]  # all refused before any runs
    sla_file = default_file("sla.toml", sla_path)
    sla = load_sla(sla_file)
    loaded = [bind(scenario, config.locustfile or options.locustfile) for scenario in loaded]
    options = replace(options, host=config.host, workers=config.workers, sla_file=sla_file,
                      prometheus=config.prometheus, scrape=config.scrape, server_rules=sla.server)  # fmt: skip
    results_dir, quiet = options.results_root, options.quiet
    worst = 0
    with WeeklyLock(results_dir):
        for index, scenario in enumerate(loaded, 1):
            if not quiet:
                click.echo(f"swarmgate weekly: scenario {index} of {len(loaded)}: {scenario.name}", err=True)
            try:
                code = run_and_judge([scenario], options, time_scale or config.time_scale, sla_path, quiet)
            except SwarmgateError as exc:  # e.g. a damaged baseline: said; the others still run
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
    return worst
