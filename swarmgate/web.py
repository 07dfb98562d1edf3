"""`swarmgate web`: Locust's web UI with swarmgate's users, shapes and recorders, safe by default.

Locust's own defaults listen on every interface with no login. Here the UI binds to 127.0.0.1; any
other address is refused unless --web-login is on and a password is set (SWARMGATE_WEB_PASSWORD or
SWARMGATE_WEB_PASSWORD_FILE). Without --host the demo target is started on loopback for the session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from swarmgate.core.defaults import package_file
from swarmgate.core.errors import EXIT_INTERRUPTED, BadInput, RunFailed, SwarmgateError
from swarmgate.core.files import write_atomic
from swarmgate.core.net import EVERY_INTERFACE, LOOPBACK, is_loopback
from swarmgate.locustfile import inspect_locustfile, locust_files
from swarmgate.locustfiles.live_web import REPORT_FOR, TEST_ENDED
from swarmgate.run import (
    RunOptions,
    check_metrics_port,
    finish_run_json,
    live_env,
    metrics_args,
    new_run_dir,
    read_run_json,
    say,
    say_metrics,
    start_local_demo,
)
from swarmgate.supervisor import LOCUST, Supervisor, child_env
from swarmgate.target import check_reachable, validate_host

CATALOG = package_file("swarmgate.shapes", "catalog.py")


def check_bind(web_host: str, web_login: bool) -> None:
    if is_loopback(web_host):
        return
    if not web_login:
        raise BadInput(f"--web-host {web_host}: the web UI starts load and shows results; on an address other than "
                       "loopback it needs --web-login (and SWARMGATE_WEB_PASSWORD), or keep 127.0.0.1")  # fmt: skip
    if not (os.environ.get("SWARMGATE_WEB_PASSWORD") or os.environ.get("SWARMGATE_WEB_PASSWORD_FILE")):
        raise BadInput("--web-login: set SWARMGATE_WEB_PASSWORD (or SWARMGATE_WEB_PASSWORD_FILE) and optionally "
                       "SWARMGATE_WEB_USER (default admin); no login can succeed without a password")  # fmt: skip


def web_command(locustfile: Path, host: str, run_dir: Path, web_host: str, web_port: int, web_login: bool,
                metrics: list[str]) -> list[str]:  # fmt: skip
    prefix = run_dir / "locust"
    cmd = [*LOCUST, f"--locustfile={locust_files(locustfile, CATALOG)}", "--class-picker",
           f"--web-host={web_host}", f"--web-port={web_port}", f"--host={host}", f"--csv={prefix}",
           "--csv-full-history", f"--json-file={prefix}", f"--logfile={run_dir / 'locust.log'}",
           "--exit-code-on-error=0", *metrics]  # fmt: skip
    return cmd + (["--web-login"] if web_login else [])


def wait_until_listening(supervisor: Supervisor, proc: subprocess.Popen, web_host: str, web_port: int,
                         run_dir: Path, timeout_s: float = 60.0) -> None:  # fmt: skip
    """Return once the UI answers; if Locust ends first (a busy port, a bad locustfile), say so: exit 3."""
    address = LOOPBACK if web_host in EVERY_INTERFACE else web_host
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not supervisor.interrupted:
        if proc.poll() is not None:
            raise RunFailed(
                f"the web UI did not start (Locust exit code {proc.returncode}); see {run_dir / 'locust.out'}"
            )
        try:
            with socket.create_connection((address, web_port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    if supervisor.interrupted:
        return  # Ctrl-C while Locust started: the caller waits for it to stop
    raise RunFailed(
        f"the web UI did not answer on {web_host}:{web_port} within {timeout_s:g} s; see {run_dir / 'locust.out'}"
    )


def serve(options: RunOptions, web_host: str, web_port: int, web_login: bool) -> int:
    """Serve the UI until Ctrl-C or SIGTERM; the demo (if started) is stopped afterwards."""
    check_bind(web_host, web_login)
    check_metrics_port(options.metrics_host, options.metrics_port)
    locustfile = inspect_locustfile(options.locustfile).path  # one that cannot be imported is refused now
    host = validate_host(options.host) if options.host is not None else None
    if host is not None:
        check_reachable(host)
    run_id, run_dir = new_run_dir(options.results_root, "web")
    with Supervisor() as supervisor:
        users_env, target_pid = {}, "0"
        if host is None:
            demo, users_env, _ = start_local_demo(supervisor, run_dir, options)  # the web UI runs no fault phases
            host, target_pid = demo.url, str(demo.pid)
        if supervisor.interrupted:  # Ctrl-C while the demo started: stop here (the demo is stopped on the way out)
            return EXIT_INTERRUPTED
        env = child_env({**users_env, "SWARMGATE_RESULTS_DIR": str(run_dir), "SWARMGATE_SCENARIO": "web",
                         "SWARMGATE_RUN_ID": run_id, "SWARMGATE_TARGET_PID": target_pid,
                         **live_env(options.sla_file, "web", options.abort)})  # fmt: skip
        command = web_command(locustfile, host, run_dir, web_host, web_port, web_login, metrics_args(options))
        proc = supervisor.start_locust(command, run_dir / "locust.out", env, main=True)
        wait_until_listening(supervisor, proc, web_host, web_port, run_dir)
        login = " (login required)" if web_login else ""
        say(options, f"swarmgate: web UI at http://{web_host}:{web_port}{login}; results in {run_dir}; Ctrl-C stops")
        say_metrics(options)
        supervisor.wait(proc, every=(1.0, ReportWriter(run_dir, options).check))
    # Locust ended its last test by itself and exited cleanly: the session is confirmed finished
    recorded = read_run_json(run_dir)
    if recorded.get("status") == "ended" and proc.returncode == 0:
        finish_run_json(run_dir, {"status": "finished", "partial": False}, recorded)
    return EXIT_INTERRUPTED if supervisor.interrupted else proc.returncode


class ReportWriter:
    """Analyzes each test the UI ran once its files are written (the recorders mark `.test_ended`), so the
    UI's live tab can link to that test's report.html. Not recorded in the history: a web session is ad hoc."""

    def __init__(self, run_dir: Path, options: RunOptions) -> None:
        self.run_dir, self.options = run_dir, options
        self.done = 0.0

    def check(self) -> None:
        marker = self.run_dir / TEST_ENDED
        try:
            ended = marker.stat().st_mtime
        except OSError:
            return
        if ended <= self.done:
            return
        self.done = ended
        try:
            which = marker.read_text(encoding="utf-8")  # read first: another test may end while this one is analyzed
        except OSError:
            return
        from swarmgate.pipeline import analyze_and_write  # pandas, only once a test has ended

        try:
            summary, folder = analyze_and_write(self.run_dir, self.options.sla_file, profile="web")
        except SwarmgateError as problem:
            say(self.options, f"swarmgate: the test's report could not be written: {problem.message}")
            return
        except Exception as problem:  # noqa: BLE001  (one test's report must not end the session)
            say(self.options, f"swarmgate: the test's report could not be written: {type(problem).__name__}: "
                              f"{problem}; the UI goes on")  # fmt: skip
            return
        write_atomic(self.run_dir / REPORT_FOR, which)  # which test the report is of
        say(self.options, f"swarmgate: test ended, verdict {summary['verdict'].upper()}; report: "
                          f"{folder / 'report.html'}")  # fmt: skip
