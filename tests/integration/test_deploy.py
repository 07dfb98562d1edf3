"""deploy/: every file parses, every command line in it is a valid swarmgate command, and the
Kubernetes master and worker commands run here as they would in pods (a master and two workers).

The weekly CronJob, cron, systemd and CI files run `swarmgate weekly --config F --results-dir D` or
`./run_load_tests.sh --weekly`, which tests/integration/test_weekly.py runs for real.
"""

from __future__ import annotations

import configparser
import json
import shlex
import subprocess

import click
import pytest
import yaml

from swarmgate.cli import cli
from tests.helpers import ROOT, SWARMGATE, closed_port, start_demo, stop

pytestmark = pytest.mark.integration
DEPLOY = ROOT / "deploy"


def kubernetes_documents() -> dict[str, dict]:
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata"} <= set(document), path
            found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def containers(document: dict) -> list[dict]:
    spec = document["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if document["kind"] == "CronJob" else spec["template"]
    assert template["spec"]["restartPolicy"] in ("Never", "OnFailure"), "a run that ends must not be restarted"
    return template["spec"]["containers"]


def command_lines() -> dict[str, list[str]]:
    """Every swarmgate command line in deploy/, as argument lists after the `swarmgate` entry point."""
    lines = {}
    for name, document in kubernetes_documents().items():
        if document["kind"] in ("Job", "CronJob"):
            (container,) = containers(document)
            lines[name] = container["args"]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for service, spec in compose["services"].items():
        lines[f"compose/{service}"] = spec["command"]
    script_lines = [line.split("cd /opt/swarmgate && ", 1)[1].split(">>")[0]
                    for line in (DEPLOY / "cron" / "swarmgate-weekly").read_text().splitlines()
                    if line and not line.startswith(("#", "SHELL"))]  # fmt: skip
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(DEPLOY / "systemd" / "swarmgate-weekly.service")
    script_lines.append(service["Service"]["ExecStart"].replace("/opt/swarmgate/", "./"))
    workflow = yaml.safe_load((DEPLOY / "ci" / "weekly-load-test.yml").read_text())
    script_lines += [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    for index, line in enumerate(script_lines):
        words = shlex.split(line)
        assert words[:2] == ["./run_load_tests.sh", "--weekly"], line
        lines[f"script/{index}"] = ["weekly", *words[2:]]
    return lines


def parse(args: list[str]) -> None:
    """Parse a command line the way `swarmgate` would, down to the subcommand's options, without running it."""
    group = cli.make_context("swarmgate", list(args))
    name, command, rest = cli.resolve_command(group, [*group._protected_args, *group.args])
    command.make_context(name, rest, parent=group)


def test_the_parser_used_here_catches_bad_command_lines():
    parse(["run", "baseline", "--workers", "2"])
    for bad in (["run", "--no-such-option"], ["weekly", "--time-scale", "zero"], ["nope"]):
        with pytest.raises(click.UsageError):
            parse(bad)


def test_every_deploy_file_parses():
    documents = kubernetes_documents()
    assert {"Job/swarmgate-master", "Service/swarmgate-master", "Job/swarmgate-worker",
            "CronJob/swarmgate-weekly"} <= set(documents)  # fmt: skip
    workers = documents["Job/swarmgate-worker"]["spec"]
    (master,) = containers(documents["Job/swarmgate-master"])
    expected = master["args"][master["args"].index("--expect-workers") + 1]
    assert workers["parallelism"] == workers["completions"] == int(expected)  # as many workers as the master waits for
    assert documents["CronJob/swarmgate-weekly"]["spec"]["concurrencyPolicy"] == "Forbid"
    assert documents["Service/swarmgate-master"]["spec"]["type"] == "ClusterIP"  # the master port stays inside
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(DEPLOY / "systemd" / "swarmgate-weekly.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    workflow = yaml.safe_load((DEPLOY / "ci" / "weekly-load-test.yml").read_text())
    assert workflow[True]["schedule"][0]["cron"] == "0 3 * * 1"  # YAML reads the key `on` as true
    assert 'ENTRYPOINT ["swarmgate"]' in (DEPLOY / "Dockerfile").read_text()


def test_every_command_line_is_a_valid_swarmgate_command():
    lines = command_lines()
    assert len(lines) >= 8
    for name, args in lines.items():
        parse(args)  # raises on an unknown command or option, or a bad value
        assert not any(word.startswith("--token") or "password" in word.lower() for word in args), name


def test_the_kubernetes_master_and_worker_commands_run_here(tmp_path):
    documents = kubernetes_documents()
    (master_container,) = containers(documents["Job/swarmgate-master"])
    (worker_container,) = containers(documents["Job/swarmgate-worker"])
    replicas = documents["Job/swarmgate-worker"]["spec"]["parallelism"]
    demo, port = start_demo(tmp_path / "demo"), str(closed_port())

    def local(args: list[str], results: str) -> list[str]:
        swapped = {"$(TARGET_HOST)": demo.url, "swarmgate-master": "127.0.0.1", "5557": port, "/results": results,
                   "/tmp/results": results, "0.0.0.0": "127.0.0.1"}  # fmt: skip
        return [*SWARMGATE, *(swapped.get(word, word) for word in args)]

    master = subprocess.Popen([*local(master_container["args"], str(tmp_path / "results")), "--time-scale", "0.04"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    workers = [subprocess.Popen(local(worker_container["args"], str(tmp_path / "workers")), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(replicas)]  # fmt: skip
    try:
        out, _ = master.communicate(timeout=180)
        for worker in workers:
            worker.wait(timeout=30)  # they end with the master's run
    finally:
        for proc in (*workers, master):
            stop(proc)
        stop(demo.proc)
    assert master.returncode in (0, 1), out
    (run_dir,) = (tmp_path / "results" / "baseline").iterdir()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["workers"]["expected"] == replicas and meta["workers"]["seen"] == replicas, meta["workers"]
    assert meta["status"] == "finished" and (run_dir / "report.html").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["endpoints"][-1]["requests"] > 0
    assert all(worker.returncode == 0 for worker in workers)
