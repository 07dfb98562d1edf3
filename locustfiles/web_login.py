"""A login page for Locust's web UI (`--web-login`), with credentials from the environment.

Locust's --web-login only shows a form; what it accepts is left to the locustfile. This accepts the
user SWARMGATE_WEB_USER with the password SWARMGATE_WEB_PASSWORD (or the first line of the file
SWARMGATE_WEB_PASSWORD_FILE), compared in constant time. Without a password set, no login succeeds.
Flask's debug mode is switched off (Locust turns it on).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from locust.env import Environment


def web_password() -> str | None:
    path = os.environ.get("SWARMGATE_WEB_PASSWORD_FILE")
    if path:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return lines[0] if lines and lines[0] else None
    return os.environ.get("SWARMGATE_WEB_PASSWORD") or None


def install(environment: Environment) -> None:
    """Called at init: harden the web UI and, with --web-login, check the credentials."""
    web_ui = environment.web_ui
    if web_ui is None:
        return
    web_ui.app.debug = False
    if not web_ui.web_login:
        return
    from flask import Blueprint, redirect, request, session, url_for
    from flask_login import UserMixin, login_user

    class Operator(UserMixin):
        def __init__(self, name: str) -> None:
            self.name = name

        def get_id(self) -> str:
            return self.name

    user, password = os.environ.get("SWARMGATE_WEB_USER", "admin"), web_password()
    base = getattr(environment.parsed_options, "base_path", "") or ""  # newer Locust: --base-path
    web_ui.app.config["SECRET_KEY"] = secrets.token_hex(32)  # sessions end with the process
    web_ui.login_manager.user_loader(lambda name: Operator(name) if name == user else None)
    web_ui.auth_args = {"username_password_callback": f"{base}/login_submit"}
    blueprint = Blueprint("swarmgate_login", "swarmgate_web_login", url_prefix=base or None)

    @blueprint.route("/login_submit", methods=["POST"])
    def login_submit():
        given_user = request.form.get("username", "")
        given_password = request.form.get("password", "")
        if (
            password
            and hmac.compare_digest(given_user.encode(), user.encode())
            and hmac.compare_digest(given_password.encode(), password.encode())
        ):
            login_user(Operator(user))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))

    web_ui.app.register_blueprint(blueprint)
