"""`swarmgate init`: a starter project whose scenarios run its own locustfile, and never an overwrite."""

import ast

import pytest
import yaml
from click.testing import CliRunner

import swarmgate
from swarmgate.analysis.sla import load_sla
from swarmgate.cli import cli, main
from swarmgate.init_project import SCENARIOS, WORKFLOW
from swarmgate.scenarios import load_scenario


def test_init_writes_a_project_whose_scenarios_run_its_locustfile(tmp_path):
    done = CliRunner().invoke(cli, ["init", str(tmp_path / "proj")])
    assert done.exit_code == 0, done.output
    proj = tmp_path / "proj"
    written = sorted(str(p.relative_to(proj)) for p in proj.rglob("*") if p.is_file())
    assert written == sorted([".github/workflows/load-test.yml", "locustfile.py", "sla.toml", "weekly.toml",
                              *(f"scenarios/{name}.toml" for name in SCENARIOS)])  # fmt: skip
    classes = [node.name for node in ast.parse((proj / "locustfile.py").read_text()).body
               if isinstance(node, ast.ClassDef)]  # fmt: skip
    assert classes == ["ApiUser", "ProbeUser"]
    for name in SCENARIOS:
        scenario = load_scenario(str(proj / "scenarios" / f"{name}.toml"))
        assert scenario.locustfile == (proj / "locustfile.py").resolve()
        assert scenario.mix == {} and not scenario.packaged
    assert load_scenario(str(proj / "scenarios" / "capacity.toml")).capacity is not None
    assert "next: cd " in done.output and f"CI: move {proj / '.github'}" in done.output
    sla = load_sla(proj / "sla.toml")  # the production table, without the demo's throughput floors
    assert sla.defaults["p95_ms"].alert == 750 and not any("min_rps" in t for t in sla.scenarios.values())
    workflow = yaml.safe_load((proj / WORKFLOW).read_text())
    assert workflow["env"]["LOAD_TEST_DIR"] == str(proj) and workflow["jobs"]["load-test"]["steps"][2]["run"] == (
        f'pip install "swarmgate=={swarmgate.__version__}"')  # fmt: skip


def test_init_overwrites_nothing_and_writes_nothing_when_a_file_exists(tmp_path, capsys):
    (tmp_path / "sla.toml").write_text("# mine\n")
    with pytest.raises(SystemExit) as exit_:
        main(["init", str(tmp_path)])
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (f"swarmgate: {tmp_path}: already has {tmp_path}/sla.toml; nothing was written (swarmgate init "
                    "never overwrites): move them or choose another directory")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sla.toml"]
    assert (tmp_path / "sla.toml").read_text() == "# mine\n"
