"""A team's own locustfile, no swarmgate import in it, through `swarmgate run`: one process and two
workers, every file of the results contract, its classes in run.json; and what is refused up front."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SWARMGATE, closed_port, constant_scenario, stop, swarm_until_stopped, wait_for_web_ui

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent
CONTRACT = {"run.json", "stages.json", "locust_stats.csv", "locust_stats_history.csv", "locust.json",
            "locust_failures.csv", "slow_requests.csv", "resources.csv", "summary.json", "junit.xml", "summary.md",
            "report.html"}  # fmt: skip


def team_project(tmp_path: Path) -> Path:
    """locustfile.py and scenarios/reads.toml (naming it, [mix] Reader only, write tasks excluded)."""
    shutil.copy(HERE / "plain_locustfile.py", tmp_path / "locustfile.py")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "reads.toml").write_text('locustfile = "../locustfile.py"\nexclude_tags = ["write"]\n'
                                                       + constant_scenario(4, "8s", Reader=1))  # fmt: skip
    return tmp_path


def only_run_dir(results: Path, scenario: str) -> Path:
    (run_dir,) = (results / scenario).iterdir()
    return run_dir


def test_a_plain_locustfile_runs_in_one_process_and_with_two_workers(tmp_path):
    project = team_project(tmp_path)
    runs = {  # side by side: nothing here measures time
        "one": subprocess.Popen(
            [
                *SWARMGATE,
                "run",
                "smoke",
                "--locustfile",
                "locustfile.py",
                "--time-scale",
                "0.2",
                "--results-dir",
                "one",
            ],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),  # fmt: skip
        "two": subprocess.Popen(
            [*SWARMGATE, "run", "reads", "--workers", "2", "--results-dir", "two"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),  # fmt: skip
    }
    outputs = {name: proc.communicate(timeout=240) for name, proc in runs.items()}
    for name, proc in runs.items():
        assert proc.returncode == 0, outputs[name]
        assert "verdict: PASS" in outputs[name][0], outputs[name]

    one = only_run_dir(project / "one", "smoke")
    assert CONTRACT <= {p.name for p in one.iterdir()}
    run = json.loads((one / "run.json").read_text())
    assert run["locustfile"] == "locustfile.py" and run["status"] == "finished"
    assert run["user_classes"] == {"Reader": 3, "Writer": 1} == run["plan"]["mix"]  # the file's own weights
    assert set(run["requests_by_user_class"]) == {"Reader", "Writer"}
    assert all(count > 0 for count in run["requests_by_user_class"].values())
    assert "(Reader " in outputs["one"][1] and "Writer " in outputs["one"][1]
    summary = json.loads((one / "summary.json").read_text())
    assert {(e["method"], e["name"]) for e in summary["endpoints"]} >= {("GET", "/health"),
                                                                       ("POST", "/api/knowledge")}  # fmt: skip

    two = only_run_dir(project / "two", "reads")
    assert CONTRACT <= {p.name for p in two.iterdir()}
    run = json.loads((two / "run.json").read_text())
    assert run["worker_processes"] == 2 and run["workers"]["lost"] == []
    assert run["plan"]["mix"] == {"Reader": 1} and set(run["requests_by_user_class"]) == {"Reader"}
    with open(two / "locust_stats.csv", newline="") as handle:
        routes = {(row["Type"], row["Name"]) for row in csv.DictReader(handle)}
    assert routes == {
        ("POST", "/api/auth/login"),
        ("GET", "/health"),
        ("GET", "/api/workspaces"),
        ("", "Aggregated"),
    }  # the write tasks excluded


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[mix]\nReader = 1\nAdmin = 1\n', "mix names Admin, which {file} does not define; its user classes: "
                                           "Reader, Writer"),
        ("", "the locustfile {file} defines a LoadTestShape (Waves); `swarmgate run` drives the load from the "
             "scenario"),
    ],
    ids=["mix-names-a-missing-class", "locustfile-has-its-own-shape"],
)  # fmt: skip
def test_what_cannot_run_is_refused_in_one_line_before_any_run_dir(tmp_path, extra, expected):
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text((HERE / "plain_locustfile.py").read_text() + (
        "\n\nfrom locust import LoadTestShape\n\n\nclass Waves(LoadTestShape):\n    def tick(self):\n"
        "        return None\n" if not extra else ""))  # fmt: skip
    (tmp_path / "team.toml").write_text('locustfile = "locustfile.py"\n' + constant_scenario(2, "5s").split("[mix]")[0]
                                        + extra)  # fmt: skip
    done = subprocess.run([*SWARMGATE, "run", "team.toml", "--results-dir", "results"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert expected.format(file=locustfile) in line
    assert not (tmp_path / "results").exists()


def test_the_web_ui_runs_a_plain_locustfile_with_the_recorders_attached(tmp_path, demo, demo_passwords):
    shutil.copy(HERE / "plain_locustfile.py", tmp_path / "locustfile.py")
    port = closed_port()
    ui = subprocess.Popen([*SWARMGATE, "web", "--locustfile", "locustfile.py", "--host", demo.url, "--web-port",
                           str(port), "--results-dir", "results"], cwd=tmp_path,
                          env={**os.environ, **demo_passwords["users"]}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        page = wait_for_web_ui(base, ui)
        assert '"Reader"' in page and '"Writer"' in page and '"StepLoad"' in page  # its classes, our shapes
        form = {"user_classes": "Reader", "shape_class": "Constant", "host": demo.url, "shape_users": "2",
                "shape_duration_s": "3", "shape_spawn_rate": "2", "user_count": "1", "spawn_rate": "1"}  # fmt: skip
        swarm_until_stopped(base, form)
    finally:
        stop(ui)
    (run_dir,) = (tmp_path / "results" / "web").iterdir()
    run = json.loads((run_dir / "run.json").read_text())
    assert set(run["requests_by_user_class"]) == {"Reader"} and run["requests_by_user_class"]["Reader"] > 0
    assert (run_dir / "stages.json").is_file()
