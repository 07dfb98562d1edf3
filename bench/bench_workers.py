"""Aggregate requests/s of a master with two workers vs one process, and the master's CPU share.

Both variants run the swarmgate user with every recorder (bench/locustfiles/swarmgate_user.py)
against the same minimal target, for the same seconds, alternating over rounds; medians are compared.
Nothing is pinned: on a machine with few cores the workers, the master and the target share them,
which is what this measures. The master's share is its CPU time over the workers' and its own.

    .venv/bin/python bench/bench_workers.py [--seconds 15] [--rounds 3] [--users 20]

No target ratio: the figures say what distributing buys on this machine (on 2 cores, little).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from bench.bench_users import TOKEN, bench_arguments, rps_of, start_target  # noqa: E402
from swarmgate.supervisor import free_port, stop_process  # noqa: E402

LOCUSTFILE = BENCH / "locustfiles" / "swarmgate_user.py"
COMMON = ["--csv-full-history", "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING"]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def run(out: Path, host: str, seconds: int, users: int, workers: int) -> tuple[float, float | None]:
    """One run; returns (requests/s, the master's share of load-generator CPU, or None for one process)."""
    out.mkdir(parents=True)
    prefix = str(out / "locust")
    env = {**os.environ, "SWARMGATE_TOKEN": TOKEN, "SWARMGATE_RESULTS_DIR": str(out)}
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host, "-u", str(users),
           "-r", str(users), "-t", f"{seconds}s", "--csv", prefix, "--json-file", prefix, *COMMON]  # fmt: skip
    port = free_port()
    if workers:
        cmd += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                "--expect-workers", str(workers)]  # fmt: skip
    main = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
              "--master-port", str(port), "--loglevel", "WARNING"]  # fmt: skip
    helpers = [subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(workers)]  # fmt: skip
    watched = [psutil.Process(p.pid) for p in (main, *helpers)]
    last = {p.pid: 0.0 for p in watched}
    try:
        while main.poll() is None:  # sample CPU times while they run (a finished process has none to read)
            for process in watched:
                try:
                    last[process.pid] = cpu_seconds(process)
                except psutil.NoSuchProcess:
                    pass
            time.sleep(0.5)
        main.wait(timeout=seconds + 90)
        for helper in helpers:
            helper.wait(timeout=30)
    finally:
        for proc in (main, *helpers):
            stop_process(proc)
    total = sum(last.values())
    share = last[main.pid] / total if workers and total else None
    return rps_of(out), share


def main() -> None:
    args = bench_arguments(__doc__)
    single, double, shares = [], [], []
    with tempfile.TemporaryDirectory(prefix="swarmgate-bench-") as tmp:
        work = Path(tmp)
        target, host = start_target(work)
        try:
            for round_no in range(args.rounds):
                one, _ = run(work / f"r{round_no}-one", host, args.seconds, args.users, workers=0)
                two, share = run(work / f"r{round_no}-two", host, args.seconds, args.users, workers=2)
                single.append(one)
                double.append(two)
                shares.append(share)
                print(f"round {round_no + 1}: one process {one:7.0f} req/s, master + 2 workers {two:7.0f} req/s, "
                      f"master CPU share {share:.1%}", flush=True)  # fmt: skip
        finally:
            target.send_signal(signal.SIGTERM)
            target.wait(timeout=10)
    one, two, share = statistics.median(single), statistics.median(double), statistics.median(shares)
    print(f"\nmedian one process          {one:7.0f} req/s")
    print(f"median master + 2 workers   {two:7.0f} req/s")
    print(f"ratio 2 workers / 1 process = {two / one:.2f}   ({os.cpu_count()} cores, shared with the target)")
    print(f"master's share of load-generator CPU = {share:.1%}")


if __name__ == "__main__":
    main()
