"""Start the demo target: gevent's WSGI server on 127.0.0.1 with the SQLite store."""

from __future__ import annotations

import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import gevent
from gevent.pool import Pool
from gevent.pywsgi import WSGIServer

from swarmgate.demo.app import DemoApp
from swarmgate.demo.faults import Faults
from swarmgate.demo.store import Store

USER, ADMIN = "demo", "admin"
DEFAULT_PASSWORDS = {USER: "demo-password", ADMIN: "admin-password"}


class DemoServer(WSGIServer):
    """pywsgi with TCP_NODELAY: without it a response's header and body writes meet the client's
    delayed ACK and some keep-alive requests take an extra ~40 ms that is not the API's."""

    def handle(self, sock, address) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


@dataclass(frozen=True)
class Credentials:
    """Demo accounts; passwords and static tokens come from the environment, never the command line."""

    user_password: str
    admin_password: str
    user_token: str | None = None
    admin_token: str | None = None

    @classmethod
    def from_env(cls, env: os._Environ | dict = os.environ) -> Credentials:
        return cls(
            env.get("SWARMGATE_DEMO_USER_PASSWORD", DEFAULT_PASSWORDS[USER]),
            env.get("SWARMGATE_DEMO_ADMIN_PASSWORD", DEFAULT_PASSWORDS[ADMIN]),
            env.get("SWARMGATE_DEMO_USER_TOKEN") or None,
            env.get("SWARMGATE_DEMO_ADMIN_TOKEN") or None,
        )


def open_store(db_path: Path, credentials: Credentials) -> Store:
    store = Store(db_path)
    store.upsert_account(USER, credentials.user_password, "user")
    store.upsert_account(ADMIN, credentials.admin_password, "admin")
    store.prune_sessions()
    for username, token in ((USER, credentials.user_token), (ADMIN, credentials.admin_token)):
        if token:
            store.add_session(token, store.account_id(username), seconds=7 * 86400)
    return store


def serve(
    port: int,
    db_path: Path,
    faults: Faults,
    *,
    bind: str = "127.0.0.1",
    port_file: Path | None = None,
    credentials: Credentials | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT; with port 0 the OS picks a free port, written to port_file."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(db_path, credentials or Credentials.from_env())
    app = DemoApp(store, faults)
    server = DemoServer((bind, port), app, log=None, spawn=Pool(10_000), backlog=2048)
    server.start()
    actual = server.server_port
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{actual}\n")
        tmp.replace(port_file)
    print(f"demo target listening on http://{bind}:{actual} (database {db_path})", file=sys.stderr, flush=True)

    gevent.signal_handler(signal.SIGTERM, server.stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
    finally:
        store.close()
