"""Fault phases: the scenario's [[faults]] validated, and the runner's actions, undos and records with real
commands (this Python) and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swarmgate.core.errors import BadInput, RunFailed
from swarmgate.fault_actions import preflight, run_action, variables_for
from swarmgate.fault_config import FaultAction, FaultPhase
from swarmgate.faults import PENDING_FILE, FaultRunner, pending_undos, process_started
from swarmgate.scenarios import load_scenario

SHAPE = '[shape]\nkind = "stages"\n[[shape.stages]]\nname = "a"\nduration = "20s"\nusers = 2\n' \
        '[[shape.stages]]\nname = "b"\nduration = "20s"\nusers = 2\n'  # fmt: skip
CMD = '{ command = ["true"] }'


def scenario(tmp_path, faults: str):
    path = tmp_path / "f.toml"
    path.write_text(SHAPE + faults)
    return load_scenario(str(path))


def test_fault_phases_are_read_placed_on_the_clock_and_time_scaled(tmp_path):
    undo = 'undo = { url = "${URL}/x", method = "DELETE", headers = { A = "Bearer ${T}" } }\n'
    loaded = scenario(tmp_path, f'[[faults]]\nname = "db"\nstage = "b"\nduration = "10s"\naction = {CMD}\n{undo}')
    (fault,) = loaded.faults
    assert (fault.start_s, fault.duration_s, fault.undo.method) == (20, 10, "DELETE")
    assert fault.undo.variables == {"URL", "T"}
    scaled = loaded.scaled(0.1).faults[0]
    assert (scaled.start_s, scaled.duration_s, scaled.recovery_hold_s) == (2, 1, 3)  # the hold is not scaled


@pytest.mark.parametrize(("faults", "problem"), [
    (f'[[faults]]\nstart = "5s"\nstage = "b"\nduration = "1s"\naction = {CMD}\nundo = {CMD}\n', "give either start"),
    (f'[[faults]]\nstage = "zz"\nduration = "1s"\naction = {CMD}\nundo = {CMD}\n', "not a stage of this scenario"),
    (f'[[faults]]\nstart = "35s"\nduration = "3s"\naction = {CMD}\nundo = {CMD}\n', "until 41 s, past the plan's end"),
    (f'[[faults]]\nstage = "a"\nduration = "1s"\naction = {CMD}\nundo = {CMD}\n', "stage: a fault at 0 s leaves no"),
    (f'[[faults]]\nname = "x"\nstart = "5s"\nduration = "9s"\naction = {CMD}\nundo = {CMD}\n[[faults]]\nname = "y"\n'
     f'start = "10s"\nduration = "1s"\naction = {CMD}\nundo = {CMD}\n', "'y' starts at 10 s, before 'x' ends"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "http://x", headers = {{ X-Api-Key = "k1" }} }}\n'
     f'undo = {CMD}\n', "headers.X-Api-Key: a credential written into the scenario file"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "http://x", headers = {{ Cookie = "a=b" }} }}\n'
     f'undo = {CMD}\n', "headers.Cookie: a credential"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "http://x", headers = {{ A = "x\\r\\nB: y" }} }}\n'
     f'undo = {CMD}\n', "headers.A: holds a line break"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "http://x", headers = {{ "A B" = "x" }} }}\n'
     f'undo = {CMD}\n', "'A B' is not a header name"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {CMD}\n', "undo: must be a table"),
    ('[[faults]]\nstart = "5s"\nduration = "1s"\naction = { command = "rm -rf x" }\nundo = { command = ["true"] }\n',
     "must be a list of arguments"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "ftp://x" }}\nundo = {CMD}\n', "must start with"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {{ url = "https://u:pw@x/f" }}\nundo = {CMD}\n',
     "holds credentials"),
    (f'[[faults]]\nstart = "5s"\nduration = "1s"\naction = {CMD}\nundo = {CMD}\nshell = true\n', "shell: unknown key"),
])  # fmt: skip
def test_bad_fault_phases_are_refused_with_the_key_and_a_hint(tmp_path, faults, problem):
    with pytest.raises(BadInput, match=problem):
        scenario(tmp_path, faults)


def test_a_fault_that_a_time_scale_pushes_past_the_plan_is_refused_before_any_run(tmp_path):
    loaded = scenario(tmp_path, f'[[faults]]\nstart = "30s"\nduration = "6s"\naction = {CMD}\nundo = {CMD}\n')
    loaded.check_faults_fit()  # 36 s + a hold of 3 s: inside the 40 s plan
    with pytest.raises(BadInput, match=r"until 6\.6 s, past the plan's end \(4 s\).*--time-scale 0\.1"):
        loaded.scaled(0.1).check_faults_fit()  # the hold is not scaled
    (tmp_path / "f.toml").write_text("faults = 3\n" + SHAPE)
    with pytest.raises(BadInput, match=r"faults: must be a list of 1 to 20 tables, e.g. \[\[faults\]\]"):
        load_scenario(str(tmp_path / "f.toml"))


def command(*code: str, timeout_s: float = 10.0) -> FaultAction:
    return FaultAction("command", timeout_s, command=(sys.executable, "-c", *code))


class FaultEndpoint(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, str]] = []

    def do_PUT(self):  # noqa: N802 - the handler's names are http.server's
        self.answer()

    def do_DELETE(self):  # noqa: N802
        self.answer()

    def answer(self):
        FaultEndpoint.calls.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.path.endswith("/drip"):  # an answer a byte at a time: no socket operation ever times out
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.05)
            return
        code = 500 if self.path.endswith("/broken") else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"done with " + self.headers.get("Authorization", "").encode())

    def log_message(self, *_args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FaultEndpoint.calls = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_actions_expand_variables_mask_secrets_and_record_the_text_as_written(endpoint, monkeypatch):
    monkeypatch.setenv("MY_API_TOKEN", "s3cret-token-value")
    header = ("Authorization", "Bearer ${MY_API_TOKEN}")
    http = FaultAction("http", 5, method="PUT", url="${URL}/faults/db", headers=(header,))
    printing = command("import os; print('using', os.environ['MY_API_TOKEN'])")
    phase = FaultPhase("db", 1, 1, http, printing)
    variables = variables_for((phase,), {"URL": endpoint}, "f.toml")
    result = run_action(http, variables)
    assert result.ok and result.exit_status == 200 and result.output == "done with Bearer ***"
    assert FaultEndpoint.calls == [("PUT", "/faults/db", "Bearer s3cret-token-value")]
    assert run_action(printing, variables).output == "using ***\n"
    assert "s3cret" not in json.dumps(http.record()) and http.record()["headers"] == dict([header])
    broken = run_action(FaultAction("http", 5, method="PUT", url=f"{endpoint}/broken"), variables)
    assert (broken.ok, broken.exit_status, broken.error) == (False, 500, "HTTP 500 Internal Server Error")
    slow = run_action(command("import time; time.sleep(5)", timeout_s=0.3), variables)
    assert not slow.ok and "timed out after 0.3 s" in slow.error
    monkeypatch.setenv("KUBE_CTX", "prod-eu-1")  # any variable's value is masked, not only a header's
    echo = FaultAction("command", 5, command=(sys.executable, "-c", "import sys; print(sys.argv[1])", "${KUBE_CTX}"))
    shown = run_action(echo, variables_for((FaultPhase("x", 1, 1, echo, echo),), {}, "f"))
    assert shown.ok and shown.output == "***\n"
    drip = run_action(FaultAction("http", 0.5, method="PUT", url=f"{endpoint}/drip"), variables)
    assert not drip.ok and drip.error == "no complete answer within 0.5 s (given up)" and drip.ended - drip.started < 1


def test_what_cannot_start_is_refused_before_any_load(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    missing = FaultPhase("x", 1, 1, FaultAction("command", 5, command=("${NOT_SET_ANYWHERE}",)), command("pass"))
    with pytest.raises(BadInput, match=r"\$\{NOT_SET_ANYWHERE\}, which is not set"):
        variables_for((missing,), {}, "f.toml")
    absent = FaultPhase("x", 1, 1, FaultAction("command", 5, command=("no-such-program-here",)), command("pass"))
    with pytest.raises(RunFailed, match="'no-such-program-here' not found"):
        preflight((absent,), variables_for((absent,), {}, "f.toml"))
    closed = FaultPhase("x", 1, 1, command("pass"), FaultAction("http", 5, url="http://127.0.0.1:9/x"))
    with pytest.raises(RunFailed, match="undo: cannot connect to http://127.0.0.1:9/x"):
        preflight((closed,), variables_for((closed,), {}, "f.toml"))


def runner(tmp_path, phases, lines, clock_start, load_running=lambda: True):
    stopped = []
    variables = variables_for(tuple(phases), {}, "f")
    faults = FaultRunner(tuple(phases), variables, tmp_path, lambda: clock_start, lambda: stopped.append(True),
                         lambda line, loud: lines.append((line, loud)), load_running)  # fmt: skip
    return faults, stopped


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.02)


def test_finish_waits_for_an_action_under_way_and_each_started_action_is_undone_exactly_once(tmp_path):
    log = tmp_path / "log"
    slow_on = command(f"import time; open({str(log)!r}, 'a').write('on\\n'); time.sleep(1)")
    off = command(f"open({str(log)!r}, 'a').write('off\\n')")
    lines: list = []
    # the undo is due the moment the action ends: the schedule and finish both reach for it
    faults, _ = runner(tmp_path, [FaultPhase("db", 0.0, 0.0, slow_on, off)], lines, time.time())
    faults.start()
    wait_for(lambda: log.exists())
    (record,) = faults.finish("interrupted")  # called while the action runs: it waits, never skips the undo
    faults.thread.join(timeout=10)
    assert log.read_text().split() == ["on", "off"] and record["undo"]["ok"]
    assert not (tmp_path / PENDING_FILE).exists()


def test_no_fault_starts_once_the_load_has_stopped_and_the_record_says_why(tmp_path):
    marker = tmp_path / "ran"
    phases = [FaultPhase("db", 0.0, 0.0, command(f"open({str(marker)!r}, 'w')"), command("pass"))]
    faults, _ = runner(tmp_path, phases, [], time.time(), load_running=lambda: False)
    faults.start().thread.join(timeout=10)
    (record,) = faults.finish("run ended early")
    assert not marker.exists() and record["action"].get("ok") is None and record["window"] is None
    assert record["not_run"] == "the run ended before it was due (run ended early)"


def test_faults_whose_run_clock_never_appears_are_recorded_as_never_run(tmp_path):
    phases = [FaultPhase("db", 1.0, 1.0, command("pass"), command("pass"))]
    faults = FaultRunner(tuple(phases), variables_for(tuple(phases), {}, "f"), tmp_path, lambda: None,
                         lambda: None, lambda line, loud: None, clock_wait_s=0.3)  # fmt: skip
    faults.start().thread.join(timeout=10)
    (record,) = faults.finish("run ended early")
    assert record["not_run"] == "Locust's start was not seen within 0.3 s" and record["window"] is None


def test_a_pending_record_that_cannot_be_written_costs_no_undo_and_no_traceback(tmp_path):
    on, off, broken = command("pass"), command("pass"), command("raise SystemExit(1)")
    lines: list = []
    phases = [FaultPhase("a", 0.0, 60, on, off), FaultPhase("b", 0.0, 60, on, broken)]
    faults, _ = runner(tmp_path, phases, lines, time.time())
    faults.start()
    wait_for(lambda: all(s.status == "on" for s in faults.states))
    (tmp_path / PENDING_FILE).unlink()
    (tmp_path / PENDING_FILE).mkdir()  # the record cannot be put in place now (as on a full disk)
    records = faults.finish("interrupted")
    assert [r["undo"].get("ok") for r in records] == [True, False]  # both undos ran, the write came after
    assert lines[-1][1] and "cannot write" in lines[-1][0]
    (tmp_path / PENDING_FILE).rmdir()
    faults, stopped = runner(tmp_path / "not-a-dir" / "run", phases[:1], lines, time.time())  # fails before it starts
    (tmp_path / "not-a-dir").write_text("")
    faults.start().thread.join(timeout=10)
    assert stopped == [True] and "not started, its pending record could not be written" in faults.failed
    assert faults.finish("action failed")[0]["action"].get("ok") is None


def test_an_undo_runs_when_the_run_ends_early_and_the_pending_record_goes_with_it(tmp_path):
    marker = tmp_path / "state"
    on = command(f"open({str(marker)!r}, 'w').write('on')")
    off = command(f"open({str(marker)!r}, 'w').write('off')")
    lines: list = []
    faults, _ = runner(tmp_path, [FaultPhase("db", 0.1, 60, on, off)], lines, time.time())
    faults.start()
    wait_for(lambda: marker.exists() and marker.read_text() == "on")
    pending = json.loads((tmp_path / PENDING_FILE).read_text())
    assert pending["faults"][0]["name"] == "db" and pending["pid"] == os.getpid()
    (record,) = faults.finish("interrupted")  # Ctrl-C: the undo runs now, not in 60 s
    assert marker.read_text() == "off" and record["undo"]["reason"] == "interrupted" and record["undo"]["ok"]
    assert record["window"]["end_ts"] >= record["window"]["start_ts"] and not (tmp_path / PENDING_FILE).exists()
    assert [loud for _, loud in lines] == [False, False]


def test_a_failed_action_is_undone_and_stops_the_run_and_a_failed_undo_is_loud(tmp_path):
    lines: list = []
    phases = [FaultPhase("db", 0.0, 1, command("raise SystemExit(3)"), command("raise SystemExit(4)"))]
    faults, stopped = runner(tmp_path, phases, lines, time.time() - 5)
    faults.start().thread.join(timeout=20)
    assert stopped == [True]
    undo = "its undo FAILED: the system may be left broken"
    assert faults.failed == f"fault 'db': its action failed (exit status 3); {undo}"
    (record,) = faults.finish("action failed")
    assert record["undo"]["reason"] == "action failed" and record["window"] is None and faults.undo_failed
    assert lines[-1][1] is True and "may be left broken" in lines[-1][0]
    (left,) = json.loads((tmp_path / PENDING_FILE).read_text())["faults"]  # the next run warns of it
    assert left["name"] == "db" and left["undo_error"] == "exit status 4"


def test_a_fault_left_on_by_a_killed_run_is_reported_by_the_next(tmp_path):
    run_dir = tmp_path / "chaos" / "20260101T000000Z-abc"
    run_dir.mkdir(parents=True)
    dead = 2**22 + 12345  # above the pid range: no process
    undo = {"kind": "command", "command": ["docker", "start", "db"], "timeout_s": 60}
    (run_dir / PENDING_FILE).write_text(json.dumps({"pid": dead, "faults": [{"name": "db", "undo": undo}]}))
    (found,) = pending_undos(tmp_path)
    assert "fault 'db'" in found and "docker start db" in found and "never undone" in found
    mine = {"pid": os.getpid(), "pid_started": process_started(os.getpid())}
    (run_dir / PENDING_FILE).write_text(json.dumps({**mine, "faults": [{"name": "db", "undo": undo}]}))
    assert pending_undos(tmp_path) == []  # a run going on now
    reused = {**mine, "pid_started": mine["pid_started"] - 100}  # the pid of a killed run, now another process's
    failed = {"name": "db", "undo": undo, "undo_error": "exit status 1"}
    (run_dir / PENDING_FILE).write_text(json.dumps({**reused, "faults": [failed]}))
    (found,) = pending_undos(tmp_path)
    assert "its undo failed (exit status 1)" in found and "docker start db" in found
