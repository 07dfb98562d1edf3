"""What an adversarial review found, each refused in one line with exit 2 before anything runs:
hostile scenario, SLA and weekly values, a host that is not a URL, options smuggled in as values."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from swarmgate.cli import main
from swarmgate.core.plan import Stage
from swarmgate.run import RunOptions, locust_command
from swarmgate.scenarios import Scenario
from swarmgate.target import validate_host

CONSTANT = '[shape]\nkind = "constant"\nusers = 2\nduration = "10s"\n'
SCENARIOS = {  # file text -> the words the refusal must hold
    "tags-option": ('tags = ["--host=http://127.0.0.2:18602"]\n' + CONSTANT, "tags:"),
    "tags-empty": ('tags = [""]\n' + CONSTANT, "tags:"),
    "tags-huge": ("tags = [" + ", ".join(['"t"'] * 200_000) + "]\n" + CONSTANT, "bytes"),
    "arrival-inf": ("arrival_rate = inf\n" + CONSTANT, "arrival_rate:"),
    "duration-inf": ('[shape]\nkind = "constant"\nusers = 2\nduration = inf\n', "shape.duration:"),
    "duration-nan": ('[shape]\nkind = "constant"\nusers = 2\nduration = nan\n', "shape.duration:"),
    "users-401-digits": ('[shape]\nkind = "constant"\nusers = ' + "9" * 401 + '\nduration = "10s"\n', "shape.users:"),
    "capacity-20-million": ('[shape]\nkind = "capacity"\nstart_users = 1\nstep_users = 1\nmax_users = 20000000\n'
                            'step_duration = "10s"\n', "shape.max_users:"),
    "capacity-many-steps": ('[shape]\nkind = "capacity"\nstart_users = 1\nstep_users = 1\nmax_users = 90000\n'
                            'step_duration = "10s"\n', "steps; at most"),
    "sla-list": ('sla = ["smoke"]\n' + CONSTANT, "sla:"),
    "steps-bool": ('[shape]\nkind = "step"\nsteps = [true, 5]\nstep_duration = "10s"\n', "shape.steps:"),
    "steady-word": ('[shape]\nkind = "stages"\nstages = [{ duration = "5s", users = 2, steady = "no" }]\n',
                    "shape.stages[0].steady:"),
    "deep-nesting": ("tags = " + "[" * 3000 + "]" * 3000 + "\n" + CONSTANT, "too deeply"),
    "spawn-rate-inf": (CONSTANT + "spawn_rate = inf\n", "shape.spawn_rate:"),
}  # fmt: skip
SLA_FILES = {
    "alert-inf": ("[defaults]\np95_ms = { target = 500, alert = inf }\n", "defaults.p95_ms:"),
    "target-nan": ("[defaults]\np95_ms = { target = nan, alert = 750 }\n", "defaults.p95_ms:"),
    "method-number": ('[[endpoints]]\nname = "/x"\nmethod = 5\np95_ms = { target = 1, alert = 2 }\n',
                      "endpoints[1].method:"),
    "apdex-inf": ("apdex_t_ms = inf\n", "apdex_t_ms:"),
    "p-value-huge": ("[regression]\np_value = " + "9" * 401 + "\n", "regression.p_value:"),
    "ratio-above-one": ("[defaults]\nerror_ratio = { target = 2, alert = 3 }\n", "defaults.error_ratio:"),
}  # fmt: skip
WEEKLY_FILES = {
    "host-empty": ('scenarios = ["smoke"]\nhost = ""\n', "host:"),
    "host-not-url": ('scenarios = ["smoke"]\nhost = "--host=http://127.0.0.2"\n', "host:"),
    "time-scale-inf": ('scenarios = ["smoke"]\ntime_scale = inf\n', "time_scale:"),
    "keep-days-nan": ('scenarios = ["smoke"]\n[retention]\nkeep_days = nan\n', "retention.keep_days:"),
}


def refused(capsys, args: list[str], tmp_path: Path) -> str:
    """Run the CLI in this process; it must exit 2 with one line on stderr and leave no results folder."""
    with pytest.raises(SystemExit) as done:
        main([*args, "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert done.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "results").exists()
    return err


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_hostile_scenarios_are_refused(tmp_path, capsys, case):
    text, words = SCENARIOS[case]
    path = tmp_path / f"{case.replace('-', '_')}.toml"
    path.write_text(text)
    assert words in refused(capsys, ["run", str(path)], tmp_path)


def test_a_scenario_file_named_dot_dot_cannot_write_outside_the_results(tmp_path, capsys):
    path = tmp_path / "...toml"
    path.write_text(CONSTANT)
    assert "file name: '..'" in refused(capsys, ["run", str(path)], tmp_path)


@pytest.mark.parametrize("case", sorted(SLA_FILES))
def test_hostile_sla_tables_are_refused(tmp_path, capsys, case):
    text, words = SLA_FILES[case]
    (tmp_path / "sla.toml").write_text(text)
    assert words in refused(capsys, ["run", "smoke", "--sla", str(tmp_path / "sla.toml")], tmp_path)


@pytest.mark.parametrize("case", sorted(WEEKLY_FILES))
def test_hostile_weekly_configs_are_refused(tmp_path, capsys, case):
    text, words = WEEKLY_FILES[case]
    (tmp_path / "weekly.toml").write_text(text)
    assert words in refused(capsys, ["weekly", "--config", str(tmp_path / "weekly.toml")], tmp_path)


@pytest.mark.parametrize("host", ["http://" + "a" * 5000 + ".example", "http://" + "b" * 64 + ".example:8000"])
def test_a_host_that_is_not_a_dns_name_is_one_line(tmp_path, capsys, host):
    assert "--host" in refused(capsys, ["run", "smoke", "--host", host], tmp_path)


def test_every_value_reaches_locust_attached_to_its_option(tmp_path):
    """No value from a file or option stands alone where Locust could read it as an option."""
    scenario = Scenario("s", (Stage("steady", 5, 1, 1, True),), mix={"BaselineUser": 1}, tags=("read",),
                        exclude_tags=("heavy",))  # fmt: skip
    options = RunOptions(locustfile=Path("/x/locustfile.py"), workers=2, master_port=5557)
    command = locust_command(scenario, options, "http://127.0.0.1:8000", tmp_path)
    assert command[:4] == [sys.executable, "-P", "-m", "swarmgate.locust_process"]  # -P: not the working dir
    words = command[4:]
    lists = {"--tags": ["read"], "--exclude-tags": ["heavy"]}
    index = 0
    while index < len(words):
        word = words[index]
        if word in lists:
            assert words[index + 1 : index + 1 + len(lists[word])] == lists[word]
            index += 1 + len(lists[word])
            continue
        assert word.startswith("--") or word == "BaselineUser", word  # options, or a validated class name
        index += 1
    assert "--host=http://127.0.0.1:8000" in words and f"--csv={tmp_path / 'locust'}" in words
    assert validate_host("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
