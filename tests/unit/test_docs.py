"""Documentation is tested: every CLI option and every Locust option we add appears in README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swarmgate.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_cli_option_is_in_the_readme(command):
    assert f"swarmgate {command}" in README
    for param in cli.commands[command].params:
        for flag in param.opts:
            if flag.startswith("--") and flag not in ("--help",):
                assert flag in README, f"{command} {flag} is not documented"


@pytest.mark.parametrize("module", ["locustfiles/recorders.py", "shapes/options.py"])
def test_every_locust_option_we_add_is_in_the_readme(module):
    source = (Path(__file__).resolve().parents[2] / module).read_text()
    flags = re.findall(r'add_argument\(\s*"(--[a-z0-9-]+)"', source)
    assert len(flags) >= 6
    for flag in flags:
        assert flag in README, flag
