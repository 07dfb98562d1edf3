"""The package as a new user gets it: a wheel built from this tree, installed into a fresh virtual
environment outside the repository, used from an empty directory (a git project of the user's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, stop

pytestmark = pytest.mark.integration

RUN_FILES = {"run.json", "stages.json", "resources.csv", "locust.json", "locust_stats.csv", "locust_stats_history.csv",
             "summary.json", "charts.json", "junit.xml", "summary.md", "report.html"}  # fmt: skip


def quiet_env() -> dict[str, str]:
    """No variable of this checkout's environment may point the new install back at the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "SWARMGATE_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel, create a fresh venv, install the wheel (and its dependencies) into it."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy: setuptools' build/ folder in the tree could carry stale files into a wheel
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "results", "*.egg-info", "__pycache__", "test-artifacts", ".*_cache"))  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(source)],
                   check=True, env=quiet_env(), capture_output=True)  # fmt: skip
    (wheel,) = (base / "dist").glob("swarmgate-*.whl")
    venv = base / "venv"  # fresh, without pip of its own: this pip installs into it (--python), no bytecode yet
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-compile", str(wheel)], check=True, env=quiet_env(), capture_output=True)  # fmt: skip
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", purelib], check=True, capture_output=True,
                               text=True).stdout.strip())  # fmt: skip
    project = base / "project"  # the user's own project: a git repository with folders named like ours
    project.mkdir()
    for shadow in ("analysis", "reports", "shapes", "locustfiles", "demo", "swarmgate", "locust"):
        (project / shadow).mkdir()
        (project / shadow / "__init__.py").write_text('raise ImportError("the user\'s own package was imported")\n')
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    revision = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()  # fmt: skip
    return {"wheel": wheel, "venv": venv, "site": site, "project": project, "revision": revision}


def test_the_wheel_holds_every_module_and_the_default_data(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    folders = ("analysis", "reports", "shapes", "locustfiles", "demo", "swarmgate")
    sources = [f"swarmgate/{folder}/{p.relative_to(ROOT / folder).as_posix()}" for folder in folders
               for p in (ROOT / folder).rglob("*.py")]  # fmt: skip
    sources = [source.replace("swarmgate/swarmgate/", "swarmgate/") for source in sources]
    assert len(sources) > 60
    assert not [source for source in sources if source not in names]
    for path in (ROOT / "scenarios").glob("*.toml"):
        assert f"swarmgate/defaults/scenarios/{path.name}" in names
    assert {
        "swarmgate/defaults/sla.toml",
        "swarmgate/defaults/weekly.toml",
        "swarmgate/reports/static/report.css",
        "swarmgate/reports/templates/report.html.j2",
        "swarmgate/reports/static/vendor/chart.umd.min.js",
        "swarmgate/starter/locustfile.py",
        "swarmgate/starter/load-test.yml",
    } <= names
    assert {n.split("/")[0] for n in names if not n.startswith("swarmgate-")} == {"swarmgate"}


def test_site_packages_gains_one_top_level_package(installed):
    """Of everything pip installed, the swarmgate distribution itself owns one top-level name."""
    (record,) = installed["site"].glob("swarmgate-*.dist-info/RECORD")
    owned = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines() if line}
    assert {name for name in owned if not name.endswith(".dist-info") and name != ".."} == {"swarmgate"}
    for generic in ("analysis", "reports", "shapes", "locustfiles", "demo"):
        assert not (installed["site"] / generic).exists()


def test_runs_analysis_and_trend_from_an_empty_directory(installed):
    bin_dir, project = installed["venv"] / "bin", installed["project"]
    swarmgate = [str(bin_dir / "swarmgate")]
    env = {**quiet_env(), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    port_file = project / "demo.port"
    demo = subprocess.Popen([*swarmgate, "demo", "--port", "0", "--port-file", str(port_file), "--db",
                             str(project / "own-demo.sqlite")], cwd=project, env={**env,
                             "SWARMGATE_DEMO_USER_PASSWORD": "pw-user-123",
                             "SWARMGATE_DEMO_ADMIN_PASSWORD": "pw-adm-123"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() and demo.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        users = {"SWARMGATE_USERNAME": "demo", "SWARMGATE_PASSWORD": "pw-user-123",
                 "SWARMGATE_ADMIN_USERNAME": "admin", "SWARMGATE_ADMIN_PASSWORD": "pw-adm-123"}  # fmt: skip
        external = subprocess.Popen([*swarmgate, "run", "smoke", "--host", f"http://127.0.0.1:{port}", "--time-scale",
                                     "0.2", "--results-dir", "external"], cwd=project, env={**env, **users},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        init = subprocess.run([*swarmgate, "init", "team"], cwd=project, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert init.returncode == 0 and "wrote team/locustfile.py" in init.stdout, init.stderr
        starter = subprocess.Popen([*swarmgate, "run", "smoke", "--host", f"http://127.0.0.1:{port}", "--time-scale",
                                    "0.2"], cwd=project / "team", env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        embedded = subprocess.run([*swarmgate, "run", "smoke", "--time-scale", "0.2"], cwd=project, env=env,
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
        out, err = external.communicate(timeout=300)
        starter_out, starter_err = starter.communicate(timeout=300)
    finally:
        stop(demo)
    assert external.returncode == 0, err
    # `swarmgate init`, then `swarmgate run smoke` in that directory: the starter's own users ran
    assert starter.returncode == 0 and "verdict: PASS" in starter_out, starter_err
    (run_dir,) = (project / "team" / "results" / "smoke").iterdir()
    assert RUN_FILES <= {p.name for p in run_dir.iterdir()}
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["locustfile"] == "locustfile.py" and set(meta["requests_by_user_class"]) == {"ApiUser", "ProbeUser"}
    assert embedded.returncode == 0, embedded.stderr
    assert "known scenarios: none" not in embedded.stderr and "verdict: PASS" in embedded.stdout
    for results in (project / "external", project / "results"):
        (run_dir,) = (results / "smoke").iterdir()
        assert RUN_FILES <= {p.name for p in run_dir.iterdir()}, sorted(p.name for p in run_dir.iterdir())
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["git_revision"] == installed["revision"]  # the user's project, not site-packages
        assert json.loads((run_dir / "summary.json").read_text())["verdict"] == "pass"
    (run_dir,) = (project / "results" / "smoke").iterdir()
    analyzed = subprocess.run([*swarmgate, "analyze", str(run_dir), "--out", "again"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert analyzed.returncode == 0 and "verdict: PASS" in analyzed.stdout, analyzed.stderr
    assert {"summary.json", "report.html"} <= {p.name for p in (project / "again").iterdir()}
    trend = subprocess.run([*swarmgate, "trend"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert trend.returncode == 0 and "1 scenario(s), 1 run(s)" in trend.stdout, trend.stdout + trend.stderr
    assert (project / "results" / "trend.html").stat().st_size > 10_000
