"""Run one scenario: start the demo if no host is given, run Locust, keep what it recorded."""

from __future__ import annotations

import csv
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import swarmgate
from locustfiles.auth import from_env
from swarmgate.errors import EXIT_INTERRUPTED, EXIT_PASS, EXIT_RUN, RunFailed
from swarmgate.processes import LOCUST_STOP_SIGNAL, DemoProcess, child_env, git_revision, start_demo, stop_locust
from swarmgate.scenarios import Scenario
from swarmgate.target import check_reachable, validate_host

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCUSTFILE = ROOT / "locustfiles" / "locustfile.py"
SHAPE_FILE = ROOT / "shapes" / "scenario_shape.py"
PROGRESS_EVERY_S = 10.0
WORKERS_WAIT_S = 60  # a master waits this long for its workers before giving up
EXIT_GRACE_S = 60.0  # beyond the scenario's duration, before the run is stopped from outside


@dataclass
class RunOptions:
    host: str | None = None
    results_root: Path = Path("results")
    demo_args: list[str] = field(default_factory=list)
    locustfile: Path = DEFAULT_LOCUSTFILE
    slow_threshold_ms: float = 1000.0
    quiet: bool = False
    workers: int = 0  # >0: a local master and this many worker processes
    master_port: int = 0
    request_timeout_s: float = 10.0
    insecure: bool = False  # do not verify TLS certificates (this run only; run.json and the report say so)
    remote_workers: int = 0  # >0: a master only, waiting for this many workers from other hosts
    master_bind: str = "127.0.0.1"


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


class Interrupts:
    """Turn SIGINT/SIGTERM into a graceful stop of Locust (which then writes its files)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.proc: subprocess.Popen | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def handle(self, signum: int, _frame) -> None:
        first = self.received is None
        self.received = self.received or signum
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(LOCUST_STOP_SIGNAL if first else signal.SIGKILL)


def new_run_dir(results_root: Path, scenario: str) -> tuple[str, Path]:
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    run_dir = results_root / scenario / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_id, run_dir


def demo_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """Fresh passwords for this run's demo: (demo's environment, users' environment).

    A token the user already set (SWARMGATE_TOKEN / SWARMGATE_ADMIN_TOKEN, or their _FILE) is accepted by the demo too.
    """
    user_pw, admin_pw = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    demo_env = {"SWARMGATE_DEMO_USER_PASSWORD": user_pw, "SWARMGATE_DEMO_ADMIN_PASSWORD": admin_pw}
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def master_options(options: RunOptions) -> list[str]:
    """A master bound to loopback unless told otherwise (Locust's default is every interface)."""
    expected = options.workers or options.remote_workers
    bind = "127.0.0.1" if options.workers else options.master_bind
    return ["--master", "--master-bind-host", bind, "--master-bind-port", str(options.master_port),
            "--expect-workers", str(expected), "--expect-workers-max-wait", str(WORKERS_WAIT_S)]  # fmt: skip


def worker_command(locustfile: Path, master_host: str, port: int, logfile: Path) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", f"{locustfile},{SHAPE_FILE}", "--worker",
            "--master-host", master_host, "--master-port", str(port), "--logfile", str(logfile)]  # fmt: skip


def start_workers(options: RunOptions, port: int, run_dir: Path, env: dict[str, str],
                  workers: list[subprocess.Popen]) -> None:  # fmt: skip
    """Start the workers into `workers` one by one, so the caller can stop those started if one fails."""
    for index in range(1, options.workers + 1):
        with open(run_dir / f"worker-{index}.out", "wb") as out:
            command = worker_command(options.locustfile, "127.0.0.1", port, run_dir / f"worker-{index}.log")
            workers.append(subprocess.Popen(command, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                            start_new_session=True))  # fmt: skip


def stop_workers(workers: list[subprocess.Popen], grace_s: float = 15.0) -> None:
    """Workers quit when their master tells them to; any still running after grace_s are stopped by PID."""
    deadline = time.monotonic() + grace_s
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stop_locust(worker, grace_s=5)


def start_local_demo(run_dir: Path, options: RunOptions) -> tuple[DemoProcess, dict[str, str]]:
    """The demo target for one run, with fresh passwords: (demo, the users' environment)."""
    demo_env, users_env = demo_credentials()
    demo = start_demo(run_dir / "demo", options.demo_args, child_env(demo_env))
    say(options, f"swarmgate: demo target started at {demo.url} (pid {demo.pid})")
    return demo, users_env


def wait_for_exit(proc: subprocess.Popen) -> None:
    """Wait in short steps, so SIGINT / SIGTERM handlers run while waiting."""
    while proc.poll() is None:
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass


def locust_command(scenario: Scenario, options: RunOptions, host: str, run_dir: Path) -> list[str]:
    """Locust runs the users of options.locustfile; ScenarioShape (second -f file) drives the stages."""
    prefix = str(run_dir / "locust")
    # User classes go right after -f: Locust's --tags / --exclude-tags take every word that follows them.
    cmd = [sys.executable, "-m", "locust", "-f", f"{options.locustfile},{SHAPE_FILE}", *scenario.user_classes,
           "--headless", "--host", host,
           "--csv", prefix, "--csv-full-history", "--json-file", prefix, "--html", str(run_dir / "locust_report.html"),
           "--logfile", str(run_dir / "locust.log"), "--only-summary", "--exit-code-on-error", "0",
           "--slow-threshold-ms", f"{options.slow_threshold_ms:g}"]  # fmt: skip
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


def progress_line(scenario: Scenario, label: str, run_dir: Path, elapsed: float) -> str:
    """`[step 1/2] step-2 (20 users) · 20 users · 35 s elapsed, 85 s left` from the run's .progress.json."""
    try:
        progress = json.loads((run_dir / ".progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        progress = {}
    planned = progress.get("planned_s") or scenario.duration_s
    elapsed = progress.get("elapsed_s", elapsed)
    stage = progress.get("stage") or "starting"
    return (f"  [{label}] {stage} · {progress.get('users', 0)} users · {elapsed:.0f} s elapsed, "
            f"{max(0.0, planned - elapsed):.0f} s left")  # fmt: skip


def wait_for_locust(
    proc: subprocess.Popen, scenario: Scenario, options: RunOptions, interrupts: Interrupts, run_dir: Path, label: str
) -> bool:
    """Wait for Locust to end by itself; returns True when we had to kill it."""
    started = time.monotonic()
    waiting = WORKERS_WAIT_S if options.workers or options.remote_workers else 0  # the master waits for workers
    deadline = started + scenario.duration_s + EXIT_GRACE_S + waiting
    next_progress = started + PROGRESS_EVERY_S
    while proc.poll() is None:
        now = time.monotonic()
        if now > deadline:
            say(options, f"swarmgate: Locust did not stop {EXIT_GRACE_S:g} s after the scenario's end; stopping it")
            stop_locust(proc, grace_s=15)
            return True
        if now >= next_progress and interrupts.received is None:
            say(options, progress_line(scenario, label, run_dir, now - started))
            next_progress += PROGRESS_EVERY_S
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
    return False


def finish_run_json(run_dir: Path, facts: dict) -> dict:
    """Merge what only the orchestrator knows into the run.json the recorders wrote (or start one)."""
    path = run_dir / "run.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = {"schema_version": 1}
    document.update(facts)
    tmp = path.with_name(".run.json.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
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


def run_scenario(scenario: Scenario, options: RunOptions, label: str | None = None) -> RunOutcome:
    """Run one (already time-scaled) scenario; label is what the progress lines show, e.g. 'step 1/2'."""
    label = label or scenario.name
    host = validate_host(options.host) if options.host else None
    if host is not None:
        check_reachable(host)  # before anything is written: an unreachable target leaves no clutter
    run_id, run_dir = new_run_dir(options.results_root, scenario.name)
    demo: DemoProcess | None = None
    users_env: dict[str, str] = {}
    started = datetime.now(UTC)
    interrupts = Interrupts()
    killed = False
    proc: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = []
    with interrupts:
        try:
            if host is None:
                demo, users_env = start_local_demo(run_dir, options)
                host = demo.url
            check_reachable(host)
            env = child_env(
                {
                    **users_env,
                    "SWARMGATE_RESULTS_DIR": str(run_dir),
                    "SWARMGATE_SCENARIO": scenario.name,
                    "SWARMGATE_RUN_ID": run_id,
                    "SWARMGATE_SCENARIO_FILE": str(scenario.path),
                    "SWARMGATE_TIME_SCALE": repr(scenario.time_scale),
                    "SWARMGATE_ARRIVAL_RATE": repr(scenario.arrival_rate or 0.0),
                    "SWARMGATE_MIX": scenario.mix_option(),
                    "SWARMGATE_TARGET_PID": str(demo.pid if demo else 0),
                    "SWARMGATE_VERSION": swarmgate.__version__,
                    "SWARMGATE_GIT_REVISION": git_revision(ROOT) or "",
                    "SWARMGATE_INSECURE_TLS": "1" if options.insecure else "0",
                    "SWARMGATE_REQUEST_TIMEOUT_S": repr(options.request_timeout_s),
                    "SWARMGATE_SLOW_MS": repr(options.slow_threshold_ms),  # workers record slow requests too
                }
            )
            say(
                options,
                f"swarmgate: running '{scenario.name}' ({scenario.users} users, "
                f"{scenario.duration_s:g} s) against {host}",
            )
            if options.workers:
                options = replace(options, master_port=free_port())
            with open(run_dir / "locust.out", "wb") as out:
                proc = subprocess.Popen(
                    locust_command(scenario, options, host, run_dir),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            interrupts.proc = proc
            if options.workers:
                start_workers(options, options.master_port, run_dir, env, workers)
                say(options, f"swarmgate: master on 127.0.0.1:{options.master_port} with {options.workers} workers "
                             f"(pids {', '.join(str(w.pid) for w in workers)})")  # fmt: skip
            if interrupts.received is None:
                killed = wait_for_locust(proc, scenario, options, interrupts, run_dir, label)
        finally:
            if proc is not None:
                stop_locust(proc)  # only if still running: interrupted, or an error above
            stop_workers(workers)
            if demo is not None:
                demo.stop()

    interrupted = interrupts.received is not None
    partial = interrupted or killed or proc is None or proc.returncode != 0
    document = finish_run_json(
        run_dir,
        {
            "run_id": run_id,
            "scenario": scenario.name,
            "time_scale": scenario.time_scale,
            "plan": {
                "kind": scenario.kind,
                "sla": scenario.sla,
                "max_users": scenario.users,
                "duration_s": round(scenario.duration_s, 3),
                "mix": scenario.mix,
                "stages": [
                    {
                        "name": st.name,
                        "duration_s": round(st.duration_s, 3),
                        "users": st.users,
                        "spawn_rate": round(st.spawn_rate, 3),
                        "steady": st.steady,
                    }
                    for st in scenario.plan
                ],
            },
            "target": {"kind": "demo", "demo_args": options.demo_args} if demo else {"kind": "external"},
            "locust_exit_code": proc.returncode if proc else None,
            "partial": partial,
            "status": "interrupted"
            if interrupted
            else ("killed" if killed else "finished" if proc and proc.returncode == 0 else "crashed"),
            "orchestrator_started": started.isoformat(timespec="seconds"),
            "worker_processes": options.workers,
            "remote_workers": options.remote_workers,
        },
    )
    requests, failures = count_requests(run_dir)
    by_class = document.get("requests_by_user_class") or {}
    outcome = RunOutcome(run_dir, EXIT_PASS, partial, requests, failures, by_class, count_exceptions(run_dir),
                         document.get("arrival_rate"))  # fmt: skip
    if interrupted:
        outcome.exit_code = EXIT_INTERRUPTED
    elif proc is None or proc.returncode != 0 or killed:
        code = proc.returncode if proc else "none"
        raise RunFailed(f"Locust failed (exit code {code}); its log is {run_dir / 'locust.out'}")
    elif requests == 0:
        raise RunFailed(f"the run made no requests; see {run_dir / 'locust.log'}")
    return outcome


def run_worker(locustfile: Path, master_host: str, master_port: int, log_dir: Path, options: RunOptions) -> int:
    """A worker for a master on another host: runs until the master ends the run (or goes silent).

    The settings that act where requests are made (timeout, slow threshold) are the worker's own.
    Exit: 0 when its run ended, 130 when interrupted, 3 when Locust could not run (see worker.out).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    interrupts = Interrupts()
    env = child_env({"SWARMGATE_REQUEST_TIMEOUT_S": repr(options.request_timeout_s),
                     "SWARMGATE_SLOW_MS": repr(options.slow_threshold_ms), "SWARMGATE_INSECURE_TLS": "0"})  # fmt: skip
    with interrupts, open(log_dir / "worker.out", "wb") as out:
        proc = subprocess.Popen(worker_command(locustfile, master_host, master_port, log_dir / "worker.log"),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)  # fmt: skip
        interrupts.proc = proc
        try:
            wait_for_exit(proc)
        finally:
            if proc.poll() is None:
                stop_locust(proc)
    if interrupts.received is not None:
        return EXIT_INTERRUPTED
    return EXIT_PASS if proc.returncode == 0 else EXIT_RUN
