from pathlib import Path

import pytest

from swarmgate.core.config import parse_duration
from swarmgate.core.defaults import packaged
from swarmgate.core.errors import BadInput
from swarmgate.scenarios import DEFAULT_MIX, load_scenario, with_users

SCENARIO_DIR = packaged("scenarios")


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), (90, 90), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5s", 0, "5 minutes", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
def test_every_scenario_file_loads(name):
    scenario = load_scenario(name)
    assert scenario.duration_s > 0 and scenario.users > 0 and scenario.user_classes


def test_the_catalog_has_the_seed_test_plans():
    names = {p.stem for p in SCENARIO_DIR.glob("*.toml")}
    assert {"smoke", "baseline", "peak", "stress", "spike", "endurance", "step", "ramp", "capacity"} <= names
    assert (load_scenario("baseline").users, load_scenario("baseline").duration_s) == (10, 300)
    assert (load_scenario("peak").users, load_scenario("peak").duration_s) == (100, 600)
    assert (load_scenario("stress").users, load_scenario("stress").duration_s) == (200, 900)
    assert (load_scenario("endurance").users, load_scenario("endurance").duration_s) == (50, 3600)
    assert [s.users for s in load_scenario("step").plan if s.steady] == [5, 20, 50, 100]
    assert [s.users for s in load_scenario("spike").plan if s.steady] == [20, 200, 20]
    assert [(s.duration_s, s.users) for s in load_scenario("ramp").plan] == [(120, 50), (300, 100), (600, 100),
                                                                            (180, 0)]  # fmt: skip
    assert load_scenario("baseline").mix == {"BaselineUser": 70, "PeakUser": 20, "AdminUser": 10}


def test_smoke_scenario_uses_all_four_user_classes():
    smoke = load_scenario("smoke")
    assert smoke.user_classes == ["BaselineUser", "PeakUser", "AdminUser", "StressTestUser"]
    assert smoke.duration_s == 30
    quick = smoke.scaled(0.1)
    assert quick.duration_s == pytest.approx(3) and quick.time_scale == 0.1
    assert [s.users for s in quick.plan] == [s.users for s in smoke.plan]


OK_SHAPE = '[shape]\nkind = "constant"\nusers = 5\nduration = "10s"\n'
BAD = {
    "unknown_key": 'colour = "red"\n' + OK_SHAPE,
    "unknown_shape_key": OK_SHAPE + "ramp = 3\n",
    "zero_users": '[shape]\nkind = "constant"\nusers = 0\nduration = "10s"\n',
    "fractional_users": '[shape]\nkind = "constant"\nusers = 2.5\nduration = "10s"\n',
    "negative_duration": '[shape]\nkind = "constant"\nusers = 5\nduration = "-10s"\n',
    "zero_duration": '[shape]\nkind = "constant"\nusers = 5\nduration = 0\n',
    "words_duration": '[shape]\nkind = "constant"\nusers = 5\nduration = "ten minutes"\n',
    "negative_spawn_rate": OK_SHAPE + "spawn_rate = -1\n",
    "bad_class": OK_SHAPE + '[mix]\n"Ghost User" = 5\n',
    "negative_weight": OK_SHAPE + "[mix]\nBaselineUser = -5\n",
    "all_zero_mix": OK_SHAPE + "[mix]\nBaselineUser = 0\n",
    "not_toml": "users = = 5\n",
    "no_shape": 'description = "x"\n',
    "unknown_kind": '[shape]\nkind = "wave"\n',
    "empty_steps": '[shape]\nkind = "step"\nsteps = []\nstep_duration = "1m"\n',
    "zero_step": '[shape]\nkind = "step"\nsteps = [5, 0]\nstep_duration = "1m"\n',
    "ramp_all_zero": '[shape]\nkind = "ramp"\nstages = [{ duration = "1m", users = 0 }]\n',
    "ramp_bad_stage": '[shape]\nkind = "ramp"\nstages = [{ duration = "1m", users = 5, pace = 2 }]\n',
    "stages_bad_mix": '[shape]\nkind = "stages"\nstages = [{ duration = "1m", users = 5, mix = ["No User"] }]\n',
    "capacity_max_below_start": '[shape]\nkind = "capacity"\nstart_users = 50\nstep_users = 10\nmax_users = 20\n'
    'step_duration = "1m"\n',
    "capacity_error_ratio_above_1": '[shape]\nkind = "capacity"\nstart_users = 5\nstep_users = 5\nmax_users = 20\n'
    'step_duration = "1m"\nbreach_error_ratio = 2\n',
    "arrival_rate_zero": "arrival_rate = 0\n" + OK_SHAPE,
    "tags_not_list": 'tags = "read"\n' + OK_SHAPE,
}


# What each malformed file must be refused for: the key, and words of the problem.
PROBLEM = {
    "all_zero_mix": ("mix:", "needs a weight above 0"),
    "arrival_rate_zero": ("arrival_rate:", "more than 0"),
    "bad_class": ("mix.Ghost User:", "not a user class name"),
    "capacity_error_ratio_above_1": ("shape.breach_error_ratio:", "at most 1, got 2"),
    "capacity_max_below_start": ("shape.max_users:", "at least start_users"),
    "empty_steps": ("shape.steps:", "user counts from 1"),
    "fractional_users": ("shape.users:", "whole number from 1 to 100,000, got 2.5"),
    "negative_duration": ("shape.duration:", "not a duration"),
    "negative_spawn_rate": ("shape.spawn_rate:", "more than 0"),
    "negative_weight": ("mix.BaselineUser:", "from 0 to 1,000,000, got -5"),
    "no_shape": ("shape:", "missing table [shape]"),
    "not_toml": ("", "not valid TOML"),
    "ramp_all_zero": ("shape.stages:", "0 users"),
    "ramp_bad_stage": ("shape.stages[0].pace:", "unknown key"),
    "stages_bad_mix": ("shape.stages[0].mix:", "user class names"),
    "tags_not_list": ("tags:", "tag names"),
    "unknown_key": ("colour:", "unknown key"),
    "unknown_kind": ("shape.kind:", "'wave' is not one of"),
    "unknown_shape_key": ("shape.ramp:", "unknown key"),
    "words_duration": ("shape.duration:", "not a duration"),
    "zero_duration": ("shape.duration:", "more than 0"),
    "zero_step": ("shape.steps:", "user counts from 1"),
    "zero_users": ("shape.users:", "whole number from 1 to 100,000, got 0"),
}


def test_every_malformed_file_names_its_problem():
    assert set(PROBLEM) == set(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_scenarios_are_refused_in_one_line(tmp_path, name):
    (tmp_path / f"{name}.toml").write_text(BAD[name])
    with pytest.raises(BadInput) as err:
        load_scenario(name, [tmp_path])
    assert f"{name}.toml" in err.value.message and "\n" not in err.value.message
    key, problem = PROBLEM[name]
    assert f"{key} " in err.value.message and problem in err.value.message


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    (tmp_path / "many.toml").write_text('colour = 1\n[shape]\nkind = "constant"\nusers = 0\nduration = "x"\n')
    message = load_scenario_error(tmp_path, "many")
    assert "colour" in message and "shape.users" in message and "shape.duration" in message


def load_scenario_error(directory, name) -> str:
    with pytest.raises(BadInput) as err:
        load_scenario(name, [directory])
    return err.value.message


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(BadInput) as err:
        load_scenario("nosuch")
    assert "smoke" in err.value.message


def test_a_scenario_can_be_given_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(OK_SHAPE)
    assert load_scenario(str(path)).name == "mine"


DEMO = Path("/demo/locustfile.py")
MINE = Path("/team/locustfile.py")


def test_the_demo_users_run_a_scenario_without_mix_and_an_unknown_class_is_refused_listing_them(tmp_path):
    (tmp_path / "plain.toml").write_text(OK_SHAPE)
    plain = load_scenario(str(tmp_path / "plain.toml"))
    assert plain.mix == {} and not plain.packaged
    assert with_users(plain, DEMO, None).mix == DEFAULT_MIX
    (tmp_path / "ghost.toml").write_text(OK_SHAPE + "[mix]\nGhostUser = 5\n")
    with pytest.raises(BadInput) as err:
        with_users(load_scenario(str(tmp_path / "ghost.toml")), DEMO, None)
    assert "mix names GhostUser, which /demo/locustfile.py does not define; its user classes: BaselineUser, " \
           "PeakUser, AdminUser, StressTestUser" in err.value.message  # fmt: skip


def test_a_team_locustfile_runs_its_own_classes_unless_its_scenario_names_some(tmp_path):
    classes = {"Reader": 3, "Writer": 1}
    smoke = with_users(load_scenario("smoke"), MINE, classes)  # packaged: the demo's [mix] is set aside
    assert smoke.packaged and smoke.mix == classes and smoke.locustfile == MINE
    assert smoke.mix_option() == "Reader=3,Writer=1"
    assert with_users(smoke, MINE, classes) == smoke  # binding twice (the CLI, then the run) changes nothing
    (tmp_path / "reads.toml").write_text(OK_SHAPE + "[mix]\nReader = 1\n")
    assert with_users(load_scenario(str(tmp_path / "reads.toml")), MINE, classes).user_classes == ["Reader"]
    (tmp_path / "staged.toml").write_text('[shape]\nkind = "stages"\nstages = [{ duration = "1m", users = 5, '
                                          'mix = ["Admin"] }]\n')  # fmt: skip
    with pytest.raises(BadInput) as err:
        with_users(load_scenario(str(tmp_path / "staged.toml")), MINE, classes)
    assert err.value.message.endswith("mix names Admin, which /team/locustfile.py does not define; its user "
                                      "classes: Reader, Writer")  # fmt: skip


def test_a_scenario_names_its_locustfile_relative_to_itself(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "locustfile.py").write_text("")
    (tmp_path / "scenarios" / "mine.toml").write_text('locustfile = "../locustfile.py"\n' + OK_SHAPE)
    assert load_scenario(str(tmp_path / "scenarios" / "mine.toml")).locustfile == (tmp_path / "locustfile.py")
    (tmp_path / "scenarios" / "lost.toml").write_text('locustfile = "locustfile.py"\n' + OK_SHAPE)
    with pytest.raises(BadInput) as err:
        load_scenario(str(tmp_path / "scenarios" / "lost.toml"))
    assert "locustfile: " in err.value.message and "does not exist (the path is relative to the scenario file's " \
           "folder)" in err.value.message  # fmt: skip


def test_a_stage_mix_must_name_classes_the_run_starts(tmp_path):
    staged = '[shape]\nkind = "stages"\nstages = [{ duration = "1m", users = 5, mix = ["StressTestUser"] }]\n'
    (tmp_path / "staged.toml").write_text(staged)  # no [mix]: the demo runs DEFAULT_MIX, without StressTestUser
    with pytest.raises(BadInput) as err:
        with_users(load_scenario(str(tmp_path / "staged.toml")), DEMO, None)
    assert "shape.stages: mix names StressTestUser, which the run does not start" in err.value.message
    (tmp_path / "idle.toml").write_text(staged.replace("StressTestUser", "Idle"))
    with pytest.raises(BadInput, match="mix names Idle, which the run does not start"):
        with_users(load_scenario(str(tmp_path / "idle.toml")), MINE, {"Reader": 1, "Idle": 0})


def test_a_packaged_mix_is_kept_for_a_locustfile_that_has_its_classes():
    demo_users = {"BaselineUser": 1, "PeakUser": 1, "AdminUser": 1, "StressTestUser": 1}
    baseline = with_users(load_scenario("baseline"), MINE, demo_users)
    assert baseline.mix == {"BaselineUser": 70, "PeakUser": 20, "AdminUser": 10}
