"""The live view of a headless run: a panel updated in place on a terminal, plain lines in a log,
nothing with --quiet."""

from __future__ import annotations

import io
import json

from swarmgate.console import LIVE_EVERY_S, PLAIN_EVERY_S, RunConsole

PROGRESS = {"stage": "hold-2 (20 users)", "users": 20, "rps": 40.25, "p95_ms": 12, "requests": 402, "failures": 3,
            "elapsed_s": 20.4, "planned_s": 30}  # fmt: skip


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_plain_line_every_ten_seconds(tmp_path):
    (tmp_path / ".progress.json").write_text(json.dumps(PROGRESS))
    log = io.StringIO()
    with RunConsole("step 1/2", tmp_path, 30, quiet=False, stream=log) as console:
        assert console.every_s == PLAIN_EVERY_S
        console.show(20.0)
    assert log.getvalue() == ("  [step 1/2] hold-2 (20 users) · 20 users · 40.2 req/s · p95 12 ms · 3 of 402 failed · "
                              "20 s elapsed, 10 s left\n")  # fmt: skip


def test_before_any_progress_the_line_says_starting(tmp_path):
    log = io.StringIO()
    RunConsole("smoke", tmp_path, 30, quiet=False, stream=log).show(2.0)
    assert log.getvalue().startswith("  [smoke] starting · 0 users · 0.0 req/s · p95 - · 0 of 0 failed · 2 s elapsed")


def test_a_terminal_gets_a_panel_redrawn_in_place_and_quiet_gets_nothing(tmp_path):
    terminal = Terminal()
    with RunConsole("smoke 1/1", tmp_path, 30, quiet=False, stream=terminal) as console:
        assert console.every_s == LIVE_EVERY_S
        (tmp_path / ".progress.json").write_text(json.dumps(PROGRESS))
        console.show(20.0)
        (tmp_path / ".progress.json").write_text(json.dumps({**PROGRESS, "users": 25, "elapsed_s": 21.4}))
        console.show(21.0)
    shown = terminal.getvalue()
    assert "swarmgate: smoke 1/1" in shown and "p95 (10 s)" in shown and "3 of 402" in shown
    assert "\x1b[1A" in shown  # the cursor goes back up: the panel is redrawn, not appended
    assert shown.rindex("25") > shown.rindex("20 s")  # the last drawing has the new figures
    quiet = Terminal()
    with RunConsole("smoke", tmp_path, 30, quiet=True, stream=quiet) as console:
        console.show(1.0)
    assert quiet.getvalue() == ""


def test_live_checks_and_a_gate_counting_down_are_shown_in_both_forms(tmp_path):
    gate = {"what": "GET /api/workspaces", "metric": "p95_ms", "left_s": 6.2}
    (tmp_path / ".progress.json").write_text(json.dumps({**PROGRESS, "checks": 14, "beyond_target": 2,
                                                         "gates": [gate], "aborted": None}))  # fmt: skip
    log = io.StringIO()
    RunConsole("gated", tmp_path, 30, quiet=False, stream=log).show(20.0)
    ending = " · 2 of 14 checks beyond target · gates: GET /api/workspaces p95_ms: stops in 6 s\n"
    assert log.getvalue().endswith(ending)
    terminal = Terminal()
    with RunConsole("gated", tmp_path, 30, quiet=False, stream=terminal) as console:
        console.show(20.0)
    shown = terminal.getvalue()
    assert "beyond target" in shown and "2 of 14" in shown and "GET /api/workspaces p95_ms: stops in 6 s" in shown


def test_the_journeys_completing_least_are_shown_in_both_forms(tmp_path):
    journeys = [{"name": "browse", "completion_ratio": 1.0}, {"name": "run [workflow]", "completion_ratio": 0.7571}]
    (tmp_path / ".progress.json").write_text(json.dumps({**PROGRESS, "checks": 3, "beyond_target": 1, "gates": [],
                                                         "aborted": None, "journeys": journeys}))  # fmt: skip
    log = io.StringIO()
    RunConsole("smoke", tmp_path, 30, quiet=False, stream=log).show(20.0)
    assert log.getvalue().endswith(" · journeys completed: run [workflow] 76 %, browse 100 %\n")
    terminal = Terminal()
    with RunConsole("smoke", tmp_path, 30, quiet=False, stream=terminal) as console:
        console.show(20.0)
    assert "journeys completed: run [workflow] 76 %, browse 100 %" in terminal.getvalue()


def test_names_with_brackets_are_shown_as_written_not_read_as_markup(tmp_path):
    gate = {"what": "GET /items?id=[id]", "metric": "p95_ms", "left_s": 3}
    progress = {**PROGRESS, "stage": "hold [/x]", "checks": 2, "beyond_target": 1, "gates": [gate], "aborted": None}
    (tmp_path / ".progress.json").write_text(json.dumps(progress))
    terminal = Terminal()
    with RunConsole("smoke", tmp_path, 30, quiet=False, stream=terminal) as console:
        console.show(20.0)
    shown = terminal.getvalue()
    assert "GET /items?id=[id] p95_ms" in shown and "[/x]" in shown
