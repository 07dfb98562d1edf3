"""Each recorder's own logic, without a load run: driven through its events on fake or real (idle) environments.

Worker and master roles are stand-ins: subclasses of Locust's runners (node_role uses isinstance) whose
__init__ opens no socket; what workers ship to the master goes through Locust's own msgpack Message.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import locust
import locust.runners
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust.event import Events
from locust.rpc.protocol import Message
from locust.runners import STATE_MISSING, STATE_RUNNING, MasterRunner, WorkerNode, WorkerNodes, WorkerRunner
from locust.stats import RequestStats, save_stats_json

from swarmgate.locustfiles.recording import arrivals as arrivals_module
from swarmgate.locustfiles.recording.arrivals import ArrivalPacer
from swarmgate.locustfiles.recording.common import node_role, results_dir
from swarmgate.locustfiles.recording.final_stats import FinalStatsRecorder
from swarmgate.locustfiles.recording.progress import ProgressRecorder
from swarmgate.locustfiles.recording.resources import ResourceRecorder
from swarmgate.locustfiles.recording.run_meta import RunRecorder
from swarmgate.locustfiles.recording.shipped_csv import ShippedCsv
from swarmgate.locustfiles.recording.slow_requests import SlowRequestRecorder
from swarmgate.locustfiles.recording.stages import MESSAGE_TYPE, Stage, StageRecorder, Window
from swarmgate.locustfiles.recording.user_classes import UserClassCounter
from swarmgate.locustfiles.recording.workers import WorkerWatch, shorten_master_timeout


class FakeWorker(WorkerRunner):
    """A WorkerRunner to isinstance, with no master connection: register_message is Locust's own."""

    def __init__(self, client_id: str = "worker-1") -> None:
        self.client_id = client_id
        self.custom_messages = {}
        self.greenlet = None  # read by Runner.__del__

    def deliver(self, environment, msg_type: str, data: dict) -> None:
        """A message from the master, as Locust hands it to the registered listener."""
        self.custom_messages[msg_type][0](environment=environment, msg=Message(msg_type, data, "master"))


class FakeMaster(MasterRunner):
    """A MasterRunner to isinstance, with no bound port: keeps what it would send, and real WorkerNodes."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.clients = WorkerNodes()
        self.greenlet = None  # read by Runner.__del__

    def send_message(self, msg_type, data=None, client_id=None) -> None:
        self.sent.append((msg_type, data, client_id))


def fake_env(runner=None, shape_class=None, **options) -> SimpleNamespace:
    return SimpleNamespace(events=Events(), runner=runner, shape_class=shape_class, user_classes=[], host=None,
                           stats=RequestStats(),
                           parsed_options=SimpleNamespace(**options) if options else None)  # fmt: skip


def over_the_wire(data: dict) -> dict:
    """A worker's report data as the master receives it: through Locust's msgpack Message."""
    return Message.unserialize(Message("stats", data, "worker-1").serialize()).data


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def user_class(name: str, weight: int = 1, insecure: bool = False) -> type[User]:
    """A fresh User class (the pacer replaces wait_time on the class, so none is shared between tests)."""

    def noop(self) -> None:
        pass

    return type(name, (User,), {"weight": weight, "wait_time": constant(1), "tasks": [task(noop)],
                                "insecure": insecure, "abstract": False})  # fmt: skip


@pytest.fixture
def local_env():
    """A real Environment with an idle local runner (no users are ever started); quit afterwards."""
    environments = []

    def make(**kwargs) -> Environment:
        env = Environment(events=Events(), **kwargs)
        env.create_local_runner()
        environments.append(env)
        return env

    yield make
    for env in environments:
        env.runner.quit()


# --- common


def test_node_role_and_results_dir():
    assert node_role(fake_env()) == "local" and node_role(fake_env(FakeWorker())) == "worker"
    assert node_role(fake_env(FakeMaster())) == "master"
    assert results_dir(fake_env(results_dir="/r/x", csv_prefix="/c/run/locust")) == Path("/r/x")
    assert results_dir(fake_env(results_dir="", csv_prefix="/c/run/locust")) == Path("/c/run")
    assert results_dir(fake_env(results_dir="", csv_prefix=None)) is None
    assert results_dir(fake_env()) is None  # used as a library: no options at all


# --- stages


def test_window_buckets_response_times_like_locust():
    window = Window()
    for rt, failed in ((5, False), (12, False), (147, True), (3432, False), (151, False)):
        window.add(rt, failed)
    window.add(None, True)  # a request that failed before a response: counted, not timed
    assert window.as_row() == [6, 2, 3747.0, 5, 3432, {5: 1, 12: 1, 150: 2, 3400: 1}]


def test_merged_windows_equal_one_window_of_all_the_samples():
    first, second, whole = Window(), Window(), Window()
    for rt in (40, 147, 980):
        first.add(rt, False)
        whole.add(rt, False)
    for rt in (3, 151, 3432):
        second.add(rt, rt == 3)
        whole.add(rt, rt == 3)
    untimed = Window()
    untimed.add(None, True)
    merged = Window()
    for row in (first.as_row(), over_the_wire({"row": second.as_row()})["row"], untimed.as_row()):
        merged.merge(row)
    whole.add(None, True)
    assert merged.as_row() == whole.as_row()
    assert merged.as_row() == [7, 2, 4753.0, 3, 3432, {40: 1, 150: 2, 980: 1, 3: 1, 3400: 1}]
    stringly = Window()
    stringly.merge(json.loads(json.dumps(first.as_row())))  # bucket keys that arrive as text are made ints again
    assert stringly.response_times == {40: 1, 150: 1, 980: 1}


def test_a_plain_run_is_recorded_as_ramp_up_then_steady_and_written_at_quit(tmp_path):
    env = fake_env(num_users=10)
    recorder = StageRecorder(env, tmp_path)
    env.events.test_start.fire(environment=env)
    recorder.record("GET", "/a", 147, False)
    recorder.record("GET", "/a", 3432, True)
    env.events.spawning_complete.fire(user_count=10)
    recorder.record("POST", "/b", 5, False)
    recorder.record("GET", "/a", 12, False)
    env.events.test_stop.fire(environment=env)
    env.events.quit.fire(exit_code=0)

    document = json.loads((tmp_path / "stages.json").read_text())
    assert document["schema_version"] == 1 and document["bucketing"] == "locust"
    ramp, steady = document["stages"]
    assert (ramp["index"], ramp["name"], ramp["target_users"], ramp["steady"]) == (0, "ramp-up", 10, False)
    assert (steady["index"], steady["name"], steady["target_users"], steady["steady"]) == (1, "steady", 10, True)
    assert ramp["end_ts"] == steady["start_ts"] and steady["end_ts"] >= steady["start_ts"]
    assert ramp["start"].endswith("+00:00") and ramp["start"][:4] == time.strftime("%Y", time.gmtime())
    assert ramp["endpoints"] == [{"method": "GET", "name": "/a", "requests": 2, "failures": 1, "total_ms": 3579.0,
                                  "min_ms": 147, "max_ms": 3432, "response_times": {"150": 1, "3400": 1}}]  # fmt: skip
    assert [(e["method"], e["name"], e["requests"]) for e in steady["endpoints"]] == [
        ("GET", "/a", 1),
        ("POST", "/b", 1),
    ]
    assert recorder.window_totals(0) == (2, 1, {150: 1, 3400: 1})
    assert recorder.window_totals(1) == (2, 0, {5: 1, 12: 1})
    assert recorder.window_totals(7) == (0, 0, {})


def test_shapes_either_announce_their_stages_or_are_one_steady_stage():
    silent = fake_env(shape_class=object(), num_users=None)
    recorder = StageRecorder(silent, None)
    silent.events.test_start.fire(environment=silent)
    silent.events.spawning_complete.fire(user_count=4)
    assert [(s.name, s.steady) for s in recorder.stages] == [("run", True)]

    announcing = fake_env(shape_class=SimpleNamespace(build_plan=lambda: None), num_users=None)
    recorder = StageRecorder(announcing, None)
    announcing.events.test_start.fire(environment=announcing)
    assert recorder.stages == []  # the shape calls begin() itself
    recorder.begin("warm", 5, steady=False)
    recorder.begin("hold", 5, steady=True)
    assert [(s.index, s.name, s.target_users) for s in recorder.stages] == [(0, "warm", 5), (1, "hold", 5)]
    assert recorder.index == 1 and recorder.stages[0].end == recorder.stages[1].start


def test_workers_ship_their_stage_windows_and_the_master_merges_them():
    worker_env = fake_env(FakeWorker())
    worker = StageRecorder(worker_env, None)
    worker_env.runner.deliver(worker_env, MESSAGE_TYPE, {"index": 1})  # the master announced stage 1
    worker.record("GET", "/a", 147, False)
    worker.record("GET", "/a", 30, True)
    data: dict = {}
    worker_env.events.report_to_master.fire(client_id="worker-1", data=data)
    assert worker.windows == {1: {}}  # shipped windows are not shipped again

    master_env = fake_env()  # the local role owns the windows like a master
    master = StageRecorder(master_env, None)
    master.begin("ramp", 2, steady=False)
    master.begin("steady", 2, steady=True)
    master.record("GET", "/a", 3432, False)  # the master itself need not make requests; here it does
    master_env.events.worker_report.fire(client_id="worker-1", data=over_the_wire(data))
    worker.record("GET", "/a", 151, False)
    second: dict = {}
    worker_env.events.report_to_master.fire(client_id="worker-1", data=second)
    master_env.events.worker_report.fire(client_id="worker-1", data=over_the_wire(second))
    assert master.window_totals(1) == (4, 1, {30: 1, 150: 2, 3400: 1})
    assert master.window_totals(0) == (0, 0, {})


def test_a_master_tells_workers_each_stage_and_late_joiners_the_current_one():
    runner = FakeMaster()
    env = fake_env(runner)
    recorder = StageRecorder(env, None)
    env.events.worker_connect.fire(client_id="early")
    assert runner.sent == []  # no stage yet: nothing to tell
    recorder.begin("ramp", 4, steady=False)
    recorder.begin("steady", 4, steady=True)
    env.events.worker_connect.fire(client_id="late")
    assert runner.sent == [(MESSAGE_TYPE, {"index": 0}, None), (MESSAGE_TYPE, {"index": 1}, None),
                           (MESSAGE_TYPE, {"index": 1}, "late")]  # fmt: skip


# --- shipped_csv and slow_requests


def test_shipped_csv_writes_locally_in_batches_and_stops_at_max_rows(tmp_path):
    env = fake_env()
    shipped = ShippedCsv(env, tmp_path, "rows.csv", ["a", "b"], max_rows=3, flush_every=2)
    shipped.add([[1, "x"]])
    assert read_csv(tmp_path / "rows.csv") == []  # one row waits for the batch of two
    shipped.add([[2, "y"]])
    assert read_csv(tmp_path / "rows.csv") == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]
    shipped.add([[3, "z"], [4, "w"]])
    shipped.add([[5, "v"]])
    shipped.close()
    assert [r["a"] for r in read_csv(tmp_path / "rows.csv")] == ["1", "2", "3"]
    assert (shipped.written, shipped.dropped) == (3, 2)


def test_shipped_csv_rows_from_workers_are_written_by_the_master(tmp_path):
    worker_env, master_env = fake_env(FakeWorker()), fake_env(FakeMaster())
    on_worker = ShippedCsv(worker_env, tmp_path / "nowhere", "rows.csv", ["a"])  # a worker never writes
    on_master = ShippedCsv(master_env, tmp_path, "rows.csv", ["a"])
    on_worker.add([[1], [2]])
    data: dict = {}
    worker_env.events.report_to_master.fire(client_id="worker-1", data=data)
    assert on_worker.pending == []
    master_env.events.worker_report.fire(client_id="worker-1", data=over_the_wire(data))
    on_master.close()
    assert read_csv(tmp_path / "rows.csv") == [{"a": "1"}, {"a": "2"}]
    assert not (tmp_path / "nowhere").exists()


def test_slow_requests_are_written_with_their_node_at_quit(tmp_path):
    env = fake_env()
    slow = SlowRequestRecorder(env, tmp_path, 1000)
    before = time.time()
    slow.record("GET", "/a", 1234.56, False)
    slow.record("POST", "/b", 5000.04, True)
    assert read_csv(tmp_path / "slow_requests.csv") == []  # written in batches of 100
    env.events.quit.fire(exit_code=0)
    rows = read_csv(tmp_path / "slow_requests.csv")
    assert [(r["method"], r["name"], r["response_time_ms"], r["failed"], r["node"]) for r in rows] == [
        ("GET", "/a", "1234.6", "0", "local"), ("POST", "/b", "5000.0", "1", "local")]  # fmt: skip
    assert before - 0.001 <= float(rows[0]["timestamp"]) <= time.time() + 0.001  # rounded to ms
    assert slow.summary() == {"threshold_ms": 1000, "written": 2, "left_out": 0}

    worker_env = fake_env(FakeWorker("worker-7"))
    on_worker = SlowRequestRecorder(worker_env, None, 1000)
    on_worker.record("GET", "/c", 2000, False)
    data: dict = {}
    worker_env.events.report_to_master.fire(client_id="worker-7", data=data)
    assert [row[-1] for row in data["swarmgate_slow_requests.csv"]] == ["worker-7"]


def test_the_request_tap_sends_only_requests_over_the_threshold_to_slow_requests(tmp_path):
    from swarmgate.locustfiles.recorders import RequestTap

    env = fake_env()
    stages, classes = StageRecorder(env, None), UserClassCounter(env)
    slow = SlowRequestRecorder(env, tmp_path, 1000)
    tap = RequestTap(stages, slow, classes)
    tap.on_request("GET", "/a", 1000.0, 10, context={"user_class": "BaselineUser"})
    tap.on_request("GET", "/a", 1000.1, 10, exception=RuntimeError("x"), context={})
    tap.on_request("GET", "/a", None, 0, exception=RuntimeError("no response"))
    env.events.quit.fire(exit_code=0)
    assert [r["response_time_ms"] for r in read_csv(tmp_path / "slow_requests.csv")] == ["1000.1"]
    assert stages.window_totals(0) == (3, 2, {1000: 2})
    assert dict(classes.counts) == {"BaselineUser": 1, "unknown": 2}


# --- user_classes


def test_user_class_counts_locally_and_from_workers():
    local = UserClassCounter(fake_env())
    for context in ({"user_class": "BaselineUser"}, {"user_class": "BaselineUser"}, None, {}):
        local.record(context)
    assert dict(local.counts) == {"BaselineUser": 2, "unknown": 2}

    worker_env, master_env = fake_env(FakeWorker()), fake_env(FakeMaster())
    worker, master = UserClassCounter(worker_env), UserClassCounter(master_env)
    for _ in range(2):
        worker.record({"user_class": "AdminUser"})
        data: dict = {}
        worker_env.events.report_to_master.fire(client_id="worker-1", data=data)
        master_env.events.worker_report.fire(client_id="worker-1", data=over_the_wire(data))
    assert dict(master.counts) == {"AdminUser": 2} and dict(worker.counts) == {}  # each report ships only the new


# --- final_stats


def fill(stats) -> None:
    for rt in (5, 12, 147, 3432):
        stats.log_request("GET", "/a", rt, 10)
    stats.log_request("POST", "/b", 40, 10)
    stats.log_error("POST", "/b", "boom")


def test_final_stats_rewrites_the_csvs_from_the_json_locust_emptied(tmp_path, local_env):
    prefix = str(tmp_path / "locust")
    env = local_env(parsed_options=SimpleNamespace(csv_prefix=prefix, json_file=prefix))
    FinalStatsRecorder(env)
    fill(env.runner.stats)
    save_stats_json(env.runner.stats, prefix)  # as Locust does with --json-file: endpoint entries reset to zero
    env.events.quit.fire(exit_code=0)
    rows = {(r["Type"], r["Name"]): r for r in read_csv(tmp_path / "locust_stats.csv")}
    assert {key: (r["Request Count"], r["Failure Count"], r["Max Response Time"]) for key, r in rows.items()} == {
        ("GET", "/a"): ("4", "0", "3432"), ("POST", "/b"): ("1", "1", "40"), ("", "Aggregated"): ("5", "1", "3432")
    }  # fmt: skip
    assert rows[("GET", "/a")]["99%"] == "3400"  # Locust's bucket for 3432 ms
    failures = read_csv(tmp_path / "locust_failures.csv")
    assert [(f["Method"], f["Name"], f["Error"], f["Occurrences"]) for f in failures] == [("POST", "/b", "boom", "1")]
    assert (tmp_path / "locust_exceptions.csv").read_text().startswith("Count,Message,Traceback,Nodes")


def test_final_stats_without_json_uses_the_live_stats_and_without_csv_writes_nothing(tmp_path, local_env):
    prefix = str(tmp_path / "live")
    env = local_env(parsed_options=SimpleNamespace(csv_prefix=prefix, json_file=None))
    FinalStatsRecorder(env)
    fill(env.runner.stats)
    env.events.quit.fire(exit_code=0)
    assert {r["Name"]: r["Request Count"] for r in read_csv(tmp_path / "live_stats.csv")} == {
        "/a": "4", "/b": "1", "Aggregated": "5"}  # fmt: skip

    quiet = local_env(parsed_options=SimpleNamespace(csv_prefix=None, json_file=None))
    FinalStatsRecorder(quiet)
    quiet.events.quit.fire(exit_code=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live_exceptions.csv", "live_failures.csv", "live_stats.csv"]


# --- progress


def test_progress_says_stage_users_and_plan_and_is_removed_at_quit(tmp_path):
    stages = SimpleNamespace(stages=[Stage(0, "ramp", 10, False, 0.0), Stage(1, "steady", 10, True, 5.0)])
    env = fake_env(SimpleNamespace(user_count=7), shape_class=SimpleNamespace(planned_duration=lambda: 120.0))
    env.swarmgate_stages = stages
    for response_time in (10, 20):
        env.stats.log_request("GET", "/a", response_time, 100)
    env.stats.log_error("GET", "/a", "boom")
    recorder = ProgressRecorder(env, tmp_path)
    recorder.greenlet.kill()  # the once-a-second loop is not under test; write() is what it calls
    env.events.test_start.fire()
    recorder.write()
    progress = json.loads((tmp_path / ".progress.json").read_text())
    assert progress["stage"] == "steady" and progress["users"] == 7 and progress["planned_s"] == 120.0
    assert (progress["requests"], progress["failures"]) == (2, 1) and {"rps", "p95_ms"} <= set(progress)
    assert 0 <= progress["elapsed_s"] < 5
    env.events.quit.fire(exit_code=0)
    assert not (tmp_path / ".progress.json").exists()

    bare = fake_env(None, shape_class=None)  # before a runner exists, without a swarmgate shape
    recorder = ProgressRecorder(bare, tmp_path)
    recorder.greenlet.kill()
    bare.events.test_start.fire()
    recorder.write()
    assert json.loads((tmp_path / ".progress.json").read_text()) | {"elapsed_s": 0} == {
        "stage": None, "users": 0, "rps": 0, "p95_ms": None, "requests": 0, "failures": 0, "elapsed_s": 0,
        "planned_s": None, "started": recorder.started}  # fmt: skip
    bare.events.quit.fire(exit_code=0)


# --- resources


def test_resources_sample_this_process_and_the_target_until_it_is_gone(tmp_path):
    ready = tmp_path / "ready"
    code = f"import pathlib, time\npathlib.Path({str(ready)!r}).write_text('up')\ntime.sleep(60)\n"
    target = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():  # sampled once the interpreter is up, not at exec (when its RSS is tiny)
            assert target.poll() is None and time.monotonic() < deadline, "the target did not start"
            time.sleep(0.02)
        env = fake_env()
        recorder = ResourceRecorder(env, tmp_path, target.pid)
        recorder.greenlet.kill()  # sample() is driven by hand
        recorder.sample()
        target.kill()
        target.wait(timeout=10)
        recorder.sample()  # the target ended: dropped from sampling, not an error
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(timeout=10)
    env.events.quit.fire(exit_code=0)
    rows = read_csv(tmp_path / "resources.csv")
    assert [(r["role"], r["node"], int(r["pid"])) for r in rows] == [
        ("local", "local", os.getpid()), ("target", "target", target.pid), ("local", "local", os.getpid())]  # fmt: skip
    assert all(int(r["rss_bytes"]) > 1_000_000 for r in rows)
    assert rows[0]["timestamp"] == rows[1]["timestamp"]  # one timestamp per sample
    if sys.platform.startswith("linux"):  # used or waited for, between two readings (none before the first)
        assert rows[0]["cpu_demand_percent"] == "" and float(rows[2]["cpu_demand_percent"]) >= 0
    assert [p[0] for p in recorder.processes] == ["local"]


def test_resources_on_a_worker_sample_only_itself_under_its_client_id():
    env = fake_env(FakeWorker("worker-3"))
    recorder = ResourceRecorder(env, None, os.getpid())  # a target PID given to a worker is not sampled there
    recorder.greenlet.kill()
    recorder.sample()
    data: dict = {}
    env.events.report_to_master.fire(client_id="worker-3", data=data)
    ((_, role, node, pid, _, rss, _),) = data["swarmgate_resources.csv"]
    assert (role, node, pid) == ("worker", "worker-3", os.getpid()) and rss > 0


# --- arrivals


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def pacer_on(env, rate: float, users: int, monkeypatch) -> tuple[ArrivalPacer, Clock]:
    clock = Clock(100.0)
    monkeypatch.setattr(arrivals_module, "time", clock)
    monkeypatch.setattr(arrivals_module, "random", SimpleNamespace(uniform=lambda a, b: 0.0))
    env.runner = env.runner or SimpleNamespace(target_user_count=users)
    return ArrivalPacer(env, rate, StageRecorder(env, None)), clock


def test_the_pacer_keeps_slots_counts_late_starts_and_drops_missed_slots(monkeypatch):
    cls = user_class("Paced")
    env = fake_env()
    env.user_classes = [cls]
    pacer, clock = pacer_on(env, rate=10, users=5, monkeypatch=monkeypatch)  # each user every 5 / 10 = 0.5 s
    user = SimpleNamespace()
    assert cls.wait_time(user) == 0.0  # first slot at once (the spread over one interval is random)
    clock.now = 100.1  # the iteration took 0.1 s
    assert cls.wait_time(user) == pytest.approx(0.4)  # next slot at 100.5
    clock.now = 101.2  # took 0.7 s: 0.2 s late for the slot at 101.0
    assert cls.wait_time(user) == 0.0
    clock.now = 102.6  # 1.1 s late for the slot at 101.5: two whole slots missed, dropped, restarted now
    assert cls.wait_time(user) == 0.0
    clock.now = 102.7
    assert cls.wait_time(user) == pytest.approx(0.4)  # the next slot is one interval after the restart
    assert dict(pacer.counts[0]) == {"iterations": 5, "late": 2, "dropped": 2}
    assert pacer.max_late_s == pytest.approx(1.1)


def test_the_pacer_judges_the_achieved_rate_over_steady_stages(monkeypatch):
    env = fake_env()
    pacer, _ = pacer_on(env, rate=10, users=5, monkeypatch=monkeypatch)
    pacer.stages.stages = [Stage(0, "ramp", 5, False, 0.0, 10.0), Stage(1, "steady", 5, True, 10.0, 70.0)]
    pacer.counts[0].update(iterations=30)  # the ramp's iterations do not count
    pacer.counts[1].update(iterations=594)  # 594 / 60 s = 9.9 per s: within 95 % of 10
    assert pacer.summary() == {"target_per_s": 10, "achieved_per_s": 9.9, "measured_over_s": 60.0, "iterations": 594,
                               "late": 0, "dropped": 0, "max_late_ms": 0.0, "kept_up": True}  # fmt: skip
    pacer.counts[1].update(late=3, dropped=1)
    assert pacer.summary()["kept_up"] is False  # one dropped slot is not keeping up
    pacer.counts[1] = Counter(iterations=560)  # 9.33 per s: below 9.5
    assert pacer.summary()["achieved_per_s"] == 9.333 and pacer.summary()["kept_up"] is False
    pacer.stages.stages = []
    assert pacer.summary()["achieved_per_s"] is None and pacer.summary()["kept_up"] is False


def test_the_master_shares_the_rate_and_workers_report_their_counts(monkeypatch):
    master = FakeMaster()
    for name in ("w1", "w2", "w3", "w4"):
        master.clients[name] = WorkerNode(name, state=STATE_RUNNING)
    master_env = fake_env(master)
    on_master, _ = pacer_on(master_env, rate=100, users=20, monkeypatch=monkeypatch)
    master_env.events.test_start.fire(environment=master_env)
    shares = [sent for sent in master.sent if sent[0] == "swarmgate_arrival_rate"]
    assert shares == [("swarmgate_arrival_rate", {"rate": 25.0}, None)]  # 100 per s over four workers

    worker_env = fake_env(FakeWorker())
    worker_env.runner.target_user_count = 5
    on_worker, _ = pacer_on(worker_env, rate=100, users=5, monkeypatch=monkeypatch)
    worker_env.runner.deliver(worker_env, "swarmgate_arrival_rate", shares[0][1])
    assert on_worker.rate == 25.0 and on_worker.target == 100
    user = SimpleNamespace()
    on_worker.pace(user)
    on_worker.pace(user)
    data: dict = {}
    worker_env.events.report_to_master.fire(client_id="worker-1", data=data)
    assert on_worker.counts == {}
    master_env.events.worker_report.fire(client_id="worker-1", data=over_the_wire(data))
    assert dict(on_master.counts[0]) == {"iterations": 2}


# --- workers


def test_worker_watch_records_each_loss_once_with_its_users_and_a_rejoin():
    master = FakeMaster()
    env = fake_env(master)
    master.clients["w1"] = WorkerNode("w1", state=STATE_RUNNING)
    master.clients["w2"] = WorkerNode("w2", state=STATE_RUNNING)
    master.clients["w1"].user_classes_count = {"BaselineUser": 5}
    master.clients["w2"].user_classes_count = {"BaselineUser": 2, "AdminUser": 1}
    watch = WorkerWatch(env)
    watch.started = time.time() - 30
    watch.poll()
    assert watch.summary() == []
    master.clients["w2"].state = STATE_MISSING
    master.clients["w2"].user_classes_count = {}  # Locust forgets a missing worker's users
    watch.poll()
    watch.poll()
    (lost,) = watch.summary()
    assert lost["worker"] == "w2" and lost["users_lost"] == 3 and lost["rejoined"] is None
    assert lost["after_s"] == pytest.approx(30, abs=1)
    master.clients["w2"].state = STATE_RUNNING
    watch.poll()
    assert watch.summary()[0]["rejoined"] is not None
    master.clients["w1"].state = STATE_MISSING
    env.events.quitting.fire(environment=env)  # a loss in the last second is still seen
    assert [(e["worker"], e["users_lost"]) for e in watch.summary()] == [("w2", 3), ("w1", 5)]
    assert WorkerWatch(fake_env(None)).poll() is None  # no runner yet: nothing to poll


def test_only_workers_shorten_the_master_timeout(monkeypatch):
    monkeypatch.setattr(locust.runners, "MASTER_HEARTBEAT_TIMEOUT", 60)
    shorten_master_timeout(fake_env(), 10)
    shorten_master_timeout(fake_env(FakeMaster()), 10)
    assert locust.runners.MASTER_HEARTBEAT_TIMEOUT == 60
    shorten_master_timeout(fake_env(FakeWorker()), 0)  # 0: keep Locust's own
    assert locust.runners.MASTER_HEARTBEAT_TIMEOUT == 60
    shorten_master_timeout(fake_env(FakeWorker()), 10)
    assert locust.runners.MASTER_HEARTBEAT_TIMEOUT == 10


# --- run_meta


def run_options(**overrides) -> SimpleNamespace:
    options = {"scenario": "smoke", "run_id": "run-1", "host": "", "num_users": 10, "spawn_rate": 5, "tags": None,
               "exclude_tags": None}  # fmt: skip
    return SimpleNamespace(**{**options, **overrides})


def finish(env) -> None:
    """The end of a run that was not cut short: the runner stops (firing test_stop), then Locust quits."""
    env.runner.stop()
    env.events.quitting.fire(environment=env)
    env.events.quit.fire(exit_code=0)


def test_run_json_while_running_and_after_a_finished_run(tmp_path, local_env, monkeypatch):
    """A plain `locust` run (no --run-id): run.json is complete when Locust quits; its id is its folder's name."""
    monkeypatch.setenv("SWARMGATE_VERSION", "9.8.7")
    monkeypatch.setenv("SWARMGATE_GIT_REVISION", "abc123")
    host = "https://demo:s3cret@api.example.com/v1?token=abc&page=2"
    env = local_env(user_classes=[user_class("Reader", 3), user_class("Writer", 1)], host=host,
                    parsed_options=run_options(run_id=""))  # fmt: skip
    out_dir = tmp_path / "run-1"
    out_dir.mkdir()
    counter, slow = UserClassCounter(env), SlowRequestRecorder(env, None, 750)
    recorder = RunRecorder(env, out_dir, counter, slow)
    env.events.test_start.fire(environment=env)
    running = json.loads((out_dir / "run.json").read_text())
    assert (running["status"], running["partial"], running["ended"], running["exit_code"]) == ("running", True, None,
                                                                                                None)  # fmt: skip
    env.events.spawning_complete.fire(user_count=10)
    counter.record({"user_class": "Reader"})
    finish(env)
    done = json.loads((out_dir / "run.json").read_text())
    assert done["host"] == "https://api.example.com/v1?token=***&page=2"  # no credentials in run.json
    assert {key: done[key] for key in ("scenario", "run_id", "status", "partial", "exit_code", "user_classes",
                                       "requests_by_user_class", "slow_requests", "arrival_rate", "peak_users",
                                       "target_users", "spawn_rate", "shape", "tls_verify", "workers",
                                       "git_revision")} == {  # fmt: skip
        "scenario": "smoke", "run_id": "run-1", "status": "finished", "partial": False, "exit_code": 0,
        "user_classes": {"Reader": 3, "Writer": 1}, "requests_by_user_class": {"Reader": 1},
        "slow_requests": {"threshold_ms": 750, "written": 0, "left_out": 0}, "arrival_rate": None,
        "peak_users": 10, "target_users": 10, "spawn_rate": 5, "shape": None, "tls_verify": True,
        "workers": {"expected": 0, "seen": 0, "missing": [], "lost": []}, "git_revision": "abc123",
    }  # fmt: skip
    assert done["versions"]["locust"] == locust.__version__ and done["versions"]["swarmgate"] == "9.8.7"
    assert 0 <= done["duration_s"] < 5 and done["ended"] >= done["started"]
    assert recorder.interrupted is False


@pytest.mark.parametrize(
    "orchestrated,run_id,expected",
    [("1", "smoke-20260101-0300", ("ended", True, "smoke-20260101-0300")),  # left for `swarmgate run` to confirm
     (None, "my-run", ("finished", False, "my-run"))],  # --run-id names a plain run; it finishes by itself
    ids=["started-by-swarmgate", "plain-locust-with-a-run-id"],
)  # fmt: skip
def test_only_a_run_swarmgate_started_is_left_ended(tmp_path, local_env, monkeypatch, orchestrated, run_id, expected):
    if orchestrated:
        monkeypatch.setenv("SWARMGATE_ORCHESTRATED", orchestrated)
    else:
        monkeypatch.delenv("SWARMGATE_ORCHESTRATED", raising=False)
    env = local_env(user_classes=[user_class("Reader")], parsed_options=run_options(run_id=run_id))
    RunRecorder(env, tmp_path, None)
    env.events.test_start.fire(environment=env)
    finish(env)
    document = json.loads((tmp_path / "run.json").read_text())
    assert (document["status"], document["partial"], document["run_id"]) == expected


def test_run_json_says_interrupted_when_quitting_before_the_run_ended(tmp_path, local_env):
    env = local_env(user_classes=[user_class("Risky", insecure=True)], parsed_options=run_options(run_id=""))
    RunRecorder(env, tmp_path / "smoke-20260101", None)
    (tmp_path / "smoke-20260101").mkdir()
    env.events.test_start.fire(environment=env)
    env.events.quitting.fire(environment=env)  # Ctrl-C: the runner has not stopped yet
    env.events.quit.fire(exit_code=1)
    document = json.loads((tmp_path / "smoke-20260101" / "run.json").read_text())
    assert (document["status"], document["partial"], document["exit_code"]) == ("interrupted", True, 1)
    assert document["tls_verify"] is False and document["run_id"] == "smoke-20260101"  # the folder's name
    assert document["requests_by_user_class"] is None and document["slow_requests"] is None


def test_a_swarmgate_shape_says_whether_its_plan_completed(tmp_path):
    for completed, status in ((True, "finished"), (False, "interrupted")):
        shape = type("PlannedShape", (), {"completed": completed})()
        env = fake_env(SimpleNamespace(state=STATE_RUNNING), shape_class=shape, **vars(run_options(run_id="")))
        RunRecorder(env, tmp_path, None)
        env.events.test_start.fire(environment=env)
        env.events.quitting.fire(environment=env)
        env.events.quit.fire(exit_code=0)
        document = json.loads((tmp_path / "run.json").read_text())
        assert document["status"] == status
        assert (document["shape"], document["target_users"], document["spawn_rate"]) == ("PlannedShape", None, None)


def test_run_json_on_a_master_counts_workers_seen_missing_and_lost(tmp_path):
    master = FakeMaster()
    master.clients["w1"] = WorkerNode("w1", state=STATE_RUNNING)
    master.clients["w2"] = WorkerNode("w2", state=STATE_MISSING)
    env = fake_env(master, **vars(run_options(expect_workers=3)))
    watch = WorkerWatch(env)
    watch.lost.append({"worker": "w0", "at": None, "after_s": 3.0, "users_lost": 4, "rejoined": None})  # forgotten
    recorder = RunRecorder(env, tmp_path, None, workers=watch)
    for worker in ("w0", "w1", "w2", "w1"):
        env.events.worker_connect.fire(client_id=worker)
    workers = recorder.document("running", None)["workers"]
    assert workers == {"expected": 3, "seen": 3, "missing": ["w0", "w2"], "lost": watch.lost}
