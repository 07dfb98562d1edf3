"""The live panel in Locust's web UI (`swarmgate web`), through Locust's own extension points.

- Three tabs (Locust's `extended_tabs` / `extended_tables`, their rows added to the UI's own
  `/stats/requests` poll as `extended_stats`): **SLA live**: the verdict so far, the stage and users,
  then each check with its live value against target and alert, its status marked 🟢 pass, 🟡 warn,
  🔴 fail; **Gates**: each abort gate's windowed value and countdown, or why it waits; **Last 10 s**:
  per endpoint the windowed requests, rps, p95 and error ratio.
- `GET /swarmgate/live.json`: the same state for tools (documented in docs/operations.md).
- `GET /swarmgate/report`: the report of the test that ended last, once `swarmgate web` has written
  it (404 until then); linked from the first row of SLA live and from Locust's Download Data tab.

The routes sit behind the UI's login when --web-login is on; the UI's Host and Origin checks and its
removal of CORS headers (web_login.py) cover them as every other route.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # swarmgate web reads the file names above without loading Locust
    from locust.env import Environment

MARKS = {"pass": "🟢 pass", "warn": "🟡 warn", "fail": "🔴 fail"}
REPORT_ROUTE = "/swarmgate/report"
TEST_ENDED = ".test_ended"  # the recorders: a web-UI test ended (its end time), its files are written
REPORT_FOR = ".report_for"  # swarmgate web: report.html is of the test whose end marker held this
STATE_ROUTE = "/swarmgate/live.json"
TABLES = {
    "swarmgate-sla": [("status", "status"), ("check", "check"), ("value", "live value"), ("target", "target"),
                      ("alert", "alert")],
    "swarmgate-gates": [("gate", "gate"), ("value", "last 10 s"), ("alert", "alert"), ("after", "abort after"),
                        ("state", "state")],
    "swarmgate-window": [("endpoint", "endpoint"), ("requests", "requests"), ("rps", "req/s"), ("p95_ms", "p95 ms"),
                         ("error_ratio", "error ratio")],
}  # fmt: skip
TITLES = {"swarmgate-sla": "SLA live", "swarmgate-gates": "Gates", "swarmgate-window": "Last 10 s"}


def shown(value: object) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def report_ready(out_dir: Path | None) -> bool:
    """Whether report.html is the report of the test that ended last (swarmgate web names the test it
    analyzed; a report of an earlier test, finished late, is not this one)."""
    if out_dir is None:
        return False
    try:
        ended = (out_dir / TEST_ENDED).read_text(encoding="utf-8")
        return ended == (out_dir / REPORT_FOR).read_text(encoding="utf-8") and (out_dir / "report.html").is_file()
    except OSError:
        return False


def sla_rows(state: dict, running: bool, ready: bool) -> list[dict]:
    stage = state.get("stage") or {}
    where = f"stage {stage.get('name')} · {stage.get('users')} users" if stage else "no stage yet"
    if running:
        head = f"verdict so far ({state['judged_over']}) · {where}"
    elif not stage:
        head = "no test yet: start one"
    else:
        head = f"verdict: {state['verdict'].upper()} · report: " + (REPORT_ROUTE if ready else "being written")
    if state.get("aborted"):
        head = f"STOPPED BY A GATE: {state['aborted']['message']} · {head}"
    rows = [{"status": MARKS[state["verdict"]], "check": head, "value": "", "target": "", "alert": ""}]
    for check in state["checks"]:
        what = f"{'journey' if check['kind'] == 'journey' else check['method'] or ''} {check['endpoint']}".strip()
        rows.append({"status": MARKS[check["status"]], "check": f"{what} {check['metric']}",
                     "value": shown(check["actual"]), "target": shown(check["target"]),
                     "alert": shown(check["alert"])})  # fmt: skip
    return rows


def gate_rows(state: dict) -> list[dict]:
    rows = []
    for gate in state["gates"]:
        if gate["left_s"] is not None:
            words = f"🔴 beyond alert for {gate['beyond_for_s']:g} s: stops in {gate['left_s']:g} s"
        elif gate["judging"]:
            words = "🟢 within alert"
        else:
            words = f"waiting: {gate['waiting']}"
        what = "journey" if gate.get("journey") else gate["method"]
        rows.append({"gate": f"{what} {gate['name']} {gate['metric']}".strip(),
                     "value": shown(gate["value"]), "alert": shown(gate["alert"]),
                     "after": f"{gate['abort_after_s']:g} s", "state": words})  # fmt: skip
    if not state["gates_enabled"]:
        rows.append({"gate": "gates off (--no-abort)", "value": "", "alert": "", "after": "", "state": ""})
    return rows


def window_rows(state: dict) -> list[dict]:
    return [{"endpoint": f"{row['method']} {row['name']}".strip(), "requests": row["requests"],
             "rps": shown(row["rps"]), "p95_ms": shown(row["p95_ms"]), "error_ratio": shown(row["error_ratio"])}
            for row in state["endpoints"]]  # fmt: skip


def install(environment: Environment, live, out_dir: Path | None) -> None:
    """Add the tabs and routes to the web UI (nothing without one, or without the live judge)."""
    web_ui = environment.web_ui
    if web_ui is None or live is None:
        return
    out_dir = out_dir.resolve() if out_dir is not None else None  # Flask resolves relative paths elsewhere
    from flask import Blueprint, Response, request, send_file

    web_ui.template_args["extended_tabs"] = [{"key": key, "title": title} for key, title in TITLES.items()]
    web_ui.template_args["extended_tables"] = [
        {"key": key, "structure": [{"key": k, "title": t} for k, t in columns]} for key, columns in TABLES.items()
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": REPORT_ROUTE.lstrip("/"), "title": "swarmgate report of the last test (once it ended)"},
        {"href": STATE_ROUTE.lstrip("/"), "title": "swarmgate live state (JSON)"},
    ]

    def running() -> bool:
        return environment.runner is not None and environment.runner.state not in ("ready", "stopped")

    def full_state() -> dict:
        ready = report_ready(out_dir)
        return {**live.state(), "running": running(), "report": REPORT_ROUTE if ready else None}

    @web_ui.app.after_request
    def add_live_tables(response):
        if request.path != "/stats/requests" or response.status_code != 200 or not response.is_json:
            return response
        state = full_state()
        tables = {"swarmgate-sla": sla_rows(state, state["running"], state["report"] is not None),
                  "swarmgate-gates": gate_rows(state), "swarmgate-window": window_rows(state)}  # fmt: skip
        extended = [{"key": key, "data": rows} for key, rows in tables.items()]
        response.set_data(json.dumps({**response.get_json(), "extended_stats": extended}))
        return response

    blueprint = Blueprint("swarmgate_live", "swarmgate_live_web")

    @blueprint.route(STATE_ROUTE)
    @web_ui.auth_required_if_enabled
    def live_state():
        return Response(json.dumps(full_state()), mimetype="application/json")

    @blueprint.route(REPORT_ROUTE)
    @web_ui.auth_required_if_enabled
    def last_report():
        if not report_ready(out_dir):  # a Response, not abort(): Locust's login wrapper turns exceptions into 200s
            return Response("the report is written when a test ends; try again in a few seconds\n", status=404,
                            mimetype="text/plain")  # fmt: skip
        return send_file(out_dir / "report.html", mimetype="text/html", max_age=0)

    web_ui.app.register_blueprint(blueprint)
