"""Where credentials come from: the environment only, never the command line or a file we write."""

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
SECRET_VARIABLES = tuple(name for token, _, password, *_ in ENV.values() for name in (token, password))


@dataclass(frozen=True)
class Credentials:
    """Either a ready bearer token, or a username and password to log in with."""

    token: str | None
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a secret, even by accident in a debugger or log line
        return f"Credentials(username={self.username!r}, token={'set' if self.token else 'unset'})"


def credentials_for(role: str) -> Credentials:
    token_var, user_var, password_var, default_user, default_password = ENV[role]
    return Credentials(
        token=os.environ.get(token_var) or None,
        username=os.environ.get(user_var, default_user),
        password=os.environ.get(password_var, default_password),
    )
