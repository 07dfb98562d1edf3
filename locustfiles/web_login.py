"""Locust's web UI made safe to leave running: a real login, and no driving it from other sites.

- `--web-login`: Locust only shows a form and leaves what it accepts to the locustfile. This accepts
  SWARMGATE_WEB_USER (default admin) with SWARMGATE_WEB_PASSWORD (or the first line of
  SWARMGATE_WEB_PASSWORD_FILE), compared in constant time; without a password no login succeeds.
- Locust answers every origin (open CORS) and any Host header: a page in the operator's browser
  could start a run, or point the users (and their credentials) at another host. Requests whose
  Host is not the address the UI listens on (DNS rebinding) and state-changing requests from another
  Origin are refused (403), CORS headers are dropped, the session cookie is SameSite=Strict, and a
  run can only target the host the UI was started with.
- Flask's debug mode is switched off.
"""

from __future__ import annotations

import hmac
import os
import secrets

from locust.env import Environment

from swarmgate.core.net import EVERY_INTERFACE
from swarmgate.locustfiles.auth import from_env


def web_password() -> str | None:
    """SWARMGATE_WEB_PASSWORD, else the first line of SWARMGATE_WEB_PASSWORD_FILE (as for every secret)."""
    return from_env("SWARMGATE_WEB_PASSWORD")


def allowed_hosts(web_host: str) -> set[str]:
    """The names a browser may use for the UI's address (loopback is also reached as localhost)."""
    names = {web_host}
    if web_host in ("127.0.0.1", "localhost", "::1"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    if web_host in EVERY_INTERFACE:
        names = {"*"}  # every interface: the Host check cannot know the names; the login protects it
    return names


def install(environment: Environment) -> None:
    """Called at init: harden the web UI and, with --web-login, check the credentials."""
    web_ui = environment.web_ui
    if web_ui is None:
        return
    from flask import abort, request

    app = web_ui.app
    app.debug = False
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    options = environment.parsed_options
    names = allowed_hosts(options.web_host)
    listening = {f"{host}:{options.web_port}" for host in names}
    any_host = "*" in names

    @app.before_request
    def same_site_only():
        if not any_host and request.host not in listening:
            abort(403)  # a name that resolves here but is not ours: DNS rebinding
        origin = request.headers.get("Origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin and origin.split("//", 1)[-1] != request.host:
            abort(403)  # another site's page posting to us
        locked = environment.host  # started with --host (swarmgate web always is): runs go there only
        if locked and request.endpoint == "locust.swarm" and (request.form.get("host") or locked) != locked:
            abort(403)  # the users (and their credentials) go only to the host the UI was started for

    def no_cors(response):
        for header in [h for h in response.headers.keys() if h.lower().startswith("access-control-")]:
            del response.headers[header]
        return response

    # after_request hooks run last-registered first: put this one first so it runs after Locust's CORS hook
    app.after_request_funcs.setdefault(None, []).insert(0, no_cors)
    if web_ui.web_login:
        install_login(environment)


def install_login(environment: Environment) -> None:
    """--web-login: Locust's login form, checked against SWARMGATE_WEB_USER / SWARMGATE_WEB_PASSWORD."""
    from flask import Blueprint, redirect, request, session, url_for
    from flask_login import UserMixin, login_user

    web_ui = environment.web_ui

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
