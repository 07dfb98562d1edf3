"""Journeys without a run: the API's outcomes in real greenlets, the recorder's exact merging, the
analyzer's rows, checks and comparison, the [[journeys]] tables, the live gate, and the stuck knob."""

from __future__ import annotations

import json
from pathlib import Path

import gevent
import pytest
from locust import task
from locust.env import Environment
from locust.exception import StopUser

from swarmgate.analysis.journeys import (
    journey_checks,
    journey_lines,
    journey_regression_checks,
    journey_row,
    merged,
    parse_journeys,
    parse_timeline,
    slot_p95s,
)
from swarmgate.analysis.live import LiveJudge
from swarmgate.analysis.records import JourneyTally, Stage
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.sla import load_sla
from swarmgate.core.errors import InputError
from swarmgate.demo.app import DemoApp
from swarmgate.demo.faults import Faults
from swarmgate.demo.server import Credentials, open_store
from swarmgate.locustfiles import live_web
from swarmgate.locustfiles.journeys import Journey, JourneyError, as_journey, journey, request_failed
from swarmgate.locustfiles.recording.journeys import JourneyRecorder
from swarmgate.locustfiles.recording.stages import StageRecorder
from tests.unit.test_demo_app import call, login


class Sink:
    """Collects what the journey API reports, as the recorder would receive it."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[tuple[str, str, str | None]] = []

    def start(self, name: str) -> None:
        self.started.append(name)

    def finish(self, name: str, outcome: str, duration_ms: float, where: str | None) -> None:
        assert duration_ms >= 0
        self.finished.append((name, outcome, where))


def test_outcomes_completed_failed_at_a_step_abandoned_and_the_first_decision_stands():
    sink = Sink()
    with Journey("a", sink):
        pass
    with Journey("b", sink) as j:
        j.step("pay")
        request_failed("POST", "/pay")  # the recorders' request listener, on a failed request in this greenlet
        j.abandon("gave up")  # too late: it failed first
    with Journey("c", sink):
        request_failed("GET", "/x?token=s3cret")  # no step named: the request is where it failed (token masked)
    with pytest.raises(KeyError), Journey("d", sink) as j:
        j.step("parse")
        raise KeyError("id")
    with Journey("e", sink) as j:
        j.abandon("poll budget ran out")
    with Journey("f", sink) as j:
        j.fail()
    request_failed("GET", "/outside")  # no journey open: nothing to tell
    assert sink.started == ["a", "b", "c", "d", "e", "f"]
    assert sink.finished == [("a", "completed", None), ("b", "failed", "pay"), ("c", "failed", "GET /x?token=***"),
                             ("d", "failed", "parse"), ("e", "abandoned", "poll budget ran out"),
                             ("f", "failed", "failed")]  # fmt: skip


def test_a_stopped_user_abandons_its_journey_and_greenlets_each_carry_their_own():
    sink = Sink()

    def polls(name: str, seconds: float) -> None:
        with Journey(name, sink):
            gevent.sleep(seconds)

    def fails_alone() -> None:
        with Journey("alone", sink):
            gevent.sleep(0.01)
            request_failed("GET", "/x")

    def stops() -> None:
        with Journey("stop", sink):
            raise StopUser()

    killed = gevent.spawn(polls, "killed", 30)
    others = [gevent.spawn(polls, "done", 0.01), gevent.spawn(fails_alone), gevent.spawn(stops)]
    gevent.joinall(others, timeout=5)
    killed.kill(block=True, timeout=5)  # what Locust does to a user at the test's end
    assert sorted(sink.finished) == [("alone", "failed", "GET /x"), ("done", "completed", None),
                                     ("killed", "abandoned", "user stopped"),
                                     ("stop", "abandoned", "user stopped")]  # fmt: skip


def test_nesting_is_refused_naming_both_journeys_and_names_are_required():
    with Journey("outer", None), pytest.raises(JourneyError, match="'inner' opened inside journey 'outer'"):
        with Journey("inner", None):
            pass
    with Journey("next", None):  # the refused one left nothing open behind it
        pass
    with pytest.raises(JourneyError, match="needs a name"):
        Journey("  ", None)


def test_the_plain_form_finds_the_recorder_and_the_decorator_keeps_the_task():
    sink = Sink()

    class User:
        environment = type("Env", (), {"swarmgate_journeys": sink})()

        @task(3)
        @as_journey("browse")
        def browse(self) -> str:
            return "ran"

    assert User().browse() == "ran" and User.browse.locust_task_weight == 3
    with journey(User(), "explicit"):
        pass
    assert sink.finished == [("browse", "completed", None), ("explicit", "completed", None)]
    with journey(object(), "no recorders"):  # a user without swarmgate's recorders: timed, not recorded
        pass


def recorder() -> JourneyRecorder:
    environment = Environment()
    return JourneyRecorder(environment, StageRecorder(environment, None))


def test_worker_windows_merge_exactly_into_the_masters():
    workers, master = [recorder(), recorder()], recorder()
    for i, worker in enumerate(workers):
        for n in range(5 + i):
            worker.start("run")
            worker.finish("run", ["completed", "failed", "abandoned"][n % 3], 40.0 + n, f"step {n % 2}")
    expected = {}
    for worker in workers:
        data: dict = {}
        worker.on_report_to_master("w", data)
        json_data = json.loads(json.dumps(data))  # what travels is JSON-like (string keys)
        master.on_worker_report("w", json_data)
        assert worker.windows == {}  # shipped, then started afresh
        for row in data["swarmgate_journeys"][0]:
            for key in ("started", "completed", "failed", "abandoned"):
                expected[key] = expected.get(key, 0) + row[key]
    [row] = master.rows(0)
    assert {key: row[key] for key in expected} == expected == {"started": 11, "completed": 4, "failed": 4,
                                                               "abandoned": 3}  # fmt: skip
    assert row["durations"] == {"40": 2, "43": 2} and sum(row["failed_at"].values()) == 4
    assert row["min_ms"] == 40.0 and row["max_ms"] == 43.0
    assert sum(r["completed"] for slot in master.timeline_rows() for r in slot["journeys"]) == 4  # and over time
    worker = recorder()
    for n in range(150):  # a reason with an id in it: counted, but the distinct reasons stay bounded
        worker.finish("run", "abandoned", 1.0, f"execution {n} stuck")
    abandoned_at = worker.rows(0)[0]["abandoned_at"]
    assert len(abandoned_at) == 101 and sum(abandoned_at.values()) == 150 and abandoned_at["(other steps)"] == 50


def tally(name: str = "run", completed: int = 7, failed: int = 1, abandoned: int = 4, stopped: int = 2,
          durations: dict | None = None) -> JourneyTally:  # fmt: skip
    durations = durations if durations is not None else {1500: completed}
    return JourneyTally(name, completed + failed + abandoned, completed, failed, abandoned,
                        sum(b * n for b, n in durations.items()), max(durations, default=0), durations,
                        {"poll": failed},
                        {"user stopped": stopped, "poll budget ran out": abandoned - stopped})  # fmt: skip


def test_the_completion_ratio_leaves_out_journeys_cut_short_by_a_stop():
    row = journey_row(tally())
    assert row["judged"] == 10 and row["user_stopped"] == 2 and row["completion_ratio"] == 0.7
    assert row["p95_ms"] == 1500 and row["mean_ms"] == 1500
    only_stopped = journey_row(tally(completed=0, failed=0, abandoned=3, stopped=3, durations={}))
    assert only_stopped["completion_ratio"] is None and only_stopped["p95_ms"] is None


def test_journey_rows_in_stages_json_are_validated(tmp_path):
    good = {"name": "run", "started": 1, "completed": 1, "failed": 0, "abandoned": 0, "total_ms": 5.0,
            "min_ms": 5.0, "max_ms": 5.0, "durations": {"5": 1}, "failed_at": {}, "abandoned_at": {}}  # fmt: skip
    assert parse_journeys([good], tmp_path / "stages.json", "stage 1")[0].histogram == {5: 1}
    assert parse_journeys(None, tmp_path / "stages.json", "stage 1") == []  # a run recorded before journeys
    for bad in ({**good, "completed": -1}, {**good, "durations": {"5": "x"}}, {k: v for k, v in good.items()
                                                                                if k != "failed"}):  # fmt: skip
        with pytest.raises(InputError, match="stage 2 has a journey row"):
            parse_journeys([bad], tmp_path / "stages.json", "stage 2")


def test_the_timeline_merges_slots_exactly_past_its_points_and_is_validated(tmp_path):
    timeline = [(1000.0 + 10 * i, [tally("run", 1, 0, 1, 0, {100 + i: 1})]) for i in range(50)]
    (whole,) = journey_lines(timeline)
    assert whole["t"][:2] == [0.0, 10.0] and len(whole["t"]) == 50 and whole["completion_ratio"][0] == 0.5
    (cut,) = journey_lines(timeline, most=10)  # 5 slots a point: the histograms add up
    assert cut["step_s"] == 50 and cut["t"] == [0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0]
    assert (cut["p50_ms"][0], cut["p95_ms"][0]) == (102, 104)  # five journeys of 100 to 104 ms in one point
    good = {"start_ts": 1000, "journeys": []}
    assert parse_timeline([good], tmp_path / "stages.json") == [(1000.0, [])]
    with pytest.raises(InputError, match="journey_timeline"):
        parse_timeline([{"journeys": []}], tmp_path / "stages.json")


def sla_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sla.toml"
    path.write_text(text)
    return path


def test_journey_tables_judge_by_name_and_star_and_refuse_what_is_wrong(tmp_path):
    sla = load_sla(sla_file(tmp_path, '[[journeys]]\nname = "*"\np95_ms = { target = 1000, alert = 2000 }\n'
                                      '[[journeys]]\nname = "run"\n'
                                      'completion_ratio = { target = 0.9, alert = 0.8 }\n'))  # fmt: skip
    checks = journey_checks([journey_row(tally()), journey_row(tally("other", 10, 0, 0, 0))], sla, "steady stages")
    assert [(c["endpoint"], c["metric"], c["status"]) for c in checks] == [
        ("run", "p95_ms", "warn"), ("run", "completion_ratio", "fail"), ("other", "p95_ms", "warn")]  # fmt: skip
    assert checks[1]["kind"] == "journey" and checks[1]["method"] is None
    assert "0.7 is beyond alert" in checks[1]["message"]
    bad = sla_file(tmp_path, '[[journeys]]\np95_ms = { target = 1, alert = 2 }\n[[journeys]]\nname = "x"\n'
                             'error_ratio = { target = 0.1, alert = 0.2 }\n'
                             'completion_ratio = { target = 0.8, alert = 0.9 }\n')  # fmt: skip
    with pytest.raises(InputError) as problem:
        load_sla(bad)
    message = str(problem.value)
    assert "journeys[1]: needs name" in message and "journeys[2].error_ratio: unknown metric" in message
    assert "journeys[2].completion_ratio: the alert level must be at or below the target" in message


def test_a_completion_drop_beyond_noise_regresses_and_a_small_one_does_not():
    rules = Rules()
    before = [tally("run", 100, 0, 0, 0, {1500: 100})]
    dropped = journey_regression_checks([tally("run", 70, 0, 30, 0, {1500: 70})], before, rules, {}, {})
    assert [(c["metric"], c["status"]) for c in dropped] == [("completion_ratio", "fail"), ("p95_ms", "pass")]
    assert dropped[0]["message"].startswith("journey run completion_ratio 1 -> 0.7: regressed")
    slight = journey_regression_checks([tally("run", 99, 0, 1, 0, {1500: 99})], before, rules, {}, {})
    assert slight[0]["status"] == "warn"  # 1 % is beyond the minimum effect but within counting noise


def soak_run(
    seed: int, median_ms: float, slots: int = 30, per_slot: int = 100, slow_slots: int = 0
) -> tuple[Stage, list]:
    """A steady stage of `slots` 10 s timeline slots, each with `per_slot` completed journeys (log-normal);
    the last `slow_slots` three times slower."""
    import random

    from locust.stats import bucket_response_time

    draw = random.Random(seed)
    timeline = []
    for i in range(slots):
        histogram: dict[int, int] = {}
        for _ in range(per_slot):
            bucket = bucket_response_time(
                draw.lognormvariate(0, 0.3) * median_ms * (3 if i >= slots - slow_slots else 1)
            )
            histogram[bucket] = histogram.get(bucket, 0) + 1
        timeline.append((1000.0 + 10 * i, [tally("run", per_slot, 0, 0, 0, histogram)]))
    stage = Stage("steady", 1000.0, 1000.0 + 10 * slots, 10, True, [], merged(t for _, ts in timeline for t in ts))
    return stage, timeline


def test_the_p95_comparison_ranks_per_slot_p95s_so_thousands_of_journeys_do_not_make_noise_a_regression():
    rules = Rules()
    runs = {name: soak_run(seed, median, slow_slots=slow) for name, seed, median, slow in (
        ("base", 1, 1000, 0), ("same", 2, 1000, 0), ("slower", 3, 1400, 0), ("a slow spell", 4, 1000, 3))}  # fmt: skip
    windows = {name: slot_p95s(timeline, [stage]) for name, (stage, timeline) in runs.items()}
    assert len(windows["base"]["run"]) == 30 and sum(runs["base"][0].journeys[0].histogram.values()) == 3000

    def p95_check(name: str, base_windows: dict) -> dict:
        checks = journey_regression_checks(runs[name][0].journeys, runs["base"][0].journeys, rules, windows[name],
                                           base_windows)  # fmt: skip
        return checks[1]

    assert p95_check("same", windows["base"])["status"] != "fail"
    slower = p95_check("slower", windows["base"])
    assert slower["status"] == "fail" and "beyond noise" in slower["message"]
    spell = p95_check("a slow spell", windows["base"])  # 300 of 3000 journeys slow: the pooled p95 triples,
    assert spell["status"] == "warn" and "run-to-run noise" in spell["message"]  # but 3 slots of 30 are noise
    few = p95_check("slower", {"run": windows["base"]["run"][:3]})  # three slots cannot tell
    assert few["status"] == "warn" and "timeline slots per run" in few["message"]


def test_a_live_journey_gate_stops_the_run_and_the_live_checks_include_journeys(tmp_path):
    gate = 'completion_ratio = { target = 0.9, alert = 0.8, abort_after = "5s" }\n'
    sla = load_sla(sla_file(tmp_path, '[[journeys]]\nname = "run"\n' + gate))
    judge = LiveJudge(sla, None)
    abort = None
    for second in range(12):
        stage = Stage("steady", 0.0, float(second), 10, True, [], [tally("run", 7 + second, 0, 3 + second, 0)])
        abort = abort or judge.update(float(second), 0.0, [stage], True)
    assert abort is not None and abort.metric == "completion_ratio" and 5 <= abort.at_s <= 6
    assert "completion ratio of journey run below 0.8 for 5 s (this stage so far: " in abort.message
    state = judge.state(11.0)
    assert [c["kind"] for c in state["checks"]] == ["journey"] and state["journeys"][0]["name"] == "run"
    assert [g["journey"] for g in state["gates"]] == [True]
    rows = live_web.sla_rows(state, running=True, ready=False)[1:]  # the web UI's SLA live and Gates tabs
    assert [row["check"] for row in rows] == ["journey run completion_ratio"]
    assert [row["gate"] for row in live_web.gate_rows(state)] == ["journey run completion_ratio"]


def test_stuck_executions_hold_their_share_and_answer_running_forever(tmp_path):
    faults = Faults(stuck_execution_ratio=0.3)
    for start in (1, 500):
        stuck = sum(faults.execution_stuck(i) for i in range(start, start + 100))
        assert 29 <= stuck <= 31  # any run of consecutive executions: the share, to within one
    app = DemoApp(open_store(tmp_path / "demo.sqlite", Credentials("user-pw", "admin-pw")),
                  Faults(stuck_execution_ratio=1.0))  # fmt: skip
    token = login(app)
    _, workspace = call(app, "POST", "/api/workspaces", {"name": "w"}, token)
    _, workflow = call(app, "POST", f"/api/workspaces/{workspace['id']}/workflows",
                       {"name": "f", "steps": [{"action": "fetch"}]}, token)  # fmt: skip
    _, execution = call(app, "POST", f"/api/workflows/{workflow['id']}/executions", None, token)
    code, status = call(app, "GET", f"/api/executions/{execution['id']}", None, token)
    assert code == 200 and status["status"] == "running" and status["progress"] < 1


def test_the_master_stays_bounded_in_places_names_and_timeline_and_user_stopped_is_never_capped(monkeypatch):
    from swarmgate.locustfiles.recording import journeys as recording

    workers, master = [recorder() for _ in range(3)], recorder()
    for w, worker in enumerate(workers):
        for n in range(100):  # each worker fills its own 100 distinct reasons
            worker.finish("run", "abandoned", 1.0, f"execution {w}-{n} stuck")
        worker.finish("run", "abandoned", 1.0, "user stopped")  # past the cap: still its own key
        for n in range(60):  # and names with ids in them
            worker.finish(f"order {w}-{n}", "completed", 1.0, None)
        data: dict = {}
        worker.on_report_to_master("w", data)
        master.on_worker_report("w", json.loads(json.dumps(data)))
    rows = {row["name"]: row for row in master.rows(0)}
    assert len(rows) == 101 and rows["(other journeys)"]["completed"] == 180 - 99  # 100 names and the rest
    run = rows["run"]
    assert len(run["abandoned_at"]) == 102 and run["abandoned_at"]["user stopped"] == 3  # cap + other + stopped
    assert sum(run["abandoned_at"].values()) == 303 and run["abandoned_at"]["(other steps)"] == 200
    assert journey_row(parse_journeys([run], Path("stages.json"), "stage 1")[0])["judged"] == 300
    clock = iter(range(10**6, 10**8, 10))  # a 10 s slot per journey: a long soak in a few thousand calls
    monkeypatch.setattr(recording.time, "time", lambda: float(next(clock)))
    soak = recorder()
    for n in range(2000):
        soak.finish("run", "completed", 100.0 + n % 7, None)
    slots = soak.timeline_rows()
    assert len(slots) <= recording.MAX_SLOTS and soak.slot_s == 40  # widened twice, exactly:
    assert sum(row["completed"] for slot in slots for row in slot["journeys"]) == 2000
    assert all(slot["start_ts"] % 40 == 0 for slot in slots)
    (line,) = journey_lines(parse_timeline(slots, Path("stages.json")))
    assert line["step_s"] == 40 and len(line["t"]) == len(slots)


def test_names_steps_and_reasons_lose_their_credentials_and_any_value_is_text():
    sink = Sink()
    with Journey("fetch https://bob:pw@host/x?token=s3cret", sink) as j:
        j.step(3)  # not a string: counted as '3', and it still travels to the master as JSON
        j.fail()
    with Journey("poll", sink) as j:
        j.abandon("gave up on http://127.0.0.1/e?api_key=k9 after 10 polls")
    with Journey("pay", sink) as j:
        j.fail(ValueError("declined"))
    assert sink.started == ["fetch https://host/x?token=***", "poll", "pay"]
    assert sink.finished == [("fetch https://host/x?token=***", "failed", "3"),
                             ("poll", "abandoned", "gave up on http://127.0.0.1/e?api_key=*** after 10 polls"),
                             ("pay", "failed", "declined")]  # fmt: skip
    worker, master = recorder(), recorder()
    with Journey("run", worker) as j:
        j.step(7)
        j.fail()
    data: dict = {}
    worker.on_report_to_master("w", data)
    master.on_worker_report("w", json.loads(json.dumps(data)))
    assert master.rows(0)[0]["failed_at"] == {"7": 1}


def test_a_task_set_leaving_by_interrupt_completes_its_journey_unless_already_decided():
    from locust import TaskSet, User, constant
    from locust.exception import InterruptTaskSet, RescheduleTask

    class Leaves(TaskSet):
        def browse(self, fail_first: bool) -> None:
            with journey(self, "browse") as j:  # the plain form in a TaskSet finds its user's recorder
                if fail_first:
                    j.fail("empty list")
                    raise RescheduleTask()  # Locust's own control flow: pick another task now
                self.interrupt()  # leave the TaskSet: InterruptTaskSet

    class Browser(User):
        wait_time = constant(0)
        tasks = [Leaves]

    environment = Environment(user_classes=[Browser])
    journeys = JourneyRecorder(environment, StageRecorder(environment, None))
    task_set = Leaves(Browser(environment))
    with pytest.raises(InterruptTaskSet):
        task_set.browse(fail_first=False)
    with pytest.raises(RescheduleTask):
        task_set.browse(fail_first=True)
    [row] = journeys.rows(0)
    assert (row["completed"], row["failed"], row["abandoned"], row["failed_at"]) == (1, 1, 0, {"empty list": 1})


def test_a_live_journey_gate_waits_for_enough_journeys_and_starts_afresh_in_a_stage_without_its_journey(tmp_path):
    gate = 'completion_ratio = { target = 0.9, alert = 0.8, abort_after = "5s" }\n'
    judge = LiveJudge(load_sla(sla_file(tmp_path, '[[journeys]]\nname = "run"\n' + gate)), None)
    few = Stage("steady", 0.0, 10.0, 10, True, [], [tally("run", 1, 0, 8, 0)])  # ratio 0.11, but 9 journeys
    assert all(judge.update(float(s), 0.0, [few], True) is None for s in range(12))
    [waiting] = judge.state(11.0)["gates"]
    assert waiting["waiting"] == "only 9 journeys judged (the ratio needs 10)"  # alert 0.8, 2 below it: 10
    judge = LiveJudge(judge.config, None)
    first = Stage("first", 0.0, 4.0, 10, True, [], [tally("run", 2, 0, 8, 0)])
    assert all(judge.update(float(s), 0.0, [first], True) is None for s in range(4))  # beyond for 3 s
    second = Stage("second", 4.0, 10.0, 20, True, [], [])
    assert judge.update(4.0, 0.0, [first, second], True) is None
    [reset] = judge.state(4.0)["gates"]
    assert reset["waiting"] == "no journey in this stage yet" and reset["value"] is None
    second.journeys = [tally("run", 2, 0, 8, 0)]
    aborts = [judge.update(float(s), 0.0, [first, second], True) for s in range(5, 11)]
    assert aborts[:5] == [None] * 5 and aborts[5] is not None  # 5 s from the second stage's own start


def test_failed_requests_of_real_users_and_of_spawned_greenlets_reach_their_journey_through_the_request_tap():
    from gevent.pywsgi import WSGIServer
    from locust import FastHttpUser, HttpUser, constant

    from swarmgate.locustfiles.recorders import RequestTap
    from swarmgate.locustfiles.recording.slow_requests import SlowRequestRecorder
    from swarmgate.locustfiles.recording.user_classes import UserClassCounter

    def app(environ, start_response):  # /ok answers 200, anything else 404
        status = "200 OK" if environ["PATH_INFO"] == "/ok" else "404 Not Found"
        start_response(status, [("Content-Type", "text/plain")])
        return [b"no"]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        environment = Environment()
        stages = StageRecorder(environment, None)
        journeys = JourneyRecorder(environment, stages)
        tap = RequestTap(stages, SlowRequestRecorder(environment, None, 1000), UserClassCounter(environment))
        environment.events.request.add_listener(tap.on_request)
        host = f"http://127.0.0.1:{server.server_port}"
        fast = type("Fast", (FastHttpUser,), {"host": host, "wait_time": constant(0)})(environment)
        plain = type("Plain", (HttpUser,), {"host": host, "wait_time": constant(0)})(environment)
        with journey(fast, "fast") as j:
            j.step("list")
            fast.client.get("/missing")  # a 404: Locust counts it failed
        with journey(plain, "plain") as j:
            j.step("check")
            with plain.client.get("/ok", catch_response=True) as response:
                response.failure("the body says no")
        with journey(fast, "fan out") as j:
            j.step("parallel")
            gevent.joinall([j.spawn(fast.client.get, "/ok"), j.spawn(fast.client.get, "/missing")])
        with journey(fast, "not followed") as j:  # a greenlet spawned otherwise: its failure fails no journey
            gevent.spawn(fast.client.get, "/missing").join()
    finally:
        server.stop()
    outcomes = {row["name"]: (row["completed"], row["failed"], row["failed_at"]) for row in journeys.rows(0)}
    assert outcomes == {"fast": (0, 1, {"list": 1}), "plain": (0, 1, {"check": 1}),
                        "fan out": (0, 1, {"parallel": 1}), "not followed": (1, 0, {})}  # fmt: skip
    assert stages.window_totals(0)[:2] == (5, 4)  # the requests themselves, as Locust counted them
