"""Run one scenario: start the demo if no host is given, run Locust, keep what it recorded."""

from __future__ import annotations

import csv
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import click

import swarmgate
from swarmgate.analysis.live import SERVER_LIVE_FILE
from swarmgate.analysis.server_rules import ServerRule
from swarmgate.console import RunConsole, read_progress
from swarmgate.core.defaults import package_file
from swarmgate.core.errors import EXIT_INTERRUPTED, EXIT_PASS, EXIT_RUN, BadInput, RunFailed
from swarmgate.core.files import make_dir, write_atomic
from swarmgate.core.net import LOOPBACK, listen_problem
from swarmgate.core.plan import plan_to_json
from swarmgate.demo.faults import FAULT_TOKEN_VAR
from swarmgate.fault_actions import Variables, preflight, variables_for
from swarmgate.faults import FaultRunner
from swarmgate.locustfile import bind, inspect_locustfile, locust_files
from swarmgate.locustfiles.auth import from_env
from swarmgate.scenarios import Scenario
from swarmgate.server_metrics import demo_source, source_for
from swarmgate.supervisor import (
    LOCUST,
    LOCUST_STOP_SIGNAL,
    DemoProcess,
    Supervisor,
    child_env,
    free_port,
    git_revision,
    start_demo,
)
from swarmgate.target import check_reachable, validate_host

SHAPE_FILE = package_file("swarmgate.shapes", "scenario_shape.py")
PLAN_FILE = ".stage_plan.json"  # the plan handed to the shape (any size: no environment or argument limit)
WORKERS_WAIT_S = 60  # a master waits this long for its workers before giving up
EXIT_GRACE_S = 60.0  # beyond the scenario's duration, before the run is stopped from outside


@dataclass
class RunOptions:
    host: str | None = None
    results_root: Path = Path("results")
    demo_args: list[str] = field(default_factory=list)
    locustfile: Path | None = None  # --locustfile; None: each scenario's own `locustfile`, else the demo's users
    slow_threshold_ms: float = 1000.0
    quiet: bool = False
    workers: int = 0  # >0: a local master and this many worker processes
    master_port: int = 0
    request_timeout_s: float = 10.0
    insecure: bool = False  # do not verify TLS certificates (this run only; run.json and the report say so)
    remote_workers: int = 0  # >0: a master only, waiting for this many workers from other hosts
    master_bind: str = LOOPBACK
    sla_file: Path | None = None  # the SLA tables the live checks and abort gates use (the analysis's own)
    abort: bool = True  # False: --no-abort, the gates judge but never stop the run
    metrics_port: int = 0  # >0: the master (or single process) serves live metrics for Prometheus here
    metrics_host: str = LOOPBACK
    scrape: str | None = None  # the target's /metrics (default: the demo's, when swarmgate starts it)
    prometheus: str | None = None  # a Prometheus server's base URL (instead of scraping)
    prometheus_step_s: float = 5.0  # seconds between the values asked of Prometheus
    server_rules: tuple[ServerRule, ...] = ()  # the SLA file's [[server]] tables: what to read


@dataclass
class RunOutcome:
    run_dir: Path
    exit_code: int
    partial: bool
    requests: int = 0
    failures: int = 0
    by_user_class: dict[str, int] = field(default_factory=dict)
    exceptions: int = 0
    arrival_rate: dict | None = None
    status: str = "finished"


def new_run_dir(results_root: Path, scenario: str) -> tuple[str, Path]:
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    run_dir = results_root / scenario / run_id
    make_dir(run_dir, exist_ok=False)
    return run_id, run_dir


def demo_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """Fresh passwords for this run's demo, and its fault endpoint's token: (demo's environment, users' environment).

    A token the user already set (SWARMGATE_TOKEN / SWARMGATE_ADMIN_TOKEN, or their _FILE) is accepted by the demo too.
    The fault token goes to the demo and to fault actions (SWARMGATE_DEMO_FAULT_TOKEN), never to the users.
    """
    user_pw, admin_pw = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    demo_env = {"SWARMGATE_DEMO_USER_PASSWORD": user_pw, "SWARMGATE_DEMO_ADMIN_PASSWORD": admin_pw,
                FAULT_TOKEN_VAR: secrets.token_urlsafe(24)}  # fmt: skip
    users_env = {
        "SWARMGATE_USERNAME": "demo",
        "SWARMGATE_PASSWORD": user_pw,
        "SWARMGATE_ADMIN_USERNAME": "admin",
        "SWARMGATE_ADMIN_PASSWORD": admin_pw,
    }
    for var, demo_var in (
        ("SWARMGATE_TOKEN", "SWARMGATE_DEMO_USER_TOKEN"),
        ("SWARMGATE_ADMIN_TOKEN", "SWARMGATE_DEMO_ADMIN_TOKEN"),
    ):
        token = from_env(var)  # the variable, or the file VAR_FILE names
        if token:
            demo_env[demo_var] = token
    return demo_env, users_env


def start_local_demo(supervisor: Supervisor, run_dir: Path,
                     options: RunOptions) -> tuple[DemoProcess, dict[str, str], dict[str, str]]:  # fmt: skip
    """The demo target for one run, with fresh passwords: (demo, users' environment, fault actions' variables)."""
    demo_env, users_env = demo_credentials()
    demo = start_demo(supervisor, run_dir / "demo", options.demo_args, child_env(demo_env))
    say(options, f"swarmgate: demo target started at {demo.url} (pid {demo.pid})")
    return demo, users_env, demo_variables(demo.url, demo_env[FAULT_TOKEN_VAR])


def demo_variables(url: str, fault_token: str) -> dict[str, str]:
    """What fault actions may name when swarmgate started the demo: its URL and its fault endpoint's token."""
    return {"SWARMGATE_DEMO_URL": url, FAULT_TOKEN_VAR: fault_token}


def master_options(options: RunOptions) -> list[str]:
    """A master bound to loopback unless told otherwise (Locust's default is every interface)."""
    expected = options.workers or options.remote_workers
    bind = LOOPBACK if options.workers else options.master_bind
    return ["--master", f"--master-bind-host={bind}", f"--master-bind-port={options.master_port}",
            f"--expect-workers={expected}", f"--expect-workers-max-wait={WORKERS_WAIT_S}"]  # fmt: skip


def check_metrics_port(host: str, port: int) -> None:
    """A port the metrics cannot be served on is refused before anything starts (exit 2), not found out by Locust."""
    problem = listen_problem(host, port) if port else None
    if problem:
        raise BadInput(f"--metrics-port {port}: cannot listen on {host}:{port} ({problem}); choose a free port "
                       "(or --metrics-host), or leave --metrics-port out")  # fmt: skip


def metrics_args(options: RunOptions) -> list[str]:
    """The metrics options, for the master's (or single process's) command line only: workers serve none.
    Always given (0: off), so a SWARMGATE_METRICS_PORT left in the shell cannot open an unchecked port."""
    return [f"--metrics-port={options.metrics_port}", f"--metrics-host={options.metrics_host}"]


def worker_command(locustfile: Path, master_host: str, port: int, logfile: Path) -> list[str]:
    return [*LOCUST, f"--locustfile={locust_files(locustfile, SHAPE_FILE)}", "--worker",
            f"--master-host={master_host}", f"--master-port={port}", f"--logfile={logfile}"]  # fmt: skip


def locust_command(scenario: Scenario, options: RunOptions, host: str, run_dir: Path) -> list[str]:
    """Locust runs the users of the scenario's locustfile, the recorders attached; ScenarioShape drives the stages.

    Every value is attached to its option (`--host=URL`), so none can be read as another option; user
    classes and tags were checked to be identifiers when the scenario was loaded.
    """
    prefix = run_dir / "locust"
    # User classes go right after the locustfile: Locust's --tags / --exclude-tags take every word after them.
    cmd = [*LOCUST, f"--locustfile={locust_files(scenario.locustfile, SHAPE_FILE)}", *scenario.user_classes,
           "--headless", f"--host={host}", f"--csv={prefix}", "--csv-full-history", f"--json-file={prefix}",
           f"--html={run_dir / 'locust_report.html'}", f"--logfile={run_dir / 'locust.log'}", "--only-summary",
           "--exit-code-on-error=0", f"--slow-threshold-ms={options.slow_threshold_ms:g}",
           *metrics_args(options)]  # fmt: skip
    if options.workers or options.remote_workers:
        cmd += master_options(options)
    if scenario.tags:
        cmd += ["--tags", *scenario.tags]
    if scenario.exclude_tags:
        cmd += ["--exclude-tags", *scenario.exclude_tags]
    return cmd


def say(options: RunOptions, line: str) -> None:
    if not options.quiet:
        print(line, file=sys.stderr, flush=True)


def say_fault(options: RunOptions, line: str, loud: bool) -> None:
    """A fault action's line; a failed undo in red, even with --quiet (the system may be left broken)."""
    if loud:
        line = click.style(line, fg="red", bold=True) if sys.stderr.isatty() else line
    if loud or not options.quiet:  # one write: the console's lines come from another thread meanwhile
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def say_metrics(options: RunOptions) -> None:
    if options.metrics_port:
        say(options, f"swarmgate: metrics at http://{options.metrics_host}:{options.metrics_port}/metrics")


def read_run_json(run_dir: Path) -> dict:
    """The run.json the recorders wrote, or a new one when there is none (or it is unreadable)."""
    try:
        document = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"schema_version": 1}
    return document if isinstance(document, dict) else {"schema_version": 1}


def finish_run_json(run_dir: Path, facts: dict, recorded: dict | None = None) -> dict:
    """Merge what only the orchestrator knows into the run.json the recorders wrote (or start one);
    `recorded`: that run.json, when the caller has read it already."""
    document = {**(recorded if recorded is not None else read_run_json(run_dir)), **facts}
    write_atomic(run_dir / "run.json", json.dumps(document, indent=2) + "\n")
    return document


def count_exceptions(run_dir: Path) -> int:
    """Exceptions raised in user code (Locust keeps the run going and lists them in locust_exceptions.csv)."""
    try:
        with open(run_dir / "locust_exceptions.csv", newline="", encoding="utf-8") as handle:
            return sum(int(row.get("Count") or 0) for row in csv.DictReader(handle))
    except (OSError, ValueError):
        return 0


def count_requests(run_dir: Path) -> tuple[int, int]:
    try:
        entries = json.loads((run_dir / "locust.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0, 0
    return sum(e.get("num_requests", 0) for e in entries), sum(e.get("num_failures", 0) for e in entries)


def run_env(scenario: Scenario, options: RunOptions, run_id: str, run_dir: Path, users_env: dict[str, str],
            demo: DemoProcess | None) -> dict[str, str]:  # fmt: skip
    """What Locust, its shape and the recorders read from the environment."""
    return child_env({
        **users_env,
        "SWARMGATE_RESULTS_DIR": str(run_dir),
        "SWARMGATE_SCENARIO": scenario.name,
        "SWARMGATE_RUN_ID": run_id,
        "SWARMGATE_STAGE_PLAN_FILE": str(run_dir / PLAN_FILE),
        "SWARMGATE_ORCHESTRATED": "1",  # the recorders leave run.json "ended" for us to confirm
        "SWARMGATE_ARRIVAL_RATE": repr(scenario.arrival_rate or 0.0),
        "SWARMGATE_MIX": scenario.mix_option(),
        "SWARMGATE_TARGET_PID": str(demo.pid if demo else 0),
        "SWARMGATE_VERSION": swarmgate.__version__,
        "SWARMGATE_GIT_REVISION": git_revision(Path.cwd()) or "",
        "SWARMGATE_INSECURE_TLS": "1" if options.insecure else "0",
        "SWARMGATE_REQUEST_TIMEOUT_S": repr(options.request_timeout_s),
        "SWARMGATE_SLOW_MS": repr(options.slow_threshold_ms),  # workers record slow requests too
        "SWARMGATE_TIMELINE": "true" if scenario.faults else "false",  # half-second bins, to measure recovery
        **live_env(options.sla_file, scenario.sla or scenario.name, options.abort),
    })  # fmt: skip


def live_env(sla_file: Path | None, profile: str, abort: bool) -> dict[str, str]:
    """What the master's live judge reads: the SLA file, its profile, and whether gates may stop the run."""
    if sla_file is None:
        return {"SWARMGATE_SLA_FILE": ""}
    # always set: a SWARMGATE_NO_ABORT left in the shell must not turn the gates off unasked
    return {"SWARMGATE_SLA_FILE": str(sla_file.resolve()), "SWARMGATE_SLA_PROFILE": profile,
            "SWARMGATE_NO_ABORT": "false" if abort else "true"}  # fmt: skip


def plan_facts(scenario: Scenario) -> dict:
    """The plan as run.json records it (what baselines are compared on)."""
    stages = [{"name": st.name, "duration_s": round(st.duration_s, 3), "users": st.users,
               "spawn_rate": round(st.spawn_rate, 3), "steady": st.steady} for st in scenario.plan]  # fmt: skip
    return {"kind": scenario.kind, "sla": scenario.sla, "max_users": scenario.users,
            "duration_s": round(scenario.duration_s, 3), "mix": scenario.mix, "stages": stages}  # fmt: skip


def run_status(supervisor: Supervisor, killed: bool, proc: subprocess.Popen | None, recorded: str | None) -> str:
    if recorded == "aborted" and proc and proc.returncode == 0:
        return "aborted"  # a gate stopped it: the analysis judges it fail
    if supervisor.interrupted:
        return "interrupted"
    if killed:
        return "killed"
    return "finished" if proc and proc.returncode == 0 else "crashed"


def run_scenario(scenario: Scenario, options: RunOptions, label: str | None = None) -> RunOutcome:
    """Run one (already time-scaled) scenario; label is what the progress lines show, e.g. 'step 1/2'."""
    label = label or scenario.name
    scenario = bind(scenario, options.locustfile)  # as the CLI did (a bound scenario stays as it is)
    host = validate_host(options.host) if options.host is not None else None
    if host is not None:
        check_reachable(host)  # before anything is written: an unreachable target leaves no clutter
    waiting = WORKERS_WAIT_S if options.workers or options.remote_workers else 0
    longest_s = scenario.duration_s + EXIT_GRACE_S + waiting
    # A source of server metrics is checked before the run: unreachable is exit 3, a refused query exit 2.
    metrics = source_for(options.prometheus, options.scrape, options.server_rules, longest_s,
                         options.prometheus_step_s)  # fmt: skip
    if scenario.faults:  # a variable the actions need and nobody sets: bad input, before anything is written
        variables_for(scenario.faults, demo_variables("", "") if host is None else {}, str(scenario.path))
    run_id, run_dir = new_run_dir(options.results_root, scenario.name)
    demo: DemoProcess | None = None
    faults: FaultRunner | None = None
    started = datetime.now(UTC)
    killed = False
    proc: subprocess.Popen | None = None
    with Supervisor() as supervisor:
        users_env: dict[str, str] = {}
        provided: dict[str, str] = {}
        if host is None:
            demo, users_env, provided = start_local_demo(supervisor, run_dir, options)
            host = demo.url
        check_reachable(host)
        variables = checked_variables(scenario, provided)
        if metrics is None:  # the demo's own /metrics, when swarmgate started it
            metrics = demo_source(f"{demo.url}/metrics" if demo else None, options.server_rules, longest_s)
        write_atomic(run_dir / PLAN_FILE, plan_to_json(list(scenario.plan), scenario.capacity))
        env = run_env(scenario, options, run_id, run_dir, users_env, demo)
        say(options, f"swarmgate: running '{scenario.name}' ({scenario.users} users, "
                     f"{scenario.duration_s:g} s) against {host}")  # fmt: skip
        if options.workers:
            options = replace(options, master_port=free_port())
        proc = supervisor.start_locust(locust_command(scenario, options, host, run_dir), run_dir / "locust.out", env,
                                       main=True)  # fmt: skip
        workers = []
        for index in range(1, options.workers + 1):
            command = worker_command(scenario.locustfile, LOOPBACK, options.master_port,
                                     run_dir / f"worker-{index}.log")  # fmt: skip
            workers.append(supervisor.start_locust(command, run_dir / f"worker-{index}.out", env))
        say_metrics(options)
        if workers:
            say(options, f"swarmgate: master on {LOOPBACK}:{options.master_port} with {options.workers} workers "
                         f"(pids {', '.join(str(w.pid) for w in workers)})")  # fmt: skip
        if variables is not None:
            faults = start_faults(scenario, variables, run_dir, proc, options)
        try:
            killed = wait_for_locust(supervisor, proc, metrics, label, run_dir, scenario.duration_s, longest_s, options)
        finally:  # inside the supervisor: a signal now stops Locust, never this undo
            fault_facts = finish_faults(faults, supervisor, proc, killed)
        supervisor.stop(proc)
        deadline = time.monotonic() + 15  # workers quit when their master tells them; stragglers are stopped
        for worker in workers:
            supervisor.wait(worker, deadline)
    server_facts = metrics.finish(run_dir, started.timestamp(), time.time())
    return unless_a_fault_failed(faults, supervisor, run_dir, lambda: finish_run(
        scenario, options, run_id, run_dir, started, supervisor, killed, proc, demo,
        {"server_metrics": server_facts, **fault_facts}))  # fmt: skip


def unless_a_fault_failed(faults: FaultRunner | None, supervisor: Supervisor, run_dir: Path,
                          finish: Callable[[], RunOutcome]) -> RunOutcome:  # fmt: skip
    """The run's outcome (`finish`); when a fault's action failed, RunFailed naming it and its undo's outcome
    (red when the undo failed), rather than what else the stopped run shows (no requests, Locust's exit code)."""
    fault_failed = faults is not None and faults.failed is not None and not supervisor.interrupted
    try:
        outcome = finish()
    except RunFailed:
        if not fault_failed:
            raise
    if fault_failed:
        raise RunFailed(f"{faults.failed}; the run was stopped, its files kept: see {run_dir / 'run.json'}",
                        loud=faults.undo_failed)  # fmt: skip
    return outcome


def wait_for_locust(supervisor: Supervisor, proc: subprocess.Popen, metrics, label: str, run_dir: Path,
                    planned_s: float, longest_s: float, options: RunOptions) -> bool:  # fmt: skip
    """Wait for Locust with the console and the server metrics going; True if it had to be stopped from outside."""
    if supervisor.interrupted:
        return False
    started_s = time.monotonic()
    live_server = run_dir / SERVER_LIVE_FILE  # scraped values for the gates inside Locust
    with RunConsole(label, run_dir, planned_s, options.quiet) as console, metrics.during(live_server):
        show = (console.every_s, lambda: console.show(time.monotonic() - started_s))
        killed = supervisor.wait(proc, started_s + longest_s, every=show)
    if killed:
        say(options, f"swarmgate: Locust did not stop {EXIT_GRACE_S:g} s after the scenario's end; stopping it")
    return killed


def checked_variables(scenario: Scenario, provided: dict[str, str]) -> Variables | None:
    """The fault actions' variables, once every action was checked to be able to start (else exit 3, no load)."""
    if not scenario.faults:
        return None
    variables = variables_for(scenario.faults, provided, str(scenario.path))
    preflight(scenario.faults, variables)
    return variables


def start_faults(scenario: Scenario, variables: Variables, run_dir: Path, proc: subprocess.Popen,
                 options: RunOptions) -> FaultRunner:  # fmt: skip
    """The scenario's fault phases on the run's clock (Locust's start, from .progress.json); a failed action
    stops Locust the way Ctrl-C does; no action starts once Locust has ended or a gate has stopped it."""

    def stop_locust() -> None:
        if proc.poll() is None:
            proc.send_signal(LOCUST_STOP_SIGNAL)

    def clock() -> float | None:
        return read_progress(run_dir).get("started")

    return FaultRunner(scenario.faults, variables, run_dir, clock, stop_locust,
                       lambda line, loud: say_fault(options, line, loud),
                       load_running=lambda: proc.poll() is None and not read_progress(run_dir).get("aborted"),
                       ).start()  # fmt: skip


def finish_faults(faults: FaultRunner | None, supervisor: Supervisor, proc: subprocess.Popen, killed: bool) -> dict:
    """Run every undo still due, saying why now; run.json's `faults` and `undo_failed`."""
    if faults is None:
        return {}
    if supervisor.interrupted:
        reason = "interrupted"
    elif faults.failed:
        reason = "action failed"
    elif killed or proc.poll() not in (None, 0):
        reason = "Locust crashed or hung"
    else:
        reason = "run ended early"  # an abort gate, or a plan that ended before the undo's time
    records = faults.finish(reason)
    facts = {"faults": records, "undo_failed": faults.undo_failed}
    if faults.failed:  # stopped on purpose, not by the plan: partial, and not judged (the run fails with exit 3)
        facts.update(status="fault_failed", partial=True)
    return facts


def finish_run(scenario: Scenario, options: RunOptions, run_id: str, run_dir: Path, started: datetime,
               supervisor: Supervisor, killed: bool, proc: subprocess.Popen | None,
               demo: DemoProcess | None, facts: dict | None = None) -> RunOutcome:  # fmt: skip
    """Record what the orchestrator knows in run.json (with `facts`: the server metrics', the faults');
    the outcome, or RunFailed when Locust failed."""
    recorded = read_run_json(run_dir)
    status = run_status(supervisor, killed, proc, recorded.get("status"))
    partial = status != "finished"  # aborted, interrupted, killed or crashed
    document = finish_run_json(run_dir, {
        "run_id": run_id, "scenario": scenario.name, "time_scale": scenario.time_scale, "plan": plan_facts(scenario),
        "target": {"kind": "demo", "demo_args": options.demo_args} if demo else {"kind": "external"},
        "locustfile": scenario.locustfile.name if scenario.locustfile else None,
        "locust_exit_code": proc.returncode if proc else None, "partial": partial,
        "status": status, "orchestrator_started": started.isoformat(timespec="seconds"),
        "worker_processes": options.workers, "remote_workers": options.remote_workers,
        "server_metrics": None, **(facts or {}),
    }, recorded)  # fmt: skip
    requests, failures = count_requests(run_dir)
    by_class = document.get("requests_by_user_class") or {}
    outcome = RunOutcome(run_dir, EXIT_PASS, partial, requests, failures, by_class, count_exceptions(run_dir),
                         document.get("arrival_rate"), status)  # fmt: skip
    if supervisor.interrupted:
        outcome.exit_code = EXIT_INTERRUPTED
    elif proc is None or proc.returncode != 0 or killed:
        code = proc.returncode if proc else "none"
        raise RunFailed(f"Locust failed (exit code {code}); its log is {run_dir / 'locust.out'}")
    elif requests == 0 and status != "aborted":  # a gate that stopped a run before any answer is a verdict
        raise RunFailed(f"the run made no requests; see {run_dir / 'locust.log'}")
    return outcome


def run_worker(locustfile: Path | None, master_host: str, master_port: int, log_dir: Path, options: RunOptions) -> int:
    """A worker for a master on another host: runs until the master ends the run (or goes silent).

    The settings that act where requests are made (timeout, slow threshold) are the worker's own.
    Exit: 0 when its run ended, 130 when interrupted, 3 when Locust could not run (see worker.out).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    env = child_env({"SWARMGATE_REQUEST_TIMEOUT_S": repr(options.request_timeout_s),
                     "SWARMGATE_SLOW_MS": repr(options.slow_threshold_ms), "SWARMGATE_INSECURE_TLS": "0"})  # fmt: skip
    with Supervisor() as supervisor:
        command = worker_command(inspect_locustfile(locustfile).path, master_host, master_port,
                                 log_dir / "worker.log")  # fmt: skip
        proc = supervisor.start_locust(command, log_dir / "worker.out", env, main=True)
        supervisor.wait(proc)
    if supervisor.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PASS if proc.returncode == 0 else EXIT_RUN
