"""The demo target's SQLite database: accounts, sessions (hashed tokens), and the API's records."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
    role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS workspaces_by_account ON workspaces(account_id, id);
CREATE TABLE IF NOT EXISTS workflows (
    id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, name TEXT NOT NULL, steps INTEGER NOT NULL,
    created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS workflows_by_workspace ON workflows(workspace_id, id);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY, workflow_id INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS knowledge (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL);
"""

SESSION_SECONDS = 3600.0


def hash_secret(value: str) -> str:
    """Tokens and passwords are stored only as SHA-256 digests."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str


@dataclass(frozen=True)
class Session:
    account: Account
    expires: float


class Store:
    """One connection; the server runs on gevent in one thread, so calls never interleave."""

    def __init__(self, path: Path | str, observe_query: Callable[[float], None] | None = None) -> None:
        """observe_query(seconds) is told how long each query of the API took (the demo's DB query metric);
        before_query() runs before each one and may raise (the run-time faults of chaos.py)."""
        self.observe_query = observe_query or (lambda seconds: None)
        self.before_query: Callable[[], None] = lambda: None
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _query(self, sql: str, params: tuple, fetch: str | None) -> object:
        """Execute (and fetch: "one", "all" or None for the cursor), timed as one database query."""
        self.before_query()
        started = time.perf_counter()
        cursor = self.db.execute(sql, params)
        result = cursor.fetchone() if fetch == "one" else cursor.fetchall() if fetch == "all" else cursor
        self.observe_query(time.perf_counter() - started)
        return result

    # accounts and sessions
    def upsert_account(self, username: str, password: str, role: str) -> None:
        self.db.execute(
            "INSERT INTO accounts(username, password_hash, role) VALUES (?, ?, ?) "
            "ON CONFLICT(username) DO UPDATE SET password_hash=excluded.password_hash, role=excluded.role",
            (username, hash_secret(password), role),
        )

    def login(self, username: str, password: str) -> str | None:
        row = self._query("SELECT id, password_hash FROM accounts WHERE username = ?", (username,), "one")
        if row is None or not secrets.compare_digest(row["password_hash"], hash_secret(password)):
            return None
        token = secrets.token_urlsafe(24)
        self.add_session(token, row["id"])
        return token

    def add_session(self, token: str, account_id: int, seconds: float = SESSION_SECONDS) -> None:
        self._query(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)",
            (hash_secret(token), account_id, time.time() + seconds),
            None,
        )

    def account_id(self, username: str) -> int:
        return self.db.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()["id"]

    def account_for_token(self, token: str) -> Account | None:
        session = self.session_for_token(token)
        return session.account if session else None

    def session_for_token(self, token: str) -> Session | None:
        row = self._query(
            "SELECT a.id, a.username, a.role, s.expires FROM sessions s JOIN accounts a ON a.id = s.account_id "
            "WHERE s.token_hash = ? AND s.expires > ?",
            (hash_secret(token), time.time()),
            "one",
        )
        return Session(Account(row["id"], row["username"], row["role"]), row["expires"]) if row else None

    def prune_sessions(self) -> None:
        self.db.execute("DELETE FROM sessions WHERE expires <= ?", (time.time(),))

    # records
    def audit(self, actor: str, action: str) -> None:
        self._query("INSERT INTO audit_log(at, actor, action) VALUES (?, ?, ?)", (time.time(), actor, action), None)

    def insert(self, sql: str, params: tuple) -> int:
        return int(self._query(sql, params, None).lastrowid)

    def one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        return self._query(sql, params, "one")

    def all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self._query(sql, params, "all")

    def count(self, table: str) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM {table}", (), "one")[0])  # noqa: S608 - fixed names
