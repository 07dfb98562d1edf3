"""Shared helpers for tests: real processes, started and stopped by PID."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swarmgate.supervisor import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "locustfiles" / "locustfile.py"
SWARMGATE = [sys.executable, "-m", "swarmgate"]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    return free_port()


def constant_scenario(users: int, duration: str, **mix: int) -> str:
    """A scenario file's text: `users` users for `duration`, all started within a second, this class mix."""
    weights = "\n".join(f"{name} = {weight}" for name, weight in mix.items())
    return (
        f'[shape]\nkind = "constant"\nusers = {users}\nduration = "{duration}"\nspawn_rate = {users}\n\n'
        f"[mix]\n{weights}\n"
    )


def swarmgate_run(tmp_path: Path, scenario_toml: str, *args: str, env: dict | None = None) -> Path:
    """`swarmgate run` of this scenario text (named `scenario`) in tmp_path: its run dir, once it checked the exit
    code agrees with the verdict."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_toml)
    results = tmp_path / "results"
    done = subprocess.run([*SWARMGATE, "run", str(scenario), "--results-dir", str(results), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: the SLA verdict failed, which some tests provoke
    (run_dir,) = (results / "scenario").iterdir()
    verdict = json.loads((run_dir / "summary.json").read_text())["verdict"]
    assert done.returncode == (1 if verdict == "fail" else 0)
    return run_dir


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Demo:
    proc: subprocess.Popen
    port: int
    db_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_demo(work_dir: Path, *args: str, env: dict[str, str] | None = None) -> Demo:
    work_dir.mkdir(parents=True, exist_ok=True)
    port_file, db_path = work_dir / "port", work_dir / "demo.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swarmgate.demo",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--db",
            str(db_path),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(work_dir / "demo.log", "wb"),  # noqa: SIM115
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"demo did not start: {(work_dir / 'demo.log').read_text()}")
        time.sleep(0.05)
    return Demo(proc, int(port_file.read_text()), db_path)


def run_locust(
    host: str, out_dir: Path, classes: list[str], seconds: int = 8, users: int = 4, env: dict | None = None, *extra
) -> subprocess.CompletedProcess:
    """A real `locust` process with our locustfile and recorders, like a user would start it."""
    prefix = str(out_dir / "locust")
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host, "-u", str(users),
           "-r", str(users), "-t", f"{seconds}s", "--csv", prefix, "--csv-full-history", "--json-file", prefix,
           "--only-summary", "--exit-code-on-error", "0", *extra, *classes]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env={**os.environ, **(env or {})})


def stats_rows(run_dir: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(run_dir / "locust_stats.csv", newline="") as handle:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(handle)}


def failures_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "locust_failures.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def json_entries(run_dir: Path) -> list[dict]:
    return json.loads((run_dir / "locust.json").read_text())


def wait_for_progress(results_root: Path, elapsed_s: float, proc: subprocess.Popen, timeout_s: float = 90) -> dict:
    """Wait until a run under results_root reports (in its .progress.json) at least elapsed_s seconds of load."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before {elapsed_s} s of load")
        for path in results_root.glob("*/*/.progress.json"):
            try:
                progress = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if progress.get("elapsed_s", 0) >= elapsed_s:
                return progress
        time.sleep(0.2)
    raise AssertionError(f"no run under {results_root} reached {elapsed_s} s of load within {timeout_s:g} s")


def wait_for_web_ui(base: str, proc: subprocess.Popen, timeout_s: float = 60) -> str:
    """Wait until a web UI at base answers (or its process ends: a failure); the page's text."""
    import requests  # only tests of a web UI need it

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return requests.get(base, timeout=2, allow_redirects=False).text
        except requests.ConnectionError:
            assert time.monotonic() < deadline and proc.poll() is None, "the web UI did not start"
            time.sleep(0.3)


def swarm_until_stopped(base: str, form: dict, timeout_s: float = 40) -> None:
    """Start a test from a Locust web UI's form and wait until its shape ends it by itself."""
    import requests  # only tests of a web UI need it

    started = requests.post(f"{base}/swarm", data=form, timeout=10).json()
    assert started["success"], started
    deadline = time.monotonic() + timeout_s
    while requests.get(f"{base}/stats/requests", timeout=5).json()["state"] != "stopped":
        assert time.monotonic() < deadline, "the shape did not end by itself"
        time.sleep(0.3)


def start_prometheus(work_dir: Path, config: str, timeout_s: float = 30) -> tuple[subprocess.Popen, str]:
    """A real Prometheus server (Debian's) on a free loopback port with this prometheus.yml, once it is
    ready to query: (process, its address). Its log is work_dir/prometheus.log."""
    import shutil

    import requests  # only tests of a Prometheus need it

    binary = shutil.which("prometheus")
    assert binary, "Prometheus is missing: ./run_tests.sh installs Debian's prometheus package"
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "prometheus.yml").write_text(config)
    address = f"127.0.0.1:{free_port()}"
    with open(work_dir / "prometheus.log", "wb") as log:
        proc = subprocess.Popen([binary, f"--config.file={work_dir / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={work_dir / 'tsdb'}", f"--web.listen-address={address}"],
                                stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"http://{address}/-/ready", timeout=1).status_code == 200:
                return proc, f"http://{address}"
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise AssertionError(f"Prometheus did not become ready: {(work_dir / 'prometheus.log').read_text()[-2000:]}")
