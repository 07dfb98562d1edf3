"""The demo target's WSGI app called in-process: routes, auth, fault knobs, queueing, the leak."""

import io
import json

import gevent
import pytest

from swarmgate.demo.app import DemoApp
from swarmgate.demo.faults import Faults, parse_route_value
from swarmgate.demo.server import Credentials, open_store


@pytest.fixture
def make_app(tmp_path):
    def make(**knobs) -> DemoApp:
        store = open_store(tmp_path / "demo.sqlite", Credentials("user-pw", "admin-pw"))
        return DemoApp(store, Faults(**knobs))

    return make


def call(app, method, path, body=None, token=None):
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    status = {}
    payload = b"".join(app(environ, lambda s, headers: status.setdefault("s", s)))
    code = int(status["s"].split()[0])
    return code, (json.loads(payload) if payload.startswith(b"{") else payload.decode())


def login(app, user="demo", password="user-pw"):
    code, body = call(app, "POST", "/api/auth/login", {"username": user, "password": password})
    assert code == 200
    return body["access_token"]


def test_journey_creates_rows_and_tokens_are_stored_hashed(make_app):
    app = make_app()
    token = login(app)
    code, ws = call(app, "POST", "/api/workspaces", {"name": "w"}, token)
    assert code == 201
    code, wf = call(app, "POST", f"/api/workspaces/{ws['id']}/workflows", {"name": "f", "steps": [1]}, token)
    assert code == 201
    code, ex = call(app, "POST", f"/api/workflows/{wf['id']}/executions", None, token)
    assert (code, ex["status"]) == (202, "queued")
    assert call(app, "GET", f"/api/executions/{ex['id']}", None, token)[1]["status"] == "queued"
    assert call(app, "GET", "/api/workspaces?limit=5", None, token)[1]["total"] == 1
    dump = "\n".join(app.store.db.iterdump())
    assert token not in dump and "user-pw" not in dump


def test_auth_is_enforced(make_app):
    app = make_app()
    assert call(app, "GET", "/api/workspaces")[0] == 401
    assert call(app, "POST", "/api/auth/login", {"username": "demo", "password": "nope"})[0] == 401
    assert call(app, "GET", "/api/admin/users", None, login(app))[0] == 403
    assert call(app, "GET", "/api/admin/users", None, login(app, "admin", "admin-pw"))[0] == 200
    assert call(app, "GET", "/api/nothing-here")[0] == 404
    assert call(app, "DELETE", "/api/workspaces")[0] == 405


def test_error_and_bad_body_knobs(make_app):
    app = make_app(
        error_ratio=[parse_route_value("GET /api/workspaces=1", kind="e", upper=1)],
        bad_body_ratio=[parse_route_value("GET /api/knowledge/search=1", kind="b", upper=1)],
    )
    token = login(app)
    assert call(app, "GET", "/api/workspaces", None, token) == (500, {"error": "injected fault"})
    assert call(app, "GET", "/api/knowledge/search?q=x", None, token) == (200, {"unexpected": True})
    assert call(app, "POST", "/api/workspaces", {"name": "ok"}, token)[0] == 201  # other routes untouched
    assert 'route="GET /api/workspaces",status="500"' in call(app, "GET", "/metrics")[1]


def test_concurrency_limit_queues_requests(make_app):
    app = make_app(max_concurrency=2, latency_ms=[parse_route_value("GET /api/workspaces=100", kind="l")])
    token = login(app)
    greenlets = [gevent.spawn(call, app, "GET", "/api/workspaces", None, token) for _ in range(6)]
    gevent.sleep(0.05)
    assert (app.in_flight, app.queued) == (2, 4)
    gevent.joinall(greenlets, timeout=5)
    assert all(g.value[0] == 200 for g in greenlets)
    assert (app.in_flight, app.queued) == (0, 0)


def test_memory_grows_only_with_the_leak_knob(make_app):
    steady, leaky = make_app(), make_app(leak_kb_per_request=4)
    for app in (steady, leaky):
        for _ in range(50):
            call(app, "GET", "/health")
    assert sum(map(len, steady.leaked)) == 0
    assert sum(map(len, leaky.leaked)) == 50 * 4 * 1024
