"""Requests/s of our users with all recorders vs a bare FastHttpUser and a plain HttpUser, in one run.

Every variant runs as a real single `locust` process pinned to one core (ours with the live judge on,
as under `swarmgate run`), against the same minimal
target pinned to the other, with the same Locust flags (CSV, full history, JSON). Rounds alternate
the variants so drift on the machine hits them alike; the median of each is compared.

    .venv/bin/python bench/bench_users.py [--seconds 15] [--rounds 3] [--users 20]

Targets: ours >= 0.9 x bare FastHttpUser, and >= 3 x HttpUser.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VARIANTS = {
    "bare FastHttpUser": (BENCH / "locustfiles" / "references.py", "BareFastHttpUser"),
    "swarmgate user + recorders": (BENCH / "locustfiles" / "swarmgate_user.py", "BenchSwarmgateUser"),
    "plain HttpUser": (BENCH / "locustfiles" / "references.py", "PlainHttpUser"),
}
TOKEN = "bench-token-not-a-secret"
SLA = ROOT / "sla.toml"


def pin(core: int):
    cores = sorted(os.sched_getaffinity(0))
    chosen = {cores[core % len(cores)]}
    return lambda: os.sched_setaffinity(0, chosen)


def start_target(work: Path) -> tuple[subprocess.Popen, str]:
    port_file = work / "target.port"
    proc = subprocess.Popen([sys.executable, str(BENCH / "minimal_target.py"), str(port_file)], preexec_fn=pin(1))
    deadline = time.monotonic() + 15
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench: the minimal target did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def run_variant(variant: tuple[Path, str], host: str, out: Path, seconds: int, users: int) -> float:
    """One real locust process; returns requests per second from its final JSON histograms."""
    out.mkdir(parents=True)
    prefix = str(out / "locust")
    locustfile, user_class = variant
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), user_class, "--headless", "--host", host,
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", prefix, "--csv-full-history",
           "--json-file", prefix, "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING"]  # fmt: skip
    # The SLA file turns on the live judge and its gates, as `swarmgate run` always does.
    env = {**os.environ, "SWARMGATE_TOKEN": TOKEN, "SWARMGATE_RESULTS_DIR": str(out), "SWARMGATE_SLA_FILE": str(SLA)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60, preexec_fn=pin(0))
    if done.returncode != 0 or not (out / "locust.json").exists():
        raise SystemExit(f"bench: {locustfile.name} failed: {done.stderr[-500:]}")
    return rps_of(out)


def rps_of(out: Path) -> float:
    """Requests per second of a run, from its final locust.json; a run with failures is refused."""
    entries = json.loads((out / "locust.json").read_text())
    if not entries:
        raise SystemExit(f"bench: no requests in {out}")
    failures = sum(e["num_failures"] for e in entries)
    if failures:
        raise SystemExit(f"bench: {failures} failures in {out}; the comparison would be unfair")
    start = min(e["start_time"] for e in entries)
    end = max(e["last_request_timestamp"] for e in entries)
    return sum(e["num_requests"] for e in entries) / (end - start)


def bench_arguments(doc: str) -> argparse.Namespace:
    """The options every load benchmark takes: seconds per variant, rounds, users."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = bench_arguments(__doc__)
    rps: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="swarmgate-bench-") as tmp:
        work = Path(tmp)
        target, host = start_target(work)
        try:
            for round_no in range(args.rounds):
                for index, (name, variant) in enumerate(VARIANTS.items()):
                    value = run_variant(variant, host, work / f"r{round_no}-{index}", args.seconds, args.users)
                    rps[name].append(value)
                    print(f"round {round_no + 1}: {name:28s} {value:8.0f} req/s", flush=True)
        finally:
            target.send_signal(signal.SIGTERM)
            target.wait(timeout=10)
    median = {name: statistics.median(values) for name, values in rps.items()}
    bare, ours, plain = (median[name] for name in ("bare FastHttpUser", "swarmgate user + recorders", "plain HttpUser"))
    print()
    for name, value in median.items():
        print(f"median {name:28s} {value:8.0f} req/s")
    print(f"ratio ours / bare FastHttpUser = {ours / bare:.2f}  (target >= 0.90)")
    print(f"ratio ours / plain HttpUser    = {ours / plain:.2f}  (target >= 3.00)")
    sys.exit(0 if ours / bare >= 0.9 and ours / plain >= 3.0 else 1)


if __name__ == "__main__":
    main()
