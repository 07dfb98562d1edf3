import pytest

from swarmgate.errors import BadInput
from swarmgate.scenarios import load_scenario, parse_duration


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), (90, 90), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5s", 0, "5 minutes", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_smoke_scenario_uses_all_four_user_classes():
    smoke = load_scenario("smoke")
    assert smoke.user_classes == ["BaselineUser", "PeakUser", "AdminUser", "StressTestUser"]
    assert smoke.duration_s == 30
    assert smoke.scaled(0.1).duration_s == 3


BAD = {
    "unknown_key.toml": 'users = 5\nduration = "10s"\ncolour = "red"\n',
    "zero_users.toml": 'users = 0\nduration = "10s"\n',
    "negative_duration.toml": 'users = 5\nduration = "-10s"\n',
    "bad_class.toml": 'users = 5\nduration = "10s"\n[mix]\nGhostUser = 5\n',
    "not_toml.toml": "users = = 5\n",
    "all_zero_mix.toml": 'users = 5\nduration = "10s"\n[mix]\nBaselineUser = 0\n',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_scenarios_are_refused_in_one_line(tmp_path, name):
    (tmp_path / name).write_text(BAD[name])
    with pytest.raises(BadInput) as err:
        load_scenario(name.removesuffix(".toml"), tmp_path)
    assert name in err.value.message and "\n" not in err.value.message


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(BadInput) as err:
        load_scenario("nosuch")
    assert "smoke" in err.value.message
