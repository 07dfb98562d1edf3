"""Every shape's tick() driven through time by hand (no Locust run): users, spawn rate, stages, the end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from swarmgate.core.plan import plan_to_json
from swarmgate.scenarios import load_scenario
from swarmgate.shapes.catalog import Capacity, Constant, RampHoldRampDown, Spike, StepLoad
from swarmgate.shapes.scenario_shape import ScenarioShape


def plan_of(name_or_path: str, folder: Path, time_scale: float = 1.0) -> str:
    """The plan file `swarmgate run` hands ScenarioShape for a scenario; its path."""
    scenario = load_scenario(name_or_path).scaled(time_scale)
    path = folder / ".stage_plan.json"
    path.write_text(plan_to_json(list(scenario.plan), scenario.capacity))
    return str(path)


class FakeRecorder:
    """Stands in for StageRecorder: records announced stages, answers window totals by user count."""

    def __init__(self, p95_for_users=lambda users: 50) -> None:
        self.stages: list[tuple[str, int, bool]] = []
        self.index = -1
        self.annotations: dict = {}
        self.p95_for_users = p95_for_users

    def begin(self, name, users, steady):
        self.stages.append((name, users, steady))
        self.index += 1

    def window_totals(self, index):
        users = self.stages[index][1]
        return 100, 0, {self.p95_for_users(users): 100}


def make(shape_class, recorder=None, **options):
    defaults = dict(shape_users=10, shape_peak_users=40, shape_steps="5,20,50,100", shape_step_s=60.0,
                    shape_duration_s=300.0, shape_spawn_rate=10.0, breach_p95_ms=500.0, breach_error_ratio=0.01,
                    stage_plan_file="")  # fmt: skip
    env = SimpleNamespace(parsed_options=SimpleNamespace(**{**defaults, **options}), runner=None,
                          swarmgate_stages=recorder, user_classes_by_name={})  # fmt: skip
    shape = shape_class()
    shape.runner = SimpleNamespace(environment=env)
    clock = {"t": 0.0}
    shape.get_run_time = lambda: clock["t"]
    return shape, clock


def drive(shape, clock, until: float, step: float = 0.5) -> list:
    """tick() every `step` seconds; the distinct results in order, ending with None."""
    seen = []
    while clock["t"] <= until:
        result = shape.tick()
        if not seen or seen[-1] != result:
            seen.append(result)
        if result is None:
            break
        clock["t"] += step
    return seen


def test_constant_ramps_holds_and_ends():
    shape, clock = make(Constant, shape_users=10, shape_duration_s=30, shape_spawn_rate=5)
    assert drive(shape, clock, 100) == [(10, 5.0), None]
    assert clock["t"] == 30.0  # ends exactly when the plan does
    assert [(s.name, s.duration_s, s.steady) for s in shape.plan] == [("ramp-up", 2.0, False), ("steady", 28, True)]


def test_step_load_steps_through_each_count_then_ends():
    recorder = FakeRecorder()
    shape, clock = make(StepLoad, recorder, shape_steps="5,20,50,100", shape_step_s=60, shape_spawn_rate=10)
    assert drive(shape, clock, 1000) == [(5, 10.0), (20, 10.0), (50, 10.0), (100, 10.0), None]
    assert clock["t"] == 240.0
    assert [name for name, _, steady in recorder.stages if steady] == [f"step-{i} ({n} users)" for i, n in
                                                                       enumerate([5, 20, 50, 100], 1)]  # fmt: skip
    assert all(not steady for name, _, steady in recorder.stages if name.endswith("ramp"))


def test_spike_goes_up_and_back_down():
    shape, clock = make(Spike, shape_users=20, shape_peak_users=200, shape_step_s=60, shape_spawn_rate=50)
    assert [r[0] for r in drive(shape, clock, 1000)[:-1]] == [20, 200, 20]
    assert clock["t"] == 180.0


def test_ramp_hold_ramp_down_moves_linearly():
    shape, clock = make(RampHoldRampDown, shape_peak_users=60, shape_step_s=120, shape_duration_s=600)
    assert drive(shape, clock, 2000, step=1) == [(60, 0.5), (60, 60.0), (0, 0.5), None]  # 60 users in 120 s
    assert clock["t"] == 840.0


def test_capacity_stops_after_the_first_breaching_step():
    recorder = FakeRecorder(p95_for_users=lambda users: 120 if users <= 30 else 900)
    shape, clock = make(Capacity, recorder, shape_users=10, shape_peak_users=100, shape_step_s=60)
    results = drive(shape, clock, 10_000)
    assert [r[0] for r in results[:-1]] == [10, 20, 30, 40] and results[-1] is None
    assert clock["t"] == 240.0  # the 40-user step ran whole, then the run ended
    capacity = recorder.annotations["capacity"]
    assert capacity["breaking_step"]["users"] == 40 and "p95 900 ms > 500 ms" in capacity["breaking_step"]["why"]
    assert capacity["last_good_step"]["users"] == 30
    assert shape.tick() is None  # and it stays ended


def test_capacity_without_a_breach_runs_to_the_most_users():
    recorder = FakeRecorder()
    shape, clock = make(Capacity, recorder, shape_users=10, shape_peak_users=30, shape_step_s=60)
    assert [r[0] for r in drive(shape, clock, 10_000)[:-1]] == [10, 20, 30]
    assert recorder.annotations["capacity"]["breaking_step"] is None


def test_a_late_tick_still_enters_every_stage_in_order():
    recorder = FakeRecorder()
    shape, clock = make(StepLoad, recorder, shape_steps="5,20,50", shape_step_s=10)
    shape.tick()
    clock["t"] = 25.0  # one tick came 25 s late: step 2 was skipped over
    assert shape.tick() == (50, 10.0)
    assert [users for _, users, steady in recorder.stages if steady] == [5, 20, 50]


def test_scenario_shape_runs_the_plan_it_is_handed(tmp_path):
    recorder = FakeRecorder()
    shape, clock = make(ScenarioShape, recorder, stage_plan_file=plan_of("step", tmp_path, time_scale=0.1))
    assert [r[0] for r in drive(shape, clock, 1000, step=0.1)[:-1]] == [5, 20, 50, 100]
    assert clock["t"] == pytest.approx(48.0)  # 4 steps of 2 minutes, times 0.1


def test_scenario_shape_searches_capacity_when_the_scenario_says_so(tmp_path):
    path = tmp_path / "cap.toml"
    path.write_text('[shape]\nkind = "capacity"\nstart_users = 2\nstep_users = 2\nmax_users = 20\n'
                    'step_duration = "10s"\nspawn_rate = 10\nbreach_p95_ms = 200\n')  # fmt: skip
    recorder = FakeRecorder(p95_for_users=lambda users: 50 if users < 8 else 400)
    shape, clock = make(ScenarioShape, recorder, stage_plan_file=plan_of(str(path), tmp_path))
    assert [r[0] for r in drive(shape, clock, 1000)[:-1]] == [2, 4, 6, 8]
    assert recorder.annotations["capacity"]["breaking_step"]["users"] == 8


def test_a_shape_runs_again_from_its_first_stage_when_locust_starts_another_test():
    shape, clock = make(Constant, shape_users=10, shape_duration_s=30, shape_spawn_rate=5)
    assert drive(shape, clock, 100) == [(10, 5.0), None] and shape.completed
    shape.reset_time()  # the web UI's next test with the same shape
    clock["t"] = 0.0
    assert not shape.completed and drive(shape, clock, 100) == [(10, 5.0), None]
