"""The demo's run-time faults, through its fault endpoint, with the WSGI app called in-process."""

from __future__ import annotations

import io
import time

import gevent

from swarmgate.demo.app import DemoApp
from swarmgate.demo.chaos import Chaos
from swarmgate.demo.faults import Faults
from swarmgate.demo.server import Credentials, open_store
from tests.unit.test_demo_app import call, login

FAULT_TOKEN = "fault-token-for-tests"


def make_app(tmp_path, fault_token: str | None = FAULT_TOKEN) -> DemoApp:
    store = open_store(tmp_path / "demo.sqlite", Credentials("user-pw", "admin-pw"))
    return DemoApp(store, Faults(), Chaos(log=io.StringIO()), fault_token=fault_token or "")


def test_the_fault_endpoint_answers_only_its_own_token(tmp_path):
    app = make_app(tmp_path)
    user = login(app)
    admin = login(app, "admin", "admin-pw")
    for token in (None, user, admin, "wrong"):
        assert call(app, "PUT", "/admin/faults/database", None, token)[0] == 404
    assert call(app, "GET", "/admin/faults", None, FAULT_TOKEN)[1]["faults"] == {}
    assert call(make_app(tmp_path, None), "GET", "/admin/faults", None, FAULT_TOKEN)[0] == 404  # no token: no endpoint
    assert call(app, "PUT", "/admin/faults/disk", None, FAULT_TOKEN)[0] == 404
    assert call(app, "PUT", "/admin/faults/database", {"recovery_s": -1}, FAULT_TOKEN)[0] == 422


def test_a_database_outage_fails_only_what_needs_the_database_until_it_has_recovered(tmp_path):
    app = make_app(tmp_path)
    token = login(app)
    call(app, "GET", "/api/workspaces", None, token)  # the session is cached now
    assert call(app, "PUT", "/admin/faults/database", {"recovery_s": 0.2}, FAULT_TOKEN)[0] == 200
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 503
    assert call(app, "POST", "/api/auth/login", {"username": "demo", "password": "user-pw"})[0] == 503
    assert call(app, "GET", "/health")[0] == 200
    assert call(app, "GET", "/api/reports/usage?rows=10", None, token)[0] == 200  # cached session, no query
    off = time.time()
    assert call(app, "DELETE", "/admin/faults/database", None, FAULT_TOKEN)[1]["was_on"] is True
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 503  # still restarting
    gevent.sleep(0.3)
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 200
    log = app.chaos.log.getvalue()
    recovered = float(log.split("recovered at ")[1].split("(unix ")[1].split(")")[0])
    assert 0.2 <= recovered - off < 0.3, log


def test_cache_down_is_slower_but_answers_and_a_dependency_times_out(tmp_path):
    app = make_app(tmp_path)
    token = login(app)
    call(app, "PUT", "/admin/faults/cache", {"latency_ms": 60}, FAULT_TOKEN)
    started = time.perf_counter()
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 200
    assert time.perf_counter() - started >= 0.06
    code, workspace = call(app, "POST", "/api/workspaces", {"name": "w"}, token)
    code, workflow = call(app, "POST", f"/api/workspaces/{workspace['id']}/workflows", {"name": "f", "steps": [1]},
                          token)  # fmt: skip
    call(app, "PUT", "/admin/faults/dependency", {"wait_ms": 50}, FAULT_TOKEN)
    assert call(app, "POST", f"/api/workflows/{workflow['id']}/executions", None, token)[0] == 504
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 200  # only the workflow engine's routes
    call(app, "PUT", "/admin/faults/pool", {"wait_ms": 50}, FAULT_TOKEN)
    started = time.perf_counter()
    assert call(app, "GET", "/api/workspaces", None, token)[0] == 503  # waited for a connection, then failed
    assert time.perf_counter() - started >= 0.05
    assert set(call(app, "GET", "/admin/faults", None, FAULT_TOKEN)[1]["faults"]) == {"cache", "dependency", "pool"}
