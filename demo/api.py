"""The demo API's routes: a small version of the platform the load tests model."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swarmgate.demo.store import Account, Store

EXECUTION_STAGES = (("queued", 0.3), ("running", 1.2))  # status, seconds until the next one


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    account: Account | None = None


@dataclass
class Response:
    status: int
    body: Any
    content_type: str = "application/json"


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as the load-test users name it, e.g. /api/workspaces/[id]
    pattern: re.Pattern[str]
    handler: Callable[..., Response]
    auth: str  # "none", "user" or "admin"


@dataclass
class Router:
    routes: list[Route] = field(default_factory=list)

    def add(self, method: str, template: str, auth: str = "user") -> Callable:
        regex = "^" + re.escape(template).replace(re.escape("[id]"), r"(\d+)") + "$"

        def register(handler: Callable[..., Response]) -> Callable[..., Response]:
            self.routes.append(Route(method, template, re.compile(regex), handler, auth))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route | None, tuple[int, ...], bool]:
        """Return (route, ids, path_known); path_known tells 405 from 404."""
        path_known = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                path_known = True
                if route.method == method:
                    return route, tuple(int(g) for g in found.groups()), True
        return None, (), path_known


router = Router()


def error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def _limit(req: Request, default: int = 20, most: int = 100) -> int:
    try:
        return max(1, min(most, int(req.query.get("limit", default))))
    except ValueError:
        return default


def _text(req: Request, key: str, most: int = 200) -> str | None:
    value = req.body.get(key) if isinstance(req.body, dict) else None
    return value.strip()[:most] if isinstance(value, str) and value.strip() else None


# health and auth
@router.add("GET", "/health", auth="none")
def health(store: Store, req: Request) -> Response:
    return Response(200, {"status": "ok", "time": time.time()})


@router.add("POST", "/api/auth/login", auth="none")
def login(store: Store, req: Request) -> Response:
    username, password = _text(req, "username"), _text(req, "password")
    if not username or not password:
        return error(422, "username and password are required")
    token = store.login(username, password)
    if token is None:
        return error(401, "invalid credentials")
    store.audit(username, "login")
    return Response(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})


# workspaces and workflows
def _workspace(store: Store, req: Request, workspace_id: int):
    assert req.account is not None
    return store.one(
        "SELECT id, name, created_at FROM workspaces WHERE id = ? AND account_id = ?",
        (workspace_id, req.account.id),
    )


@router.add("GET", "/api/workspaces")
def list_workspaces(store: Store, req: Request) -> Response:
    assert req.account is not None
    rows = store.all(
        "SELECT id, name, created_at FROM workspaces WHERE account_id = ? ORDER BY id DESC LIMIT ?",
        (req.account.id, _limit(req)),
    )
    total = store.one("SELECT COUNT(*) AS n FROM workspaces WHERE account_id = ?", (req.account.id,))["n"]
    return Response(200, {"items": [dict(r) for r in rows], "total": total})


@router.add("POST", "/api/workspaces")
def create_workspace(store: Store, req: Request) -> Response:
    assert req.account is not None
    name = _text(req, "name")
    if name is None:
        return error(422, "name is required")
    now = time.time()
    new_id = store.insert(
        "INSERT INTO workspaces(account_id, name, created_at) VALUES (?, ?, ?)", (req.account.id, name, now)
    )
    store.audit(req.account.username, f"create workspace {new_id}")
    return Response(201, {"id": new_id, "name": name, "created_at": now})


@router.add("GET", "/api/workspaces/[id]")
def get_workspace(store: Store, req: Request, workspace_id: int) -> Response:
    row = _workspace(store, req, workspace_id)
    if row is None:
        return error(404, "no such workspace")
    count = store.one("SELECT COUNT(*) AS n FROM workflows WHERE workspace_id = ?", (workspace_id,))["n"]
    return Response(200, {**dict(row), "workflow_count": count})


@router.add("GET", "/api/workspaces/[id]/workflows")
def list_workflows(store: Store, req: Request, workspace_id: int) -> Response:
    if _workspace(store, req, workspace_id) is None:
        return error(404, "no such workspace")
    rows = store.all(
        "SELECT id, name, steps, created_at FROM workflows WHERE workspace_id = ? ORDER BY id DESC LIMIT ?",
        (workspace_id, _limit(req)),
    )
    return Response(200, {"items": [dict(r) for r in rows], "total": len(rows)})


@router.add("POST", "/api/workspaces/[id]/workflows")
def create_workflow(store: Store, req: Request, workspace_id: int) -> Response:
    assert req.account is not None
    if _workspace(store, req, workspace_id) is None:
        return error(404, "no such workspace")
    name = _text(req, "name")
    steps = req.body.get("steps") if isinstance(req.body, dict) else None
    if name is None or not isinstance(steps, list) or not steps:
        return error(422, "name and a non-empty list of steps are required")
    now = time.time()
    new_id = store.insert(
        "INSERT INTO workflows(workspace_id, name, steps, created_at) VALUES (?, ?, ?, ?)",
        (workspace_id, name, len(steps), now),
    )
    store.audit(req.account.username, f"create workflow {new_id}")
    return Response(201, {"id": new_id, "workspace_id": workspace_id, "name": name, "steps": len(steps)})


# executions
@router.add("POST", "/api/workflows/[id]/executions")
def trigger_execution(store: Store, req: Request, workflow_id: int) -> Response:
    assert req.account is not None
    owned = store.one(
        "SELECT w.id FROM workflows w JOIN workspaces s ON s.id = w.workspace_id WHERE w.id = ? AND s.account_id = ?",
        (workflow_id, req.account.id),
    )
    if owned is None:
        return error(404, "no such workflow")
    new_id = store.insert("INSERT INTO executions(workflow_id, created_at) VALUES (?, ?)", (workflow_id, time.time()))
    return Response(202, {"id": new_id, "workflow_id": workflow_id, "status": "queued"})


EXECUTION_STATUS = "/api/executions/[id]"


def still_running(response: Response) -> Response:
    """An execution's status as a stuck one reports it: running, forever short of done (the stuck knob)."""
    return Response(200, {**response.body, "status": "running", "progress": min(response.body["progress"], 0.99)})


@router.add("GET", EXECUTION_STATUS)
def execution_status(store: Store, req: Request, execution_id: int) -> Response:
    row = store.one("SELECT id, workflow_id, created_at FROM executions WHERE id = ?", (execution_id,))
    if row is None:
        return error(404, "no such execution")
    age = time.time() - row["created_at"]
    status, until = "succeeded", 0.0
    for name, seconds in EXECUTION_STAGES:
        until += seconds
        if age < until:
            status = name
            break
    total = sum(s for _, s in EXECUTION_STAGES)
    return Response(
        200,
        {
            "id": row["id"],
            "workflow_id": row["workflow_id"],
            "status": status,
            "progress": round(min(1.0, age / total), 2),
        },
    )


# knowledge base
@router.add("POST", "/api/knowledge")
def add_knowledge(store: Store, req: Request) -> Response:
    assert req.account is not None
    title, body = _text(req, "title"), _text(req, "text", most=4000)
    if title is None or body is None:
        return error(422, "title and text are required")
    new_id = store.insert(
        "INSERT INTO knowledge(account_id, title, body, created_at) VALUES (?, ?, ?, ?)",
        (req.account.id, title, body, time.time()),
    )
    return Response(201, {"id": new_id, "title": title})


@router.add("GET", "/api/knowledge/search")
def search_knowledge(store: Store, req: Request) -> Response:
    query = req.query.get("q", "").strip()[:100]
    if not query:
        return error(422, "query parameter q is required")
    # Search the newest 500 items only, so the cost stays flat while the table grows.
    rows = store.all(
        "SELECT id, title FROM (SELECT id, title, body FROM knowledge ORDER BY id DESC LIMIT 500) "
        "WHERE title LIKE ? OR body LIKE ? LIMIT ?",
        (f"%{query}%", f"%{query}%", _limit(req, 10, 50)),
    )
    return Response(200, {"query": query, "results": [{**dict(r), "score": 1.0} for r in rows]})


# the deliberately heavy endpoint
@router.add("GET", "/api/reports/usage")
def usage_report(store: Store, req: Request) -> Response:
    try:
        rows = max(1, min(20000, int(req.query.get("rows", 2000))))
    except ValueError:
        return error(422, "rows must be an integer")
    rng = random.Random(rows)
    report = []
    for i in range(rows):
        samples = [rng.random() for _ in range(20)]
        mean = sum(samples) / len(samples)
        spread = math.sqrt(sum((s - mean) ** 2 for s in samples) / len(samples))
        report.append({"day": i, "requests": int(mean * 10000), "mean": round(mean, 4), "stdev": round(spread, 4)})
    report.sort(key=lambda r: r["requests"], reverse=True)
    return Response(200, {"row_count": rows, "rows": report})


# admin
@router.add("GET", "/api/admin/system", auth="admin")
def admin_system(store: Store, req: Request) -> Response:
    return Response(
        200,
        {
            "workspaces": store.count("workspaces"),
            "executions": store.count("executions"),
            "knowledge_items": store.count("knowledge"),
            "time": time.time(),
        },
    )


@router.add("GET", "/api/admin/audit-log", auth="admin")
def admin_audit_log(store: Store, req: Request) -> Response:
    rows = store.all("SELECT id, at, actor, action FROM audit_log ORDER BY id DESC LIMIT ?", (_limit(req),))
    return Response(200, {"items": [dict(r) for r in rows]})


@router.add("GET", "/api/admin/users", auth="admin")
def admin_users(store: Store, req: Request) -> Response:
    rows = store.all("SELECT id, username, role FROM accounts ORDER BY id")
    return Response(200, {"items": [dict(r) for r in rows]})


@router.add("GET", "/api/admin/costs", auth="admin")
def admin_costs(store: Store, req: Request) -> Response:
    executions = store.count("executions")
    by_service = [
        {"service": "compute", "usd": round(executions * 0.0021, 2)},
        {"service": "storage", "usd": round(store.count("knowledge") * 0.0004, 2)},
        {"service": "network", "usd": round(store.count("audit_log") * 0.0001, 2)},
    ]
    return Response(
        200,
        {"period": "month-to-date", "by_service": by_service, "total_usd": round(sum(s["usd"] for s in by_service), 2)},
    )
