"""Where credentials come from: the environment (VAR) or a file it names (VAR_FILE, e.g. a mounted
Kubernetes secret), never the command line or a file we write."""

from __future__ import annotations

import os
from dataclasses import dataclass

# role -> (token variable, username variable, password variable, default username, default password)
ENV = {
    "user": ("SWARMGATE_TOKEN", "SWARMGATE_USERNAME", "SWARMGATE_PASSWORD", "demo", "demo-password"),
    "admin": (
        "SWARMGATE_ADMIN_TOKEN",
        "SWARMGATE_ADMIN_USERNAME",
        "SWARMGATE_ADMIN_PASSWORD",
        "admin",
        "admin-password",
    ),
}
SECRET_VARIABLES = (*(name for token, _, password, *_ in ENV.values() for name in (token, password)),
                    "SWARMGATE_WEB_PASSWORD", "SWARMGATE_METRICS_TOKEN")  # fmt: skip


@dataclass(frozen=True)
class Credentials:
    """Either a ready bearer token, or a username and password to log in with."""

    token: str | None
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a secret, even by accident in a debugger or log line
        return f"Credentials(username={self.username!r}, token={'set' if self.token else 'unset'})"


def from_env(name: str) -> str | None:
    """VAR, else the first line of the file named by VAR_FILE, else None."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n") or None
    return None


def credentials_for(role: str) -> Credentials:
    token_var, user_var, password_var, default_user, default_password = ENV[role]
    return Credentials(
        token=from_env(token_var),
        username=os.environ.get(user_var, default_user),
        password=from_env(password_var) or default_password,
    )
