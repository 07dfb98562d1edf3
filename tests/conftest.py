"""Loaded before any test module: Locust (gevent) must monkey-patch ssl before anything imports it.

Otherwise the outcome depends on which test modules are collected first (requests imports ssl).
"""

import locust  # noqa: F401


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what the catalog test measured (each test's `rps_per_user` property), passed or not."""
    lines = [value for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
             if report.when == "call" for name, value in report.user_properties if name == "rps_per_user"]  # fmt: skip
    if lines:
        terminalreporter.section("requests per second per user, by steady stage")
        for line in sorted(lines):
            terminalreporter.write_line(line)
