"""The catalog shapes in Locust's web UI: listed by the class picker, parameters set from the form."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import LOCUSTFILE, ROOT, closed_port, stop, swarm_until_stopped, wait_for_web_ui

pytestmark = pytest.mark.integration


def test_a_shape_runs_from_the_web_ui_with_edited_parameters(tmp_path, demo, demo_passwords):
    port = closed_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", f"{LOCUSTFILE},{ROOT / 'shapes' / 'catalog.py'}", "--class-picker",
         "--web-host", "127.0.0.1", "--web-port", str(port), "--results-dir", str(tmp_path)],
        env={**os.environ, **demo_passwords["users"]}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        page = wait_for_web_ui(base, ui)
        for shape in ("Constant", "StepLoad", "Spike", "RampHoldRampDown", "Capacity"):
            assert f'"{shape}"' in page
        assert "shape_steps" in page and "breach_p95_ms" in page  # parameters are editable there
        form = {"user_classes": "BaselineUser", "shape_class": "StepLoad", "host": demo.url, "shape_steps": "2,4",
                "shape_step_s": "4", "shape_spawn_rate": "10", "user_count": "1", "spawn_rate": "1"}  # fmt: skip
        swarm_until_stopped(base, form)
    finally:
        stop(ui)
    stages = json.loads((tmp_path / "stages.json").read_text())["stages"]
    assert [s["target_users"] for s in stages if s["steady"]] == [2, 4]
