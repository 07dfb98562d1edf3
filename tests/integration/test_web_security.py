"""`swarmgate web`: loopback by default, no other interface without a login, and the login really checks."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess

import psutil
import pytest
import requests

from tests.helpers import SWARMGATE, closed_port, stop, wait_for_web_ui

pytestmark = pytest.mark.integration


def test_a_non_loopback_bind_is_refused_without_a_login(tmp_path):
    for extra, env in ((["--web-host", "0.0.0.0"], {}), (["--web-host", "0.0.0.0", "--web-login"], {})):
        done = subprocess.run([*SWARMGATE, "web", *extra, "--results-dir", str(tmp_path)], capture_output=True,
                              text=True, timeout=30, env={**os.environ, **env})  # fmt: skip
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "--web-login" in done.stderr
    assert not (tmp_path / "web").exists()  # refused before anything started


def test_the_web_ui_listens_on_loopback_only_and_its_login_checks_the_password(tmp_path):
    port, password = closed_port(), secrets.token_urlsafe(16)
    env = {**os.environ, "SWARMGATE_WEB_USER": "operator", "SWARMGATE_WEB_PASSWORD": password}
    ui = subprocess.Popen([*SWARMGATE, "web", "--web-port", str(port), "--web-login", "--results-dir", str(tmp_path)],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_web_ui(base, ui)
        listening = {c.laddr.ip for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port
                     and c.status == psutil.CONN_LISTEN}  # fmt: skip
        assert listening == {"127.0.0.1"}, listening

        anonymous = requests.get(base, timeout=5, allow_redirects=False)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].split("?")[0].endswith("/login")
        rebound = requests.get(base, headers={"Host": f"evil.example:{port}"}, timeout=5, allow_redirects=False)
        assert rebound.status_code == 403  # DNS rebinding: another name for our address
        session = requests.Session()
        wrong = session.post(f"{base}/login_submit", data={"username": "operator", "password": "guess"}, timeout=5,
                             allow_redirects=False)  # fmt: skip
        assert wrong.status_code == 302 and wrong.headers["Location"].endswith("/login")
        assert session.get(base, timeout=5, allow_redirects=False).status_code != 200
        right = session.post(f"{base}/login_submit", data={"username": "operator", "password": password},
                             timeout=5, allow_redirects=False)  # fmt: skip
        assert right.status_code == 302 and not right.headers["Location"].endswith("/login")
        page = session.get(base, timeout=5)
        assert page.status_code == 200 and "BaselineUser" in page.text  # the UI, with swarmgate's users
        assert "access-control-allow-origin" not in {h.lower() for h in page.headers}
        assert "samesite=strict" in right.headers.get("Set-Cookie", "").lower()
        form = {"user_count": "1", "spawn_rate": "1", "user_classes": "BaselineUser"}
        csrf = session.post(f"{base}/swarm", data=form, headers={"Origin": "http://evil.example"}, timeout=5)
        assert csrf.status_code == 403  # another site's page, even with the operator's session
        elsewhere = session.post(f"{base}/swarm", data={**form, "host": "http://evil.example"}, timeout=5)
        assert elsewhere.status_code == 403  # the users and their credentials go nowhere but --host
        stats = session.get(f"{base}/stats/requests", timeout=5).json()
        assert stats["state"] in ("ready", "stopped"), stats["state"]  # neither started a run
    finally:
        ui.send_signal(signal.SIGINT)
        try:
            ui.wait(timeout=30)
        finally:
            stop(ui)
    assert ui.returncode == 130
    for path in tmp_path.rglob("*"):  # the web password is nowhere in what the session wrote
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
