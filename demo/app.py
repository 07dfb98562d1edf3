"""The demo target's WSGI application: routing, auth, fault knobs, queueing and metrics."""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import parse_qsl

import gevent
from gevent.lock import BoundedSemaphore

from swarmgate.demo.api import Request, Response, Route, error, router
from swarmgate.demo.faults import Faults
from swarmgate.demo.store import Store

MAX_BODY_BYTES = 1 << 20
UNLIMITED_PATHS = ("/health", "/metrics")  # monitoring stays answerable when the API queues
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


class DemoApp:
    """A WSGI callable; one instance per server process."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self.started = time.time()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.in_flight = 0
        self.queued = 0
        self.limiter = BoundedSemaphore(faults.max_concurrency) if faults.max_concurrency else None
        self.leaked: list[bytes] = []

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics" and method == "GET":
            return self._send(start_response, Response(200, self.metrics_text(), "text/plain; version=0.0.4"))
        route, ids, known = router.match(method, path)
        if route is None:
            response = error(405, "method not allowed") if known else error(404, "no such route")
            return self._send(start_response, response, f"{method} (unmatched)")
        if self.limiter is None or path in UNLIMITED_PATHS:
            response = self._handle(route, ids, environ)
        else:
            self.queued += 1
            with self.limiter:
                self.queued -= 1
                response = self._handle(route, ids, environ)
        if self.faults.leak_kb_per_request:
            self.leaked.append(b"\x01" * int(self.faults.leak_kb_per_request * 1024))
        return self._send(start_response, response, f"{route.method} {route.template}")

    def _handle(self, route: Route, ids: tuple[int, ...], environ: dict) -> Response:
        self.in_flight += 1
        try:
            delay = self.faults.latency_for(route.method, route.template)
            if delay:
                gevent.sleep(delay)
            if self.faults.should_error(route.method, route.template):
                return error(500, "injected fault")
            request, problem = self._request(route, environ)
            if problem is not None:
                return problem
            response = route.handler(self.store, request, *ids)
            if response.status < 300 and self.faults.should_corrupt(route.method, route.template):
                return Response(response.status, {"unexpected": True})
            return response
        finally:
            self.in_flight -= 1

    def _request(self, route: Route, environ: dict) -> tuple[Request, Response | None]:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        request = Request(route.method, environ.get("PATH_INFO", "/"), query, None)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return request, error(413, "request body too large")
        if length:
            try:
                request.body = json.loads(environ["wsgi.input"].read(length))
            except (ValueError, UnicodeDecodeError):
                return request, error(400, "request body is not valid JSON")
        if route.auth != "none":
            header = environ.get("HTTP_AUTHORIZATION", "")
            scheme, _, token = header.partition(" ")
            account = self.store.account_for_token(token.strip()) if scheme.lower() == "bearer" else None
            if account is None:
                return request, error(401, "a valid bearer token is required")
            if route.auth == "admin" and account.role != "admin":
                return request, error(403, "admin role required")
            request.account = account
        return request, None

    def _send(self, start_response, response: Response, route_key: str | None = None) -> list[bytes]:
        if route_key is not None:
            self.requests[(route_key, response.status)] += 1
        if isinstance(response.body, str):
            payload = response.body.encode()
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        reason = STATUS_TEXT.get(response.status, "Unknown")
        start_response(
            f"{response.status} {reason}",
            [("Content-Type", response.content_type), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def metrics_text(self) -> str:
        """Prometheus text format, so the same endpoint works with a scraper."""
        lines = ["# TYPE demo_requests_total counter"]
        for (route_key, status), count in sorted(self.requests.items()):
            lines.append(f'demo_requests_total{{route="{route_key}",status="{status}"}} {count}')
        lines += [
            f"demo_in_flight {self.in_flight}",
            f"demo_queued {self.queued}",
            f"demo_leaked_bytes {sum(len(b) for b in self.leaked)}",
            f"demo_uptime_seconds {time.time() - self.started:.1f}",
        ]
        return "\n".join(lines) + "\n"
