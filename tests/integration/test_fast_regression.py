"""A fast endpoint's regression is found on real runs: a few ms on a ~2 ms route fails the comparison, while
an A/A pair and the side effects on the other routes stay within the rule.

The runs are the ones test_baseline_compare.py judges (a baseline, an A/A run and an A/B run, at the same time),
made once per session."""

from __future__ import annotations

import pytest

from tests.integration.test_baseline_compare import FAST_ROUTE, SLOW_ROUTE, compared_runs, regressions

pytestmark = [pytest.mark.integration, pytest.mark.timed]  # see run_tests.sh


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    return compared_runs(tmp_path_factory.getbasetemp() / "compared_runs")


def checks_of(summary: dict, endpoint: str) -> dict[str, dict]:
    return {c["metric"]: c for c in summary["checks"] if c["kind"] == "regression" and c["endpoint"] == endpoint}


def test_a_few_ms_on_a_fast_route_is_a_regression(compared):
    done, slowed = compared.slowed
    assert done.returncode == 1, done.stderr
    median = checks_of(slowed, FAST_ROUTE)["p50_ms"]
    assert median["baseline"] <= 3 and median["actual"] >= 2 * median["baseline"], median  # a fast route, doubled
    assert median["status"] == "fail", median["message"]
    assert "regressed beyond the minimum effect and beyond noise" in median["message"]


def test_an_a_a_pair_has_no_regression_on_any_route(compared):
    done, same = compared.same
    assert done.returncode == 0, done.stderr
    fast = checks_of(same, FAST_ROUTE)
    assert set(fast) >= {"p50_ms", "p95_ms", "p99_ms"}  # the fast route was compared, and passed
    assert regressions(same) == set()


def test_the_other_routes_of_the_a_b_run_are_not_regressions(compared):
    _, slowed = compared.slowed
    others = {(endpoint, metric) for endpoint, metric in regressions(slowed)
              if endpoint not in (FAST_ROUTE, SLOW_ROUTE, "Aggregated")}  # fmt: skip
    assert others == set()
    judged = {c["endpoint"] for c in slowed["checks"] if c["kind"] == "regression"}
    assert len(judged - {FAST_ROUTE, SLOW_ROUTE, "Aggregated"}) >= 3  # the others were there to be judged
